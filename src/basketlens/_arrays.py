"""Fast equivalents of the numpy set and sort routines the recommender and the opportunities
stage call on large arrays.

``np.unique`` and ``np.isin`` hash their input in numpy 2.x and are many times slower than a
(SIMD) sort on arrays of many distinct integers, and ``np.lexsort`` compares key by key; each
function here returns exactly what the numpy routine it names returns, from plain sorts.

Example:
    >>> unique_sorted(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    >>> isin_sorted(np.array([1, 5, 2]), np.array([1, 2, 3])).tolist()
    [True, False, True]
    >>> lexsort(  # rows first, then the higher score, ties by position
    ...     (-np.array([0.5, 0.9, 0.1, 0.9]), np.array([1, 1, 0, 1]))).tolist()
    [2, 1, 3, 0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "dense_rank",
    "group_starts",
    "isin_sorted",
    "lexsort",
    "rank_within_rows",
    "stable_argsort",
    "unique_sorted",
]

_BITS = 62  # composite keys stay below 2**62 (int64, with room for the position)


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a 1-D array: ``np.unique(values)``.

    Example:
        >>> unique_sorted(np.array([5, 5, -1])).tolist()
        [-1, 5]
    """
    s = np.sort(np.asarray(values).ravel())
    if s.size < 2:
        return s
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    if s.dtype.kind in "fc":  # np.unique keeps one NaN (NaN != NaN)
        keep[1:] &= ~(np.isnan(s[1:]) & np.isnan(s[:-1]))
    return s[keep]


