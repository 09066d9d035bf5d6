"""Rule pruning: redundancy (arules ``is.redundant``) and multiple-testing significance.

A rule X → Y is *redundant* when the table holds a more general rule X' → Y (X' a proper
subset of X, the empty antecedent included, same consequent) whose confidence is at least as
high (improvement ≤ 0). All proper subsets are checked, not only those one item smaller,
and confidences are compared exactly on the counts.

Significance is Fisher's one-sided exact test. Against *independence* (arules
``is.significant``) it asks whether baskets with X hold Y more often than the others. A
*productive* rule (Webb 2007, "Discovering significant patterns") must in addition beat each
rule with one left-hand item fewer: among the baskets holding X minus x, those that also hold x
must hold Y more often — otherwise x adds nothing ("bread + rice → steak" when "bread →
steak" says it all). Its p-value is the largest of these tests; the counts it needs are those
of frequent itemsets (subsets of X ∪ Y), looked up, never recounted.

Example:
    >>> import polars as pl
    >>> t = pl.DataFrame({"antecedent": [["a"], ["a", "b"]], "consequent": [["c"], ["c"]],
    ...                   "antecedent_count": [10, 5], "both_count": [8, 4]})
    >>> redundant_mask(t).tolist()
    [False, True]
    >>> adjust_pvalues([0.01, 0.04, 0.03], "holm").round(4).tolist()
    [0.03, 0.06, 0.06]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from itertools import combinations
from typing import Protocol

import numpy as np
import polars as pl
import pyarrow as pa

from basketlens._validation import check_interval, check_option
from basketlens.errors import InputError
from basketlens.mining.measures import hypergeom_upper
from basketlens.mining.options import ADJUSTMENTS

logger = logging.getLogger(__name__)

__all__ = [
    "ADJUSTMENTS",
    "adjust_pvalues",
    "productive_pvalues",
    "redundant_mask",
    "significant_mask",
]

_CHUNK = 2_000_000  # subset keys joined at once


def _coded_lists(series: pl.Series, items: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Flat codes (index into sorted ``items``) and int64 offsets of a list<str> column."""
    arr = series.rechunk().to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets = np.asarray(arr.offsets, dtype=np.int64)
    values = pl.Series(arr.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0])))
    flat = values.cast(pl.Enum(items)).to_physical().to_numpy().astype(np.int64)
    return flat, offsets - offsets[0]


_MAX_KEY = 2**62  # mixed-radix keys below this use the fast numpy index


