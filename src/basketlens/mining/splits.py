"""Rule candidates: every admissible split X → Y of the frequent itemsets, coded.

:func:`find_splits` splits each frequent itemset Z into an antecedent X and a consequent
Y = Z \\ X, looks the antecedent and consequent counts up (one call per itemset length and split
size, single items from a count table) and keeps the splits that pass the confidence and lift
thresholds, compared exactly on integer counts (:func:`ratio_at_least`). The result is a
:class:`Splits`: code matrices of uniform width per part, ready for
:mod:`basketlens.mining.rules` to sort and render.

Example:
    >>> from fractions import Fraction
    >>> from basketlens.mining import mine_itemsets
    >>> its = mine_itemsets([["a", "b"], ["a", "b"], ["a"]], min_count=1)
    >>> s = find_splits(its, min_len=2, max_len=None, cons_max=1, conf=Fraction(1), lift=None)
    >>> len(s), s.counts()[0].tolist()
    (1, [2])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from itertools import combinations
from typing import Any, NamedTuple, Protocol

import numpy as np

from basketlens.errors import ParameterError

__all__ = ["ItemsetsLike", "Splits", "as_fraction", "find_splits", "ratio_at_least"]

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


class Part(NamedTuple):
    """One block of candidates: antecedent codes (m, |X|), consequent codes (m, |Y|), counts."""

    x: np.ndarray
    y: np.ndarray
    n_ab: np.ndarray
    n_a: np.ndarray
    n_b: np.ndarray


class Splits:
    """Coded rule candidates, as parts of uniform antecedent and consequent width."""

    def __init__(self) -> None:
        self.parts: list[Part] = []

    def add(
        self, x: np.ndarray, y: np.ndarray, n_ab: np.ndarray, n_a: np.ndarray, n_b: np.ndarray
    ) -> None:
        if len(n_ab):
            self.parts.append(Part(x, y, n_ab, n_a, n_b))

    def __len__(self) -> int:
        return sum(len(p.n_ab) for p in self.parts)

    def at_least(self, min_count: int) -> Splits:
        """The candidates whose itemset is in at least ``min_count`` baskets: the splits of
        the itemsets at that count (the same rules, without splitting them again)."""
        out = Splits()
        for p in self.parts:
            keep = p.n_ab >= min_count
            out.add(*(a[keep] for a in p))
        return out

    def counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Concatenated ``(n_ab, n_a, n_b)`` as int64, in part order."""
        n_ab, n_a, n_b = (
            np.concatenate([p[i] for p in self.parts] or [[]]).astype(np.int64) for i in (2, 3, 4)
        )
        return n_ab, n_a, n_b


class _Counts:
    """Counts of coded itemsets: single items from a table, longer ones by hash lookup."""

    def __init__(
        self, itemsets: ItemsetsLike, flat: np.ndarray, off: np.ndarray, counts: np.ndarray
    ) -> None:
        self.itemsets = itemsets
        lengths = np.diff(off)
        single = np.flatnonzero(lengths == 1)
        codes = flat[off[single]]
        size = max(len(itemsets.vocabulary), int(flat.max()) + 1 if len(flat) else 0)
        self.single = np.full(size, -1, dtype=np.int64)
        self.single[codes] = counts[single]

    def __call__(self, mat: np.ndarray) -> np.ndarray:
        m, w = mat.shape
        if w == 0:
            return np.full(m, self.itemsets.n_baskets, dtype=np.int64)
        if w == 1:
            out = self.single[mat[:, 0]]
        else:
            offs = np.arange(m + 1, dtype=np.int64) * w
            flat = mat.ravel().astype(np.int32)
            out = np.asarray(self.itemsets.lookup_counts(flat, offs), dtype=np.int64)
        if m and out.min() < 0:
            raise ParameterError(
                "itemsets lack the count of a subset of a frequent itemset; generate rules "
                "from itemsets mined with mine_itemsets (any target)"
            )
        return out


def find_splits(
    itemsets: ItemsetsLike,
    *,
    min_len: int,
    max_len: int | None,
    cons_max: int | None,
    conf: Fraction,
    lift: Fraction | None,
) -> Splits:
    """Every admissible split of every itemset that passes the thresholds (coded)."""
    out = Splits()
    all_flat, all_off, all_counts = itemsets.frequent_arrays()
    flat = np.asarray(all_flat, dtype=np.int32)
    off = np.asarray(all_off, dtype=np.int64)
    counts = np.asarray(all_counts, dtype=np.int64)
    lengths = np.diff(off)
    lookup = _Counts(itemsets, flat, off, counts)
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
                n_ab = np.repeat(counts[sel], n_combo)
                n_a = lookup(x)
                keep = ratio_at_least([n_ab], [n_a], conf)
                x, n_ab, n_a = x[keep], n_ab[keep], n_a[keep]
                y = mat[:, cons_pos].reshape(rows, c)[keep]
                n_b = lookup(y)
                if lift is not None:
                    nn = np.broadcast_to(n_arr, n_ab.shape)
                    keep = ratio_at_least([n_ab, nn], [n_a, n_b], lift)
                    x, y, n_ab, n_a, n_b = x[keep], y[keep], n_ab[keep], n_a[keep], n_b[keep]
                out.add(x, y, n_ab, n_a, n_b)
    return out