def isin_sorted(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Whether each value is in ``table`` (sorted, distinct): ``np.isin(values, table)``.

    Example:
        >>> isin_sorted(np.array([[0, 4], [9, 2]]), np.array([2, 4])).tolist()
        [[False, True], [False, True]]
    """
    values = np.asarray(values)
    if table.size == 0:
        return np.zeros(values.shape, dtype=bool)
    at = np.minimum(np.searchsorted(table, values), table.size - 1)
    return table[at] == values


def dense_rank(values: np.ndarray) -> tuple[np.ndarray, int]:
    """(0-based rank of each value among the distinct values, number of distinct values);
    equal values (``-0.0`` and ``0.0``; every NaN, ranked last) share a rank.

    Example:
        >>> r, n = dense_rank(np.array([2.0, -1.0, 2.0, np.nan]))
        >>> r.tolist(), n
        ([1, 0, 1, 2], 3)
    """
    values = np.asarray(values)
    if values.dtype == bool:
        return values.astype(np.int64), 2
    if values.size == 0:
        return np.zeros(0, dtype=np.int64), 0
    order = np.argsort(values)
    s = values[order]
    step = np.empty(s.size, dtype=np.int64)
    step[0] = 0
    new = s[1:] != s[:-1]
    if s.dtype.kind in "fc":
        new &= ~(np.isnan(s[1:]) & np.isnan(s[:-1]))
    step[1:] = new
    ranks = np.empty(s.size, dtype=np.int64)
    ranks[order] = np.cumsum(step)
    return ranks, int(ranks[order[-1]]) + 1


def lexsort(keys: Sequence[np.ndarray]) -> np.ndarray:
    """``np.lexsort(keys)``: the order by the last key, then the one before, …, then position.

    Each key is replaced by its dense rank and the ranks and the position are packed into one
    int64 per element, which one (unstable: the packed keys are distinct) sort orders; keys
    too many or too varied to pack fall back to ``np.lexsort``.

    Example:
        >>> lexsort((np.array([1, 0, 1]), np.array([2, 2, 1]))).tolist()
        [2, 1, 0]
    """
    keys = [np.asarray(k) for k in keys]
    n = keys[0].size if keys else 0
    if n < 2:
        return np.arange(n)
    budget = float(n)
    ranked = []
    for key in reversed(keys):  # primary key first
        rank, distinct = dense_rank(key)
        budget *= max(distinct, 1)
        if budget >= 2.0**_BITS:
            return np.lexsort(keys)
        ranked.append((rank, distinct))
    packed = np.zeros(n, dtype=np.int64)
    for rank, distinct in ranked:
        packed *= distinct
        packed += rank
    packed *= n
    packed += np.arange(n)
    return np.argsort(packed)


def stable_argsort(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` of non-negative int64 keys: one (SIMD) sort of the
    keys packed with their positions (``key * n + position``), the positions read back; the
    stable argsort itself when the packed keys would not fit in int64.

    Twice as fast as the unstable argsort on 1.6 M keys (14 vs 30 ms), six times the stable.

    Example:
        >>> stable_argsort(np.array([3, 1, 3, 0])).tolist()
        [3, 1, 0, 2]
    """
    keys = np.asarray(keys)
    n = keys.size
    if n < 2 or keys.dtype.kind not in "iu" or int(keys.min()) < 0:
        return np.argsort(keys, kind="stable")
    if int(keys.max()) >= (2**63 - 1) // n:
        return np.argsort(keys, kind="stable")
    packed = keys.astype(np.int64) * n
    packed += np.arange(n)
    packed.sort()
    return packed % n


def group_starts(values: np.ndarray) -> np.ndarray:
    """Index of the first element of each element's run of equal values in a sorted array:
    ``np.searchsorted(values, values, side="left")`` in one pass instead of a search each.

    Example:
        >>> group_starts(np.array([2, 2, 5, 7, 7, 7])).tolist()
        [0, 0, 2, 3, 3, 3]
    """
    values = np.asarray(values)
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.zeros(n, dtype=np.int64)
    new = np.flatnonzero(values[1:] != values[:-1]) + 1
    first[new] = new
    return np.maximum.accumulate(first)


def _ascending_bits(values: np.ndarray) -> np.ndarray:
    """uint64 keys in the order of the float32 ``values`` (``-0.0`` counted as ``0.0``)."""
    bits = (values + np.float32(0.0)).view(np.uint32).astype(np.uint64)
    negative = bits >= 2**31
    return np.where(negative, ~bits & 0xFFFFFFFF, bits | 2**31)


def rank_within_rows(rows: np.ndarray, score: np.ndarray) -> np.ndarray:
    """0-based rank of each score within its row, highest first, ties by position: the rank
    in the order ``np.lexsort((-score, rows))`` (``rows`` sorted, else that order is sorted).

    The row, the score and the position within the row are packed into one int64 and sorted
    once: the score's float32 bits when float32 holds it exactly (as it does the item–item
    models' scores), else its dense rank; :func:`lexsort` when they do not fit.

    Example:
        >>> rank_within_rows(np.array([0, 0, 0, 1, 1]),
        ...                  np.array([0.5, 2.0, 0.5, -np.inf, 1.0])).tolist()
        [1, 0, 2, 1, 0]
    """
    rows = np.asarray(rows)
    score = np.asarray(score)
    n = rows.size
    rank = np.empty(n, dtype=np.int64)
    if n == 0:
        return rank
    if np.any(rows[1:] < rows[:-1]):
        order = lexsort((-score, rows))
        sorted_rows = rows[order]
        rank[order] = np.arange(n) - group_starts(sorted_rows)
        return rank
    start = group_starts(rows)
    pos = np.arange(n) - start
    row_rank = np.cumsum(pos == 0) - 1
    row_bits, pos_bits = int(row_rank[-1]).bit_length(), int(pos.max()).bit_length()
    score32 = score.astype(np.float32)
    if not np.isnan(score32).any() and np.array_equal(score32, score):
        key, key_bits = _ascending_bits(-score32), 32
    else:
        dense, distinct = dense_rank(-score)
        key, key_bits = dense.astype(np.uint64), max(distinct - 1, 0).bit_length()
    if row_bits + key_bits + pos_bits <= 63:
        packed = (row_rank.astype(np.uint64) << np.uint64(key_bits + pos_bits)) | (
            key << np.uint64(pos_bits)
        )
        order = np.argsort(packed | pos.astype(np.uint64))
    else:
        order = lexsort((-score, rows))
    rank[order] = np.arange(n) - start[order]
    return rank