def _matcher(
    cid: np.ndarray, padded: np.ndarray, n_ab: np.ndarray, n_a: np.ndarray, n_items: int
) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """An index of the rules by (consequent id, padded antecedent codes).

    The returned function maps query keys to pairs (query row, matching rule row). Keys are
    packed into one int64 (mixed radix) when they fit, else matched with a Polars join.
    """
    width = padded.shape[1]
    base = n_items + 1
    if (int(cid.max()) + 1) * base**width < _MAX_KEY:
        weights = np.array([base ** (width - 1 - j) for j in range(width)], dtype=np.int64)

        def pack(c: np.ndarray, mat: np.ndarray) -> np.ndarray:
            return c * base**width + (mat + 1) @ weights

        keys = pack(cid, padded)
        # duplicates of a key: keep the most confident rule (enough for "any is at least")
        order = np.lexsort((-(n_ab / np.maximum(n_a, 1)), keys))
        first = np.r_[True, keys[order][1:] != keys[order][:-1]]
        sorted_keys, rule_of = keys[order][first], order[first]

        def match_int(c: np.ndarray, mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            q = pack(c, mat)
            i = np.minimum(np.searchsorted(sorted_keys, q), len(sorted_keys) - 1)
            found = np.flatnonzero(sorted_keys[i] == q)
            return found, rule_of[i[found]]

        return match_int

    cols = [f"k{j}" for j in range(width)]
    general = pl.DataFrame(
        {
            "cid": cid,
            **{k: padded[:, j] for j, k in enumerate(cols)},
            "g": np.arange(len(cid), dtype=np.int64),
        }
    )

    def match_join(c: np.ndarray, mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        query = pl.DataFrame(
            {
                "cid": c,
                **{k: mat[:, j] for j, k in enumerate(cols)},
                "q": np.arange(len(c), dtype=np.int64),
            }
        )
        joined = query.join(general, on=["cid", *cols], how="inner")
        return joined["q"].to_numpy(), joined["g"].to_numpy()

    return match_join


def redundant_mask(table: pl.DataFrame) -> np.ndarray:
    """Boolean mask of the redundant rules of a rules table (see the module docstring).

    Needs the columns antecedent, consequent (sorted list<str>), antecedent_count and
    both_count. Only rules present in ``table`` count as more general rules.

    Example:
        >>> t = pl.DataFrame({"antecedent": [[], ["a"]], "consequent": [["c"], ["c"]],
        ...                   "antecedent_count": [10, 5], "both_count": [5, 2]})
        >>> redundant_mask(t).tolist()
        [False, True]
    """
    needed = ("antecedent", "consequent", "antecedent_count", "both_count")
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise InputError(f"rules table lacks column(s) {', '.join(missing)} needed for pruning")
    n_rules = table.height
    mask = np.zeros(n_rules, dtype=bool)
    if n_rules == 0:
        return mask
    items = table["antecedent"].explode().drop_nulls().unique().sort().to_list()
    flat, off = _coded_lists(table["antecedent"], items)
    lengths = np.diff(off)
    width = int(lengths.max())
    if width == 0:
        return mask
    cid = table.select(pl.col("consequent").rank("dense")).to_series().to_numpy().astype(np.int64)
    n_ab = table["both_count"].to_numpy().astype(np.int64)
    n_a = table["antecedent_count"].to_numpy().astype(np.int64)

    # every rule keyed by (consequent id, antecedent codes padded with -1)
    padded = np.full((n_rules, width), -1, dtype=np.int64)
    pos = np.arange(len(flat)) - np.repeat(off[:-1], lengths)
    padded[np.repeat(np.arange(n_rules), lengths), pos] = flat
    match = _matcher(cid, padded, n_ab, n_a, len(items))

    for size in np.unique(lengths).tolist():
        if size == 0:
            continue
        rows = np.flatnonzero(lengths == size)
        mat = padded[rows, :size]
        for s in range(size):  # proper subsets of s items
            combos = np.array(list(combinations(range(size), s)), dtype=np.intp)
            combos = combos.reshape(math.comb(size, s), s)
            step = max(1, _CHUNK // len(combos))
            for start in range(0, len(rows), step):
                part = rows[start : start + step]
                m, c = len(part), len(combos)
                query = np.full((m * c, width), -1, dtype=np.int64)
                query[:, :s] = mat[start : start + step][:, combos].reshape(m * c, s)
                q, g = match(np.repeat(cid[part], c), query)
                r = part[q // c]
                # conf(X' -> Y) >= conf(X -> Y), exactly: g_ab * n_a >= n_ab * g_a
                hit = n_ab[g] * n_a[r] >= n_ab[r] * n_a[g]
                mask[r[hit]] = True
    logger.debug("redundant rules: %d of %d", int(mask.sum()), n_rules)
    return mask


def adjust_pvalues(p: np.ndarray | list[float], method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple testing (as R's ``p.adjust``; "bh" = "BH").

    Example:
        >>> adjust_pvalues([0.01, 0.02, 0.03, 0.04], "bh").round(4).tolist()
        [0.04, 0.04, 0.04, 0.04]
    """
    check_option("adjust", method, ADJUSTMENTS)
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or np.any(~((p >= 0) & (p <= 1))):
        raise InputError("p-values must be a 1-d array of numbers in [0, 1]")
    m = len(p)
    if method == "none" or m == 0:
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    order = np.argsort(p, kind="stable")
    ps = p[order]
    ranks = np.arange(1, m + 1, dtype=np.float64)
    if method == "holm":
        adj = np.maximum.accumulate((m - ranks + 1) * ps)
    else:  # bh
        adj = np.minimum.accumulate((ps * m / ranks)[::-1])[::-1]
    out = np.empty(m, dtype=np.float64)
    out[order] = np.minimum(1.0, adj)
    return out


def significant_mask(p: np.ndarray, *, alpha: float = 0.05, adjust: str = "holm") -> np.ndarray:
    """True where the adjusted p-value is ≤ ``alpha`` (arules ``is.significant``).

    Example:
        >>> significant_mask(np.array([0.01, 0.04, 0.03]), alpha=0.05, adjust="holm").tolist()
        [True, False, False]
    """
    check_interval("alpha", alpha, low=0.0, high=1.0)
    return adjust_pvalues(p, adjust) <= alpha


class _Lookup(Protocol):
    vocabulary: tuple[str, ...]
    n_baskets: int

    def lookup_counts(self, query_flat: np.ndarray, query_offsets: np.ndarray) -> np.ndarray: ...


def _padded(series: pl.Series, vocabulary: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of item codes (padded with -1) and the length of each list."""
    flat, off = _coded_lists(series, vocabulary)
    lengths = np.diff(off)
    width = max(int(lengths.max()) if len(lengths) else 0, 1)
    out = np.full((len(lengths), width), -1, dtype=np.int64)
    pos = np.arange(len(flat)) - np.repeat(off[:-1], lengths)
    out[np.repeat(np.arange(len(lengths)), lengths), pos] = flat
    return out, lengths


def _counts_of(itemsets: _Lookup, rows: np.ndarray) -> np.ndarray:
    """Basket counts of the itemsets given as equal-length rows of codes."""
    n, width = rows.shape
    offsets = np.arange(n + 1, dtype=np.int64) * width
    counts = itemsets.lookup_counts(rows.ravel().astype(np.int32), offsets)
    if (counts < 0).any():
        raise InputError("the itemsets do not hold every subset of the rules' itemsets")
    return counts


def productive_pvalues(
    table: pl.DataFrame, itemsets: _Lookup, *, cap: float | None = None
) -> np.ndarray:
    """One-sided p-value of each rule as a *productive* rule (see the module docstring).

    ``table`` needs antecedent, consequent (item ids), antecedent_count, consequent_count,
    both_count and baskets; ``itemsets`` (:class:`~basketlens.mining.Itemsets`) must be the
    frequent itemsets the rules were generated from. With ``cap``, a rule whose p-value
    already exceeds it is not tested further (its value is then a lower bound above ``cap``):
    enough to decide significance at any level up to ``cap``.

    Example:
        >>> from basketlens.mining import mine_itemsets
        >>> baskets = [["a", "b", "c"]] * 6 + [["a", "c"]] * 6 + [["b"]] * 4 + [["d"]] * 8
        >>> its = mine_itemsets(baskets, min_count=1)
        >>> r = its.rules(min_confidence=0.5).table
        >>> p = productive_pvalues(r, its)
        >>> r.with_columns(p=p).filter(pl.col("consequent") == ["c"]).select(
        ...     "antecedent", pl.col("p").round(4)).rows()
        [(['a'], 0.0), (['a', 'b'], 1.0), (['b'], 0.3401)]
    """
    n = np.asarray(table["baskets"], dtype=np.float64)
    n_ab = table["both_count"].to_numpy().astype(np.float64)
    n_a = table["antecedent_count"].to_numpy().astype(np.float64)
    n_b = table["consequent_count"].to_numpy().astype(np.float64)
    p = hypergeom_upper(n_ab, n, n_a, n_b)
    if table.height == 0:
        return p
    vocabulary = list(itemsets.vocabulary)
    ante, a_len = _padded(table["antecedent"], vocabulary)
    cons, c_len = _padded(table["consequent"], vocabulary)
    shapes = np.unique(np.stack([a_len, c_len], axis=1)[a_len >= 2], axis=0).tolist()
    for size, m in shapes:
        group = np.flatnonzero((a_len == size) & (c_len == m))
        for j in range(size):
            rows = group if cap is None else group[p[group] <= cap]
            if rows.size == 0:
                break
            x, y = ante[rows, :size], cons[rows, :m]
            general = np.delete(x, j, axis=1)
            n_g = _counts_of(itemsets, general).astype(np.float64)
            n_gy = _counts_of(itemsets, np.hstack([general, y])).astype(np.float64)
            # among baskets with X minus x: do those with x (all of X) hold Y more often?
            p_j = hypergeom_upper(n_ab[rows], n_g, n_a[rows], n_gy)
            p[rows] = np.maximum(p[rows], p_j)
    return p
