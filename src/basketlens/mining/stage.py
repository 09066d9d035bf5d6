"""The mine stage: cleaned lines (+ segment assignments) → rules, item support, itemsets.

:func:`run_mining` is what the pipeline calls after segmentation. It builds one basket
matrix (one vocabulary for every scope), puts each basket in the segment of its customer,
counts item support per scope, mines rules per scope (:func:`mine_scopes`, threshold help
when no support is given), optionally the frequent itemsets of each scope, and attaches item
names from the item table — the single source of names.

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
    >>> result.rules.table.select("scope", "antecedent_names", "consequent_names").rows()
    [('all', ['Apple'], ['Bread']), ('all', ['Bread'], ['Apple'])]
    >>> result.info["n_rules"]
    2
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from basketlens.errors import ParameterError, SchemaError
from basketlens.items import item_names
from basketlens.mining.encode import BasketMatrix, to_basket_matrix
from basketlens.mining.itemsets import mine_itemsets
from basketlens.mining.options import MiningOptions
from basketlens.mining.scopes import ALL_SCOPE, ScopedRules, item_support, mine_scopes

logger = logging.getLogger(__name__)

__all__ = ["MiningResult", "basket_scopes", "run_mining", "scope_itemsets"]

#: Columns of an itemsets table of several scopes (``itemsets.parquet``).
ITEMSETS_SCHEMA: pl.Schema = pl.Schema(
    {
        "scope": pl.String,
        "itemset": pl.List(pl.String),
        "count": pl.Int64,
        "support": pl.Float64,
        "length": pl.Int32,
    }
)


@dataclass(frozen=True)
class MiningResult:
    """What the mine stage produced.

    ``rules``: rules of every scope, with item names; ``item_support``:
    ``ITEM_SUPPORT_SCHEMA`` rows per scope; ``itemsets``: frequent itemsets per scope
    (``ITEMSETS_SCHEMA``) when ``options.itemsets``, else None; ``info``: the "mining"
    section of ``run.json`` — ``{"enabled": True, "rules": <parameters and per-scope
    records>, "n_rules": <rules in all scopes>}``.

    Example:
        >>> lines = pl.DataFrame({"basket": [str(b // 2) for b in range(24)],
        ...                       "item": ["a", "b"] * 12, "unit": ["u"] * 24})
        >>> items = pl.DataFrame({"item": ["a"], "item_name": ["Apple"]})
        >>> result = run_mining(lines, None, MiningOptions(min_count=5), items)
        >>> result.summary, sorted(result.info)
        ('2 rules in 1 scopes', ['enabled', 'n_rules', 'rules'])
    """

    rules: ScopedRules
    item_support: pl.DataFrame
    itemsets: pl.DataFrame | None
    info: dict[str, Any]

    @property
    def summary(self) -> str:
        """One line for progress output: ``"1,234 rules in 5 scopes"``."""
        scopes = self.rules.table["scope"].n_unique()
        return f"{self.rules.table.height:,} rules in {scopes} scopes"


def _require(table: pl.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    if not isinstance(table, pl.DataFrame):
        raise SchemaError(f"{name} must be a Polars DataFrame; got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SchemaError(
            f"{name} has no column {', '.join(map(repr, missing))}; columns are "
            f"{', '.join(table.columns) or 'none'}"
        )


def basket_scopes(
    lines: pl.DataFrame, matrix: BasketMatrix, assignments: pl.DataFrame
) -> dict[str, np.ndarray]:
    """Segment id (as text) → rows of ``matrix`` whose basket belongs to that segment.

    ``matrix`` must be encoded from ``lines`` (its ``basket_ids`` name the rows); a basket's
    segment is the segment of its first unit in ``assignments`` (``customer_id`` → ``segment``).

    Example:
        >>> lines = pl.DataFrame({"basket": ["1", "2"], "item": ["a", "b"], "unit": ["x", "y"]})
        >>> m = to_basket_matrix(lines)
        >>> seg = pl.DataFrame({"customer_id": ["x", "y"], "segment": [1, 0]})
        >>> {k: v.tolist() for k, v in basket_scopes(lines, m, seg).items()}
        {'0': [1], '1': [0]}
    """
    basket_segment = (
        lines.group_by("basket")
        .agg(pl.col("unit").first())
        .join(
            assignments.select(
                pl.col("customer_id").cast(pl.String).alias("unit"), pl.col("segment")
            ).unique("unit", keep="first"),
            on="unit",
        )
    )
    order = pl.DataFrame({"basket": list(matrix.basket_ids or ())}).with_row_index("row")
    joined = order.join(basket_segment, on="basket", how="left").sort("row")
    scopes: dict[str, np.ndarray] = {}
    for segment in sorted(joined["segment"].drop_nulls().unique().to_list()):
        rows = joined.filter(pl.col("segment") == segment)["row"].to_numpy().astype(np.int64)
        scopes[str(segment)] = rows
    return scopes


def scope_itemsets(
    matrix: BasketMatrix, scopes: dict[str, np.ndarray], rules: ScopedRules, options: MiningOptions
) -> pl.DataFrame:
    """The frequent itemsets of every mined scope, at the min_count its rules were mined with.

    A scope too small to mine has no itemsets either.

    Example:
        >>> m = to_basket_matrix([["a", "b"]] * 12)
        >>> options = MiningOptions(min_count=12)
        >>> scope_itemsets(m, {}, mine_scopes(m, {}, options), options).rows()
        [('all', ['a'], 12, 1.0, 1), ('all', ['b'], 12, 1.0, 1), ('all', ['a', 'b'], 12, 1.0, 2)]
    """
    tables = []
    for scope, scope_info in rules.info["scopes"].items():
        min_count = (scope_info.get("rules") or {}).get("min_count")
        if min_count is None:
            continue
        baskets = matrix if scope == ALL_SCOPE else matrix.subset(scopes[scope])
        found = mine_itemsets(
            baskets,
            min_count=min_count,
            max_len=options.max_len,
            max_itemsets=options.max_itemsets,
            max_memory=options.max_memory,
        )
        tables.append(found.table.select(pl.lit(scope).alias("scope"), pl.all()))
    if not tables:
        return pl.DataFrame(schema=ITEMSETS_SCHEMA)
    return pl.concat(tables, how="vertical").cast(dict(ITEMSETS_SCHEMA))


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
    the item table (``item``, ``item_name``), the only source of item names (an item it does
    not name is shown by its id). ``options`` are validated first; ``options.enabled=False``
    is refused (the caller skips the stage). Scopes are mined in ``n_jobs`` threads
    (-1 = all cores); ``progress(done, total)`` is told as each scope is mined.
    """
    options.validate()
    if not options.enabled:
        raise ParameterError("mining is disabled (enabled=False); skip the mine stage instead")
    _require(lines, "lines", ("basket", "item", "unit"))
    _require(items, "items", ("item", "item_name"))
    per_segment = options.per_segment and assignments is not None
    if per_segment:
        _require(assignments, "assignments", ("customer_id", "segment"))

    matrix = to_basket_matrix(lines.select("basket", "item"))
    scopes = basket_scopes(lines, matrix, assignments) if per_segment else {}
    names = item_names(items, ids=matrix.items)
    support = item_support(matrix, scopes, item_names=names)
    rules = mine_scopes(matrix, scopes, options, n_jobs=n_jobs, progress=progress)
    rules = rules.with_item_names(items)
    itemsets = scope_itemsets(matrix, scopes, rules, options) if options.itemsets else None
    info = {"enabled": True, "rules": rules.info, "n_rules": rules.table.height}
    logger.info("mine stage: %d rules, %d scopes", rules.table.height, len(scopes) + 1)
    return MiningResult(rules=rules, item_support=support, itemsets=itemsets, info=info)
