"""Association rules from frequent itemsets: :func:`generate_rules` and :class:`Rules`.

Every frequent itemset Z (of ``min_len``..``max_len`` items) is split into an antecedent X
and a consequent Y = Z \\ X with 1..``consequent_max_len`` items (one by default, the arules
convention; ``None`` allows every non-empty proper split). ``min_len=1`` also admits the empty
antecedent {} → Y, whose confidence is support(Y). The splits are built as coded numpy arrays,
the antecedent and consequent counts come from one :meth:`Itemsets.lookup_counts` call per
itemset length and split size, and thresholds are compared exactly on integer counts:
``min_confidence=0.5`` keeps a rule iff ``2 · n_ab >= n_a``, so rules exactly at the
threshold are kept.

Example:
    >>> from basketlens.mining import mine_itemsets
    >>> its = mine_itemsets([["a", "b"], ["a", "b"], ["a"], ["b"]], min_count=1)
    >>> r = generate_rules(its, min_confidence=2 / 3, measures=["confidence"])
    >>> r.table.select("antecedent", "consequent", "both_count").rows()
    [(['a'], ['b'], 2), (['b'], ['a'], 2)]
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Sequence
from fractions import Fraction
from itertools import combinations
from typing import Any, Protocol

import numpy as np
import polars as pl
import pyarrow as pa

from basketlens._validation import check_interval, check_option
from basketlens.errors import ParameterError
from basketlens.mining.measures import MEASURES, compute_measures, resolve_measures

logger = logging.getLogger(__name__)

__all__ = ["COUNT_COLUMNS", "Rules", "count_rules", "empty_rules_table", "generate_rules"]

#: The count columns every rules table carries, in order, after the item lists.
COUNT_COLUMNS: tuple[str, ...] = ("antecedent_count", "consequent_count", "both_count", "baskets")
_CHUNK = 4_000_000  # split-matrix elements processed at once (bounds peak memory)


class ItemsetsLike(Protocol):
    """What rule generation needs from :class:`basketlens.mining.Itemsets`."""

    codes_flat: np.ndarray
    offsets: np.ndarray
    counts: np.ndarray
    vocabulary: tuple[str, ...]
    n_baskets: int
    min_count: int
    info: dict[str, Any]

    def lookup_counts(self, query_flat: np.ndarray, query_offsets: np.ndarray) -> np.ndarray: ...

    def frequent_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


def as_fraction(value: float) -> Fraction:
    """The exact decimal value the user wrote (``0.3`` → 3/10), for count comparisons."""
    return Fraction(repr(float(value)))


def ratio_at_least(num: Sequence[np.ndarray], den: Sequence[np.ndarray], t: Fraction) -> np.ndarray:
    """Exact ``prod(num) / prod(den) >= t`` on non-negative integer arrays.

    Uses int64 when the products cannot overflow, else a float comparison with the
    near-ties re-checked in Python integers.

    Example:
        >>> ratio_at_least([np.array([1, 1, 2])], [np.array([2, 3, 3])], Fraction(1, 2))
        array([ True, False,  True])
    """
    size = len(num[0])
    if size == 0:
        return np.zeros(0, dtype=bool)
    bound_num = math.prod(int(f.max()) for f in num) * t.denominator
    bound_den = math.prod(int(f.max()) for f in den) * t.numerator
    if max(bound_num, bound_den) < 2**62:
        lhs = np.full(size, t.denominator, dtype=np.int64)
        rhs = np.full(size, t.numerator, dtype=np.int64)
        for f in num:
            lhs *= f
        for f in den:
            rhs *= f
        return lhs >= rhs
    fnum = np.prod([f.astype(np.float64) for f in num], axis=0)
    fden = np.prod([f.astype(np.float64) for f in den], axis=0)
    tf = float(t)
    keep = fnum >= tf * fden
    near = np.flatnonzero(np.abs(fnum - tf * fden) <= 1e-9 * np.maximum(fnum, tf * fden))
    for i in near:
        lhs = math.prod(int(f[i]) for f in num) * t.denominator
        keep[i] = lhs >= math.prod(int(f[i]) for f in den) * t.numerator
    return keep


class _Splits:
    """Coded rule candidates: flat codes + offsets for both sides, and the three counts."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(
        self, x: np.ndarray, y: np.ndarray, n_ab: np.ndarray, n_a: np.ndarray, n_b: np.ndarray
    ) -> None:
        self.parts.append((x, y, n_ab, n_a, n_b))

    def __len__(self) -> int:
        return sum(len(p[2]) for p in self.parts)

    def arrays(self) -> dict[str, np.ndarray]:
        """Concatenate: ante_flat/ante_off, cons_flat/cons_off, n_ab, n_a, n_b."""

        def flat_off(mats: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            lens = np.concatenate([np.full(len(m), m.shape[1], np.int64) for m in mats] or [[]])
            off = np.zeros(len(lens) + 1, dtype=np.int64)
            np.cumsum(lens, out=off[1:])
            flat = np.concatenate([m.ravel() for m in mats] or [[]]).astype(np.int32)
            return flat, off

        ante_flat, ante_off = flat_off([p[0] for p in self.parts])
        cons_flat, cons_off = flat_off([p[1] for p in self.parts])
        cat = [
            np.concatenate([p[i] for p in self.parts] or [[]]).astype(np.int64) for i in (2, 3, 4)
        ]
        return dict(
            ante_flat=ante_flat,
            ante_off=ante_off,
            cons_flat=cons_flat,
            cons_off=cons_off,
            n_ab=cat[0],
            n_a=cat[1],
            n_b=cat[2],
        )


def _lookup(itemsets: ItemsetsLike, mat: np.ndarray) -> np.ndarray:
    m, w = mat.shape
    if w == 0:
        return np.full(m, itemsets.n_baskets, dtype=np.int64)
    offs = np.arange(m + 1, dtype=np.int64) * w
    out = np.asarray(itemsets.lookup_counts(mat.ravel().astype(np.int32), offs), dtype=np.int64)
    if m and out.min() < 0:
        raise ParameterError(
            "itemsets lack the count of a subset of a frequent itemset; generate rules from "
            "itemsets mined with mine_itemsets (any target)"
        )
    return out


def _splits(
    itemsets: ItemsetsLike,
    *,
    min_len: int,
    max_len: int | None,
    cons_max: int | None,
    conf: Fraction,
    lift: Fraction | None,
) -> _Splits:
    """Every admissible split of every itemset that passes the thresholds (coded)."""
    out = _Splits()
    all_flat, all_off, all_counts = itemsets.frequent_arrays()
    flat = np.asarray(all_flat, dtype=np.int32)
    off = np.asarray(all_off, dtype=np.int64)
    counts = np.asarray(all_counts, dtype=np.int64)
    lengths = np.diff(off)
    n = itemsets.n_baskets
    n_arr = np.array([n], dtype=np.int64)
    for k in np.unique(lengths).tolist():
        if k < min_len or (max_len is not None and k > max_len) or k == 0:
            continue
        idx = np.flatnonzero(lengths == k)
        c_top = k if min_len <= 1 else k - 1
        if cons_max is not None:
            c_top = min(c_top, cons_max)
        for c in range(1, c_top + 1):
            cons_pos = np.array(list(combinations(range(k), c)), dtype=np.intp)
            ante_pos = np.array(
                [[i for i in range(k) if i not in row] for row in cons_pos], dtype=np.intp
            ).reshape(len(cons_pos), k - c)
            n_combo = len(cons_pos)
            step = max(1, _CHUNK // (n_combo * k))
            for s in range(0, len(idx), step):
                sel = idx[s : s + step]
                mat = flat[off[sel][:, None] + np.arange(k)]
                rows = len(sel) * n_combo
                x = mat[:, ante_pos].reshape(rows, k - c)
                y = mat[:, cons_pos].reshape(rows, c)
                n_ab = np.repeat(counts[sel], n_combo)
                n_a = _lookup(itemsets, x)
                keep = ratio_at_least([n_ab], [n_a], conf)
                x, y, n_ab, n_a = x[keep], y[keep], n_ab[keep], n_a[keep]
                n_b = _lookup(itemsets, y)
                if lift is not None:
                    nn = np.broadcast_to(n_arr, n_ab.shape)
                    keep = ratio_at_least([n_ab, nn], [n_a, n_b], lift)
                    x, y, n_ab, n_a, n_b = x[keep], y[keep], n_ab[keep], n_a[keep], n_b[keep]
                out.add(x, y, n_ab, n_a, n_b)
    return out


def _sorted_ranks(flat: np.ndarray, off: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Rows of item ranks (string order), sorted within each row, padded with -1."""
    lengths = np.diff(off)
    width = int(lengths.max()) if len(lengths) else 0
    pad = np.iinfo(np.int64).max
    mat = np.full((len(lengths), width), pad, dtype=np.int64)
    pos = np.arange(len(flat)) - np.repeat(off[:-1], lengths)
    mat[np.repeat(np.arange(len(lengths)), lengths), pos] = rank[flat]
    mat.sort(axis=1)
    mat[mat == pad] = -1
    return mat


def _lists(names: pl.Series, ranks: np.ndarray, lengths: np.ndarray, name: str) -> pl.Series:
    """A list<str> column from padded rank rows (row-major, -1 padding dropped)."""
    off = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=off[1:])
    values = names.gather(ranks[ranks >= 0]).to_arrow()
    arr = pa.LargeListArray.from_arrays(pl.Series(off, dtype=pl.Int64).to_arrow(), values)
    series = pl.from_arrow(arr)
    assert isinstance(series, pl.Series)
    return series.alias(name).cast(pl.List(pl.String))


def _build_table(
    itemsets: ItemsetsLike,
    coded: dict[str, np.ndarray],
    names: Sequence[str],
    sort_by: str | None,
    max_rules: int | None,
) -> pl.DataFrame:
    """Sort the coded rules in numpy (sort_by desc, nulls last; both_count desc; antecedent;
    consequent, by item id), keep ``max_rules``, then build the table once."""
    vocab = np.asarray(itemsets.vocabulary, dtype=str)
    by_name = np.argsort(vocab, kind="stable")
    rank = np.empty(len(vocab), dtype=np.int64)
    rank[by_name] = np.arange(len(vocab))
    ante = _sorted_ranks(coded["ante_flat"], coded["ante_off"], rank)
    cons = _sorted_ranks(coded["cons_flat"], coded["cons_off"], rank)
    n_ab, n_a, n_b = coded["n_ab"], coded["n_a"], coded["n_b"]
    n = itemsets.n_baskets
    keys = [cons[:, j] for j in range(cons.shape[1] - 1, -1, -1)]
    keys += [ante[:, j] for j in range(ante.shape[1] - 1, -1, -1)]
    keys.append(-n_ab)
    if sort_by is not None:
        if sort_by in COUNT_COLUMNS:
            col = {"antecedent_count": n_a, "consequent_count": n_b, "both_count": n_ab}
            primary = -col.get(sort_by, np.zeros_like(n_ab)).astype(np.float64)
        else:
            primary = -compute_measures([sort_by], n_ab, n_a, n_b, n)[sort_by]
        keys.append(np.where(np.isnan(primary), np.inf, primary))
    order = np.lexsort(keys)
    if max_rules is not None:
        order = order[:max_rules]
    ante, cons, n_ab, n_a, n_b = ante[order], cons[order], n_ab[order], n_a[order], n_b[order]
    sorted_names = pl.Series("item", vocab[by_name], dtype=pl.String)
    width = max(6, len(str(len(order))))
    numbers = pl.Series(np.arange(1, len(order) + 1, dtype=np.int64)).cast(pl.String)
    ids = pl.select(pl.lit("r") + pl.lit(numbers).str.zfill(width)).to_series()
    columns = [
        pl.Series("rule_id", ids, dtype=pl.String),
        _lists(sorted_names, ante, (ante >= 0).sum(axis=1), "antecedent"),
        _lists(sorted_names, cons, (cons >= 0).sum(axis=1), "consequent"),
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


def count_rules(
    itemsets: ItemsetsLike,
    *,
    min_confidence: float = 0.5,
    min_lift: float | None = None,
    min_len: int = 2,
    max_len: int | None = None,
    consequent_max_len: int | None = 1,
) -> int:
    """Number of rules :func:`generate_rules` would return, without building a table.

    Example:
        >>> from basketlens.mining import mine_itemsets
        >>> count_rules(mine_itemsets([["a", "b"], ["a"]], min_count=1), min_confidence=0.5)
        2
    """
    conf, lift = _validate(min_confidence, min_lift, min_len, max_len, consequent_max_len)
    return len(
        _splits(
            itemsets,
            min_len=min_len,
            max_len=max_len,
            cons_max=consequent_max_len,
            conf=conf,
            lift=lift,
        )
    )


def _validate(
    min_confidence: float,
    min_lift: float | None,
    min_len: int,
    max_len: int | None,
    cons_max: int | None,
) -> tuple[Fraction, Fraction | None]:
    check_interval("min_confidence", min_confidence, low=0.0, high=1.0)
    if min_lift is not None:
        check_interval("min_lift", min_lift, low=0.0)
    check_interval("min_len", min_len, low=1, integer=True)
    if max_len is not None:
        check_interval("max_len", max_len, low=min_len, integer=True)
    if cons_max is not None:
        check_interval("consequent_max_len", cons_max, low=1, integer=True)
    return as_fraction(min_confidence), None if min_lift is None else as_fraction(min_lift)


def generate_rules(
    itemsets: ItemsetsLike,
    *,
    min_confidence: float = 0.5,
    min_lift: float | None = None,
    min_len: int = 2,
    max_len: int | None = None,
    consequent_max_len: int | None = 1,
    measures: Sequence[str] | None = None,
    max_rules: int | None = None,
    sort_by: str | None = "lift",
) -> Rules:
    """Association rules X → Y of ``itemsets`` (see the module docstring).

    ``min_len``/``max_len`` bound the rule length |X| + |Y|; ``measures`` are registry names
    (default :data:`~basketlens.mining.measures.DEFAULT_MEASURES`); the table is sorted by
    ``sort_by`` descending (ties: both_count descending, antecedent, consequent), truncated to
    ``max_rules`` and numbered ``r000001``, ….

    Example:
        >>> from basketlens.mining import mine_itemsets
        >>> its = mine_itemsets([["a", "b"], ["a", "b"], ["a"]], min_count=2)
        >>> generate_rules(its, min_confidence=1.0).table["consequent"].to_list()
        [['a']]
    """
    t0 = time.perf_counter()
    conf, lift = _validate(min_confidence, min_lift, min_len, max_len, consequent_max_len)
    names = resolve_measures(measures)
    if max_rules is not None:
        check_interval("max_rules", max_rules, low=0, integer=True)
    _check_sort_by(sort_by, names)
    coded = _splits(
        itemsets,
        min_len=min_len,
        max_len=max_len,
        cons_max=consequent_max_len,
        conf=conf,
        lift=lift,
    ).arrays()
    n_found = len(coded["n_ab"])
    if n_found:
        table = _build_table(itemsets, coded, names, sort_by, max_rules)
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

    def top(self, n: int, *, by: str = "lift") -> Rules:
        """The ``n`` best rules by ``by`` (descending; the usual tie-break)."""
        check_interval("n", n, low=0, integer=True)
        _check_sort_by(by, self.measures)
        return self._derive(_sorted(self.table, by).head(n), {"top": {"n": n, "by": by}})

    def prune_redundant(self) -> Rules:
        """Drop redundant rules (arules ``is.redundant``; see :func:`redundant_mask`)."""
        from basketlens.mining.pruning import redundant_mask

        mask = redundant_mask(self.table)
        step = {"prune_redundant": {"removed": int(mask.sum())}}
        return self._derive(self.table.filter(pl.Series(~mask)), step)

    def significant(self, *, alpha: float = 0.05, adjust: str = "holm") -> Rules:
        """Keep rules whose one-sided Fisher test is significant after ``adjust``."""
        from basketlens.mining.pruning import ADJUSTMENTS, significant_mask

        check_interval("alpha", alpha, low=0.0, high=1.0)
        check_option("adjust", adjust, ADJUSTMENTS)
        ab, a, b, n = self._counts()
        p = compute_measures(["fisher_p"], ab, a, b, n)["fisher_p"]
        mask = significant_mask(p, alpha=alpha, adjust=adjust)
        step = {
            "significant": {
                "alpha": alpha,
                "adjust": adjust,
                "tested": len(self),
                "kept": int(mask.sum()),
            }
        }
        return self._derive(self.table.filter(pl.Series(mask)), step)
