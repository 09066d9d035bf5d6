"""The mine stage: cleaned lines (+ segment assignments) → rules, item support, itemsets.

:func:`run_mining` is what the pipeline calls after segmentation. It builds one basket
matrix (one vocabulary for every scope), puts each basket in the segment of its customer,
counts item support per scope, groups the items into families
(:func:`~basketlens.mining.families.build_families`), mines rules per scope
(:func:`mine_scopes`, threshold help when no support is given) and, with
``options.generalised``, the rules between families and between categories
(:mod:`basketlens.mining.levels`); optionally the frequent itemsets of each scope. Every rule
gets its ``level`` ("item", "family", "category"), its ``kind`` ("cross_sell" or "variant"),
the id of its mirror (B → A for A → B) and of the rule one level up; item names come from the
item table — the single source of names.

A basket belongs to the segment of its unit (the first unit on the basket when a basket key
spans several, which only happens with a custom basket definition); baskets of units without
a segment are in scope "all" only.

Example:
    >>> import polars as pl
    >>> lines = pl.DataFrame({"basket": ["1", "1", "2", "2", "3"],
    ...                       "item": ["a", "b", "a", "b", "a"],
    ...                       "unit": ["c1", "c1", "c2", "c2", "c2"]})
    >>> items = pl.DataFrame({"item": ["a", "b"], "item_name": ["Apple", "Bread"]})
    >>> options = MiningOptions(min_count=2, min_scope_baskets=1)
    >>> result = run_mining(lines, None, options, items)
    >>> result.rules.table.select("scope", "kind", "antecedent_names", "consequent_names").rows()
    [('all', 'cross_sell', ['Apple'], ['Bread']), ('all', 'cross_sell', ['Bread'], ['Apple'])]
    >>> result.info["n_rules"]
    2
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from basketlens.errors import ParameterError, SchemaError
from basketlens.items import item_names
from basketlens.mining.families import KINDS, ItemFamilies, build_families, rule_kinds
from basketlens.mining.levels import level_groups, level_table, mirror_ids, parent_ids
from basketlens.mining.options import MiningOptions
from basketlens.mining.scopes import ScopedRules, support_table
from basketlens.mining.source import (
    ITEMSETS_SCHEMA,
    BasketSource,
    MatrixSource,
    basket_scopes,
    basket_units,
    scope_itemsets,
)

logger = logging.getLogger(__name__)

__all__ = [
    "ITEMSETS_SCHEMA",
    "RULE_EXTRA_COLUMNS",
    "MiningResult",
    "basket_scopes",
    "basket_units",
    "mine_baskets",
    "run_mining",
    "scope_itemsets",
]

#: Columns ``run_mining`` adds to every rule, after the measures (``RULES_BASE_SCHEMA`` keeps
#: leading): level, kind, the mirror and the parent rule.
RULE_EXTRA_COLUMNS: tuple[str, ...] = ("level", "kind", "mirror_rule_id", "parent_rule_id")


@dataclass(frozen=True)
class MiningResult:
    """What the mine stage produced.

    ``rules``: rules of every scope and level, with item names, level, kind, mirror and
    parent ids (``rules.rules`` holds the item-level :class:`Rules` of each scope);
    ``item_support``: ``ITEM_SUPPORT_SCHEMA`` rows per scope; ``itemsets``: frequent
    itemsets per scope (``ITEMSETS_SCHEMA``) when ``options.itemsets``, else None;
    ``families``: the item families; ``info``: the "mining" section of ``run.json`` —
    ``enabled``, ``rules`` (parameters and per-scope records of the item level), ``levels``
    (the same for each level above), ``families``, ``pruning`` (rules each step removed, per
    level), ``kinds`` (rules of each kind, per level) and ``n_rules``.

    Example:
        >>> lines = pl.DataFrame({"basket": [str(b // 2) for b in range(24)],
        ...                       "item": ["a", "b"] * 12, "unit": ["u"] * 24})
        >>> items = pl.DataFrame({"item": ["a"], "item_name": ["Apple"]})
        >>> result = run_mining(lines, None, MiningOptions(min_count=5), items)
        >>> result.summary
        '2 rules in 1 scopes (2 cross-sell, 0 variant)'
        >>> sorted(result.info)
        ['enabled', 'families', 'kinds', 'levels', 'n_rules', 'pruning', 'rules']
    """

    rules: ScopedRules
    item_support: pl.DataFrame
    itemsets: pl.DataFrame | None
    info: dict[str, Any]
    families: ItemFamilies | None = None

    @property
    def summary(self) -> str:
        """One line for progress output: rules, scopes, kinds and what pruning removed, e.g.
        ``"1,234 rules in 5 scopes (900 cross-sell, 334 variant); of 20,000 candidates
        15,000 not significant, 3,766 redundant"``."""
        table = self.rules.table
        scopes = table["scope"].n_unique()
        kinds = self.info.get("kinds", {}).get("all_levels", {})
        text = f"{table.height:,} rules in {scopes} scopes"
        if kinds:
            text += (
                f" ({kinds.get('cross_sell', 0):,} cross-sell, {kinds.get('variant', 0):,} variant)"
            )
        pruning = self.info.get("pruning", {}).get("all_levels", {})
        removed = [
            f"{pruning[k]:,} {label}"
            for k, label in (
                ("redundant", "redundant"),
                ("not_significant", "not significant"),
                ("few_customers", "seen at too few customers"),
                ("beyond_top", "beyond --top-rules"),
                ("repeats_item_rules", "repeating an item rule"),
            )
            if pruning.get(k)
        ]
        if removed:
            text += f"; of {pruning['candidates']:,} candidates " + ", ".join(removed)
        return text


def _require(table: pl.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    if not isinstance(table, pl.DataFrame):
        raise SchemaError(f"{name} must be a Polars DataFrame; got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SchemaError(
            f"{name} has no column {', '.join(map(repr, missing))}; columns are "
            f"{', '.join(table.columns) or 'none'}"
        )


def _account(record: dict[str, Any]) -> dict[str, int]:
    """Sum the per-scope pruning records of a scoped mining record."""
    total = dict.fromkeys(
        (
            "candidates",
            "redundant",
            "not_significant",
            "few_customers",
            "beyond_top",
            "repeats_item_rules",
            "kept",
        ),
        0,
    )
    timings: dict[str, dict[str, float]] = {"seconds": {}, "cpu_seconds": {}}
    for scope in record.get("scopes", {}).values():
        for key, value in ((scope.get("rules") or {}).get("pruning") or {}).items():
            if key in timings:
                for name, s in value.items():
                    timings[key][name] = round(timings[key].get(name, 0.0) + s, 6)
            else:
                total[key] = total.get(key, 0) + int(value)
    # family rules whose every family holds one item repeat an item rule (levels.mine_level)
    total["repeats_item_rules"] = int(record.get("repeats_item_rules", 0))
    total["kept"] -= total["repeats_item_rules"]
    return {**total, **timings}


def _kind_counts(table: pl.DataFrame) -> dict[str, int]:
    """Rules of each kind (every kind listed, 0 when absent)."""
    return {kind: int((table["kind"] == kind).sum()) for kind in KINDS}


def _finish(table: pl.DataFrame, families: ItemFamilies, groups: dict[str, Any]) -> pl.DataFrame:
    """Add kind, mirror and parent ids; order the columns."""
    kinds = pl.concat(
        [
            rule_kinds(part, families, level=level)
            for level in ("item", "family", "category")
            if (part := table.filter(pl.col("level") == level)).height
        ]
        or [pl.Series("kind", [], dtype=pl.String)]
    )
    order = {"item": 0, "family": 1, "category": 2}
    table = table.sort(pl.col("level").replace_strict(order), maintain_order=True)
    table = table.with_columns(kind=kinds)
    table = table.with_columns(
        mirror_ids(table),
        parent_ids(table, {level: of for level, (of, _) in groups.items()}),
    )
    tail = list(RULE_EXTRA_COLUMNS)
    return table.select(pl.all().exclude(*tail), *tail)


def run_mining(
    lines: pl.DataFrame,
    assignments: pl.DataFrame | None,
    options: MiningOptions,
    items: pl.DataFrame,
    *,
    n_jobs: int | None = -1,
    progress: Callable[[int, int], None] | None = None,
) -> MiningResult:
    """Mine the cleaned ``lines`` overall and, with ``options.per_segment``, per segment.

    ``lines``: at least ``basket``, ``item``, ``unit`` (text); ``assignments``:
    ``customer_id`` (text) → ``segment`` (Int32), or None for scope "all" only; ``items``:
    the item table (``item``, ``item_name``; ``brand`` and ``category`` when known), the only
    source of item names (an item it does not name is shown by its id) and of the families.
    ``options`` are validated first; ``options.enabled=False`` is refused (the caller skips
    the stage). Scopes are mined in ``n_jobs`` threads (-1 = all cores); ``progress(done,
    total)`` is told as each scope is mined. The baskets are built in memory
    (:class:`~basketlens.mining.source.MatrixSource`), then :func:`mine_baskets`.
    """
    options.validate()
    if not options.enabled:
        raise ParameterError("mining is disabled (enabled=False); skip the mine stage instead")
    _require(lines, "lines", ("basket", "item", "unit"))
    _require(items, "items", ("item", "item_name"))
    per_segment = options.per_segment and assignments is not None
    if per_segment:
        _require(assignments, "assignments", ("customer_id", "segment"))
    source = MatrixSource.from_lines(lines, assignments if per_segment else None)
    return mine_baskets(source, options, items, n_jobs=n_jobs, progress=progress)


def mine_baskets(
    source: BasketSource,
    options: MiningOptions,
    items: pl.DataFrame,
    *,
    n_jobs: int | None = -1,
    progress: Callable[[int, int], None] | None = None,
) -> MiningResult:
    """The mine stage on baskets held by any engine (see the module docstring).

    Item support from each scope's counts, the item families (with the purchase evidence of
    ``source.counts()``), each level's rules from ``source.mine_levels``, then names, kinds,
    mirror and parent rules and the pruning accounting — the same code whatever holds the
    baskets. ``options`` must be validated and enabled; ``items`` as for :func:`run_mining`.
    """
    _require(items, "items", ("item", "item_name"))
    vocabulary = source.vocabulary
    names = item_names(items, ids=vocabulary)
    support = support_table(source.scope_item_counts(), vocabulary, item_names=names)
    families = build_families(items, source.counts())
    groups = level_groups(families, items) if options.generalised else {}
    levels = {"item": None, **{level: of for level, (of, _) in groups.items()}}
    mined = source.mine_levels(options, levels, n_jobs=n_jobs, progress=progress)
    rules = mined["item"].with_item_names(items)
    itemsets = source.itemsets(rules, options) if options.itemsets else None
    tables = [rules.table.with_columns(level=pl.lit("item"))]
    records: dict[str, Any] = {}
    for level, level_group in groups.items():
        table, record = level_table(mined[level], level, level_group)
        tables.append(table)
        records[level] = record
    table = _finish(pl.concat(tables, how="vertical"), families, groups)
    pruning = {"item": _account(rules.info), **{lvl: _account(r) for lvl, r in records.items()}}
    per_level = list(pruning.values())
    counts = [key for key in pruning["item"] if key not in ("seconds", "cpu_seconds")]
    pruning["all_levels"] = {key: sum(p[key] for p in per_level) for key in counts}
    for timing in ("seconds", "cpu_seconds"):
        pruning["all_levels"][timing] = {
            name: round(sum(p[timing].get(name, 0.0) for p in per_level), 6)
            for name in ("redundant", "significance", "customers", "top")
            if any(name in p[timing] for p in per_level)
        }
    kinds = {level: _kind_counts(table.filter(pl.col("level") == level)) for level in groups}
    kinds = {"item": _kind_counts(table.filter(pl.col("level") == "item")), **kinds}
    kinds["all_levels"] = _kind_counts(table)
    info = {
        "enabled": True,
        "rules": rules.info,
        "levels": records,
        "families": families.info,
        "pruning": pruning,
        "kinds": kinds,
        "n_rules": table.height,
    }
    combined = ScopedRules(table, rules.rules, {**rules.info, "n_rules": table.height})
    logger.info("mine stage: %d rules, %d scopes", table.height, len(rules.rules))
    return MiningResult(
        rules=combined, item_support=support, itemsets=itemsets, info=info, families=families
    )
