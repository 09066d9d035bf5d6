"""Association rules from frequent itemsets: :func:`generate_rules` and :class:`Rules`.

Every frequent itemset Z (of ``min_len``..``max_len`` items) is split into an antecedent X
and a consequent Y = Z \\ X with 1..``consequent_max_len`` items (one by default, the arules
convention; ``None`` allows every non-empty proper split). ``min_len=1`` also admits the empty
antecedent {} → Y, whose confidence is support(Y). The splits are built as coded numpy arrays
(:mod:`basketlens.mining.splits`), the antecedent and consequent counts come from one
:meth:`Itemsets.lookup_counts` call per itemset length and split size, and thresholds are
compared exactly on integer counts: ``min_confidence=0.5`` keeps a rule iff ``2 · n_ab >= n_a``,
so rules exactly at the threshold are kept. This module sorts the coded rules in numpy and
builds the table once.

Example:
    >>> from basketlens.mining import mine_itemsets
    >>> its = mine_itemsets([["a", "b"], ["a", "b"], ["a"], ["b"]], min_count=1)
    >>> r = generate_rules(its, min_confidence=2 / 3, measures=["confidence"])
    >>> r.table.select("antecedent", "consequent", "both_count").rows()
    [(['a'], ['b'], 2), (['b'], ['a'], 2)]
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import polars as pl

from basketlens._validation import check_interval, check_option
from basketlens.errors import ParameterError
from basketlens.items import add_item_names, item_names
from basketlens.mining._columns import _float_key, _lists, _radix_keys, _rank_rows, _rule_ids
from basketlens.mining.measures import MEASURES, compute_measures, resolve_measures
from basketlens.mining.options import SIGNIFICANCE_TESTS, MiningOptions
from basketlens.mining.pruning import (
    ADJUSTMENTS,
    productive_pvalues,
    redundant_mask,
    significant_mask,
)
from basketlens.mining.splits import (  # candidate generation; names importable from here too
    ItemsetsLike,
    Splits,
    as_fraction,
    find_splits,
    ratio_at_least,
)

logger = logging.getLogger(__name__)

__all__ = [
    "COUNT_COLUMNS",
    "Rules",
    "count_rules",
    "empty_rules_table",
    "generate_rules",
    "rule_filters",
    "rule_splits",
]

#: The count columns every rules table carries, in order, after the item lists.
COUNT_COLUMNS: tuple[str, ...] = ("antecedent_count", "consequent_count", "both_count", "baskets")


def _build_table(
    itemsets: ItemsetsLike,
    splits: Splits,
    names: Sequence[str],
    sort_by: str | None,
    max_rules: int | None,
) -> pl.DataFrame:
    """Sort the coded rules in numpy (sort_by desc, nulls last; both_count desc; antecedent;
    consequent, by item id), keep ``max_rules``, then build the table once."""
    vocab = np.asarray(itemsets.vocabulary, dtype=str)
    by_name = np.argsort(vocab, kind="stable")
    rank = np.empty(len(vocab), dtype=np.int32)
    rank[by_name] = np.arange(len(vocab))
    ante = _rank_rows([p.x for p in splits.parts], rank)
    cons = _rank_rows([p.y for p in splits.parts], rank)
    n_ab, n_a, n_b = splits.counts()
    n = itemsets.n_baskets
    fields: list[tuple[np.ndarray, int]] = []
    if sort_by is not None:
        if sort_by in COUNT_COLUMNS:
            col = {"antecedent_count": n_a, "consequent_count": n_b, "both_count": n_ab}
            primary = -col.get(sort_by, np.zeros_like(n_ab)).astype(np.float64)
        else:
            primary = -compute_measures([sort_by], n_ab, n_a, n_b, n)[sort_by]
        fields.append((_float_key(np.where(np.isnan(primary), np.inf, primary)), 64))
    top = int(n_ab.max())
    fields.append((top - n_ab, max(1, top.bit_length())))
    bits = max(1, len(vocab).bit_length())  # ranks + 1: padding 0 sorts first
    for m in (ante, cons):
        fields += [((m[:, j] + 1).view(np.uint32), bits) for j in range(m.shape[1])]
    order = np.lexsort(_radix_keys(fields, len(n_ab)))
    if max_rules is not None:
        order = order[:max_rules]
    ante, cons, n_ab, n_a, n_b = ante[order], cons[order], n_ab[order], n_a[order], n_b[order]
    sorted_names = pl.Series(vocab[by_name].tolist(), dtype=pl.String)
    columns = [
        _rule_ids(len(order)),
        _lists(sorted_names, ante, "antecedent"),
        _lists(sorted_names, cons, "consequent"),
        pl.Series("antecedent_count", n_a, dtype=pl.Int64),
        pl.Series("consequent_count", n_b, dtype=pl.Int64),
        pl.Series("both_count", n_ab, dtype=pl.Int64),
        pl.Series("baskets", np.full(len(order), n), dtype=pl.Int64),
    ]
    values = compute_measures(list(names), n_ab, n_a, n_b, n)
    columns += [pl.Series(k, v, dtype=pl.Float64, nan_to_null=True) for k, v in values.items()]
    return pl.DataFrame(columns)


def _measure_columns(table: pl.DataFrame, names: Iterable[str]) -> list[pl.Series]:
    vals = compute_measures(
        list(names),
        table["both_count"].to_numpy(),
        table["antecedent_count"].to_numpy(),
        table["consequent_count"].to_numpy(),
        table["baskets"].to_numpy(),
    )
    return [pl.Series(k, v, dtype=pl.Float64, nan_to_null=True) for k, v in vals.items()]


def _sorted(table: pl.DataFrame, by: str | None) -> pl.DataFrame:
    """Sort by ``by`` descending (nulls last), ties by both_count desc, antecedent, consequent."""
    keys: list[Any] = ["both_count", "antecedent", "consequent"]
    desc = [True, False, False]
    if by is not None:
        key = pl.col(by) if by in table.columns else _measure_columns(table, [by])[0]
        keys.insert(0, key)
        desc.insert(0, True)
    return table.sort(keys, descending=desc, nulls_last=True, maintain_order=True)


def _check_sort_by(sort_by: str | None, measures: Sequence[str]) -> None:
    if sort_by is None or sort_by in COUNT_COLUMNS or sort_by in measures:
        return
    resolve_measures([sort_by])


def empty_rules_table(measures: Sequence[str]) -> pl.DataFrame:
    schema: dict[str, Any] = {
        "rule_id": pl.String,
        "antecedent": pl.List(pl.String),
        "consequent": pl.List(pl.String),
    }
    schema.update(dict.fromkeys(COUNT_COLUMNS, pl.Int64))
    schema.update(dict.fromkeys(measures, pl.Float64))
    return pl.DataFrame(schema=schema)


def rule_filters(options: MiningOptions) -> dict[str, Any]:
    """The rule filters of ``options`` as keywords of :func:`generate_rules` /
    :func:`count_rules`: the threshold search counts exactly the rules it will keep.

    Example:
        >>> rule_filters(MiningOptions(min_lift=1.0))["min_lift"]
        1.0
    """
    return {
        "min_confidence": options.min_confidence,
        "min_lift": options.min_lift,
        "min_len": options.min_len,
        "max_len": options.max_len,
        "consequent_max_len": options.consequent_max_len,
    }


def count_rules(
    itemsets: ItemsetsLike,
    *,
    min_confidence: float = MiningOptions.min_confidence,
    min_lift: float | None = MiningOptions.min_lift,
    min_len: int = MiningOptions.min_len,
    max_len: int | None = MiningOptions.max_len,
    consequent_max_len: int | None = MiningOptions.consequent_max_len,
) -> int:
    """Number of rules :func:`generate_rules` would return, without building a table.

    Example:
        >>> from basketlens.mining import mine_itemsets
        >>> count_rules(mine_itemsets([["a", "b"], ["a"]], min_count=1), min_confidence=0.5)
        2
    """
    return len(
        rule_splits(
            itemsets,
            min_confidence=min_confidence,
            min_lift=min_lift,
            min_len=min_len,
            max_len=max_len,
            consequent_max_len=consequent_max_len,
        )
    )


def rule_splits(
    itemsets: ItemsetsLike,
    *,
    min_confidence: float = MiningOptions.min_confidence,
    min_lift: float | None = MiningOptions.min_lift,
    min_len: int = MiningOptions.min_len,
    max_len: int | None = MiningOptions.max_len,
    consequent_max_len: int | None = MiningOptions.consequent_max_len,
) -> Splits:
    """The coded rule candidates :func:`generate_rules` builds its table from (as many as
    :func:`count_rules` counts); ``Splits.at_least(c)`` gives those of a higher count.

    Example:
        >>> from basketlens.mining import mine_itemsets
        >>> s = rule_splits(mine_itemsets([["a", "b"], ["a"]], min_count=1), min_confidence=0.5)
        >>> len(s), len(s.at_least(2))
        (2, 0)
    """
    conf, lift = _validate(min_confidence, min_lift, min_len, max_len, consequent_max_len)
    return find_splits(
        itemsets,
        min_len=min_len,
        max_len=max_len,
        cons_max=consequent_max_len,
        conf=conf,
        lift=lift,
    )


def _validate(
    min_confidence: float,
    min_lift: float | None,
    min_len: int,
    max_len: int | None,
    cons_max: int | None,
) -> tuple[Fraction, Fraction | None]:
    """Check the rule filters with the constraints MiningOptions declares; exact thresholds."""
    MiningOptions(
        min_confidence=min_confidence,
        min_lift=min_lift,
        min_len=min_len,
        max_len=max_len,
        consequent_max_len=cons_max,
    ).validate()
    return as_fraction(min_confidence), None if min_lift is None else as_fraction(min_lift)


def generate_rules(
    itemsets: ItemsetsLike,
    *,
    min_confidence: float = MiningOptions.min_confidence,
    min_lift: float | None = MiningOptions.min_lift,
    min_len: int = MiningOptions.min_len,
    max_len: int | None = MiningOptions.max_len,
    consequent_max_len: int | None = MiningOptions.consequent_max_len,
    measures: Sequence[str] | None = None,
    max_rules: int | None = None,
    sort_by: str | None = "lift",
    splits: Splits | None = None,
) -> Rules:
    """Association rules X → Y of ``itemsets`` (see the module docstring).

    ``min_len``/``max_len`` bound the rule length |X| + |Y|; ``measures`` are registry names
    (default :data:`~basketlens.mining.measures.DEFAULT_MEASURES`); the table is sorted by
    ``sort_by`` descending (ties: both_count descending, antecedent, consequent), truncated to
    ``max_rules`` and numbered ``r000001``, …. ``splits``: the candidates, when already
    found with these filters (:func:`rule_splits`, e.g. at a lower count then
    ``Splits.at_least``).

    Example:
        >>> from basketlens.mining import mine_itemsets
        >>> its = mine_itemsets([["a", "b"], ["a", "b"], ["a"]], min_count=2)
        >>> generate_rules(its, min_confidence=1.0).table["consequent"].to_list()
        [['a']]
    """
    t0 = time.perf_counter()
    names = resolve_measures(measures)
    if max_rules is not None:
        check_interval("max_rules", max_rules, low=0, integer=True)
    _check_sort_by(sort_by, names)
    if splits is None:
        splits = rule_splits(
            itemsets,
            min_confidence=min_confidence,
            min_lift=min_lift,
            min_len=min_len,
            max_len=max_len,
            consequent_max_len=consequent_max_len,
        )
    else:
        _validate(min_confidence, min_lift, min_len, max_len, consequent_max_len)
    n_found = len(splits)
    if n_found:
        table = _build_table(itemsets, splits, names, sort_by, max_rules)
    else:
        table = empty_rules_table(names)
    seconds = time.perf_counter() - t0
    info: dict[str, Any] = {
        "min_support": getattr(itemsets, "min_support", None),
        "min_count": itemsets.min_count,
        "min_confidence": float(min_confidence),
        "min_lift": None if min_lift is None else float(min_lift),
        "min_len": min_len,
        "max_len": max_len,
        "consequent_max_len": consequent_max_len,
        "measures": list(names),
        "sort_by": sort_by,
        "max_rules": max_rules,
        "algorithm": itemsets.info.get("algorithm"),
        "n_baskets": itemsets.n_baskets,
        "n_rules_found": n_found,
        "n_rules": table.height,
        "seconds": round(seconds, 6),
        "itemsets": dict(itemsets.info),
    }
    logger.info(
        "generated %d rules (%d before max_rules) in %.3f s", table.height, n_found, seconds
    )
    return Rules(table, info)


class Rules:
    """Association rules: a ``table`` (one row per rule: ids, item lists, counts, measures)
    and an ``info`` record (thresholds, algorithm, basket count, itemset fingerprint).

    Methods return new :class:`Rules`; rule ids are kept, so they remain valid references.

    Example:
        >>> from basketlens.mining import mine_itemsets
        >>> r = mine_itemsets([["a", "b"], ["a", "b"], ["a"]], min_count=1).rules()
        >>> len(r), r.filter(min_confidence=1.0).table["rule_id"].to_list()
        (2, ['r000002'])
    """

    def __init__(self, table: pl.DataFrame, info: dict[str, Any]) -> None:
        self.table = table
        self.info = info

    def __len__(self) -> int:
        return self.table.height

    def __repr__(self) -> str:
        n_baskets = self.info.get("n_baskets")
        return f"Rules(n={len(self)}, measures={list(self.measures)}, n_baskets={n_baskets})"

    @property
    def measures(self) -> tuple[str, ...]:
        """Names of the measure columns present in the table."""
        return tuple(c for c in self.table.columns if c in MEASURES)

    def _derive(self, table: pl.DataFrame, step: dict[str, Any]) -> Rules:
        info = dict(self.info)
        info["steps"] = [*info.get("steps", []), step]
        info["n_rules"] = table.height
        info["measures"] = [c for c in table.columns if c in MEASURES]
        return Rules(table, info)

    def with_measures(self, names: Sequence[str] | str) -> Rules:
        """Add measures computed from the stored counts (no re-mining)."""
        missing = [m for m in resolve_measures(names) if m not in self.table.columns]
        table = (
            self.table.with_columns(_measure_columns(self.table, missing))
            if missing
            else self.table
        )
        return self._derive(table, {"with_measures": missing})

    def _counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        t = self.table
        return tuple(
            t[c].to_numpy().astype(np.int64)
            for c in ("both_count", "antecedent_count", "consequent_count", "baskets")
        )

    def filter(
        self, *, min_confidence: float | None = None, min_lift: float | None = None
    ) -> Rules:
        """Keep rules at or above the thresholds, compared exactly on the counts."""
        ab, a, b, n = self._counts()
        keep = np.ones(len(self), dtype=bool)
        if min_confidence is not None:
            check_interval("min_confidence", min_confidence, low=0.0, high=1.0)
            keep &= ratio_at_least([ab], [a], as_fraction(min_confidence))
        if min_lift is not None:
            check_interval("min_lift", min_lift, low=0.0)
            keep &= ratio_at_least([ab, n], [a, b], as_fraction(min_lift))
        step = {"filter": {"min_confidence": min_confidence, "min_lift": min_lift}}
        return self._derive(self.table.filter(pl.Series(keep)), step)

    def keep(self, mask: np.ndarray, step: dict[str, Any]) -> Rules:
        """The rules where ``mask`` is True, the step recorded in ``info["steps"]``."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (len(self),):
            raise ParameterError(
                f"mask must have one value per rule ({len(self)}); got {mask.shape}"
            )
        return self._derive(self.table.filter(pl.Series(mask)), {**step, "kept": int(mask.sum())})

    def top(self, n: int, *, by: str = "lift") -> Rules:
        """The ``n`` best rules by ``by`` (descending; the usual tie-break)."""
        check_interval("n", n, low=0, integer=True)
        _check_sort_by(by, self.measures)
        return self._derive(_sorted(self.table, by).head(n), {"top": {"n": n, "by": by}})

    def prune_redundant(self) -> Rules:
        """Drop redundant rules (arules ``is.redundant``; see :func:`redundant_mask`)."""
        mask = redundant_mask(self.table)
        step = {"prune_redundant": {"removed": int(mask.sum())}}
        return self._derive(self.table.filter(pl.Series(~mask)), step)

    def significant(
        self,
        *,
        alpha: float = 0.05,
        adjust: str = "holm",
        test: str = "independence",
        itemsets: ItemsetsLike | None = None,
    ) -> Rules:
        """Keep rules whose one-sided Fisher test is significant after ``adjust``.

        ``test="independence"`` tests X against Y (arules ``is.significant``);
        ``test="productive"`` also tests the rule against every rule with one left-hand item
        fewer (:func:`~basketlens.mining.pruning.productive_pvalues`) and needs the
        ``itemsets`` the rules came from.
        """
        check_interval("alpha", alpha, low=0.0, high=1.0)
        check_option("adjust", adjust, ADJUSTMENTS)
        check_option("test", test, SIGNIFICANCE_TESTS)
        if test == "productive":
            if itemsets is None:
                raise ParameterError(
                    "test='productive' needs the itemsets the rules came from; pass itemsets="
                )
            # an adjusted p-value is at least the raw one: beyond alpha, no need to test on
            p = productive_pvalues(self.table, itemsets, cap=alpha)
        else:
            ab, a, b, n = self._counts()
            p = compute_measures(["fisher_p"], ab, a, b, n)["fisher_p"]
        mask = significant_mask(p, alpha=alpha, adjust=adjust)
        step = {
            "significant": {
                "alpha": alpha,
                "adjust": adjust,
                "test": test,
                "tested": len(self),
                "kept": int(mask.sum()),
            }
        }
        return self._derive(self.table.filter(pl.Series(mask)), step)

    def with_item_names(self, items: pl.DataFrame | Mapping[str, str]) -> Rules:
        """A new :class:`Rules` whose table has ``antecedent_names`` / ``consequent_names``
        after the item lists (``RULES_BASE_SCHEMA`` order); ``items`` is the item table
        (``item``, ``item_name``). Items it does not name keep their id.

        Example:
            >>> import polars as pl
            >>> from basketlens.mining import mine_itemsets
            >>> r = mine_itemsets([["a", "b"], ["a", "b"]], min_count=1).rules()
            >>> items = pl.DataFrame({"item": ["a", "b"], "item_name": ["Apple", "Bread"]})
            >>> r.with_item_names(items).table["consequent_names"].to_list()
            [['Bread'], ['Apple']]
        """
        names = items if isinstance(items, Mapping) else item_names(items)
        step = {"with_item_names": {"named_items": len(names)}}
        return self._derive(add_item_names(self.table, names), step)
