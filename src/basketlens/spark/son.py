"""The partition-then-count scheme (Savasere, Omiecinski & Navathe, 1995) on basket partitions.

Exact frequent itemsets of baskets spread over P partitions, with basketlens' C miner:

1. each partition i of n_i baskets is mined with the local threshold ⌈s·n_i/N⌉ (N baskets in
   all, s the global ``min_count``): an itemset with at least s baskets overall has at least
   that many in some partition, so the union of the local results holds every frequent one;
2. every candidate of that union is counted exactly in every partition
   (:func:`count_candidates`), and those with at least s baskets in all are kept.

The union of downward-closed sets is downward closed, so each candidate's prefix (its codes
but the last, ascending) is a candidate too: counting walks the candidates in lexicographic
order and intersects the prefix's basket list with the last item's (sorted tid-lists,
``searchsorted``), one intersection per candidate.

Example:
    >>> import numpy as np
    >>> m = BasketMatrix(np.array([0, 2, 3, 5]), np.array([0, 1, 0, 0, 1], np.int32), ("a", "b"))
    >>> flat, offsets = np.array([0, 1, 0, 1], np.int32), np.array([0, 1, 2, 4])
    >>> count_candidates(m, flat, offsets).tolist()
    [3, 2, 2]
    >>> local_min_count(10, 250, 1_000)
    3
"""

from __future__ import annotations

import numpy as np

from basketlens.mining.encode import BasketMatrix

__all__ = ["count_candidates", "local_min_count", "unique_itemsets"]


def local_min_count(min_count: int, n_local: int, n_total: int) -> int:
    """⌈min_count · n_local / n_total⌉ in integers, at least 1."""
    return max(1, -(-min_count * n_local // max(n_total, 1)))


def _grid(flat: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Itemsets as rows of codes padded with -1 (a prefix sorts before its extensions)."""
    lengths = np.diff(offsets)
    n = len(lengths)
    width = int(lengths.max()) if n else 0
    grid = np.full((n, width), -1, dtype=np.int64)
    owner = np.repeat(np.arange(n), lengths)
    grid[owner, np.arange(len(flat)) - np.repeat(offsets[:-1], lengths)] = flat
    return grid, lengths


def unique_itemsets(flat: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct coded itemsets (codes ascending within each), in lexicographic order.

    Example:
        >>> f, o = unique_itemsets(np.array([0, 1, 1, 0, 1], np.int32), np.array([0, 2, 3, 5]))
        >>> f.tolist(), o.tolist()
        ([0, 1, 1], [0, 2, 3])
    """
    if len(offsets) <= 1:
        return np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int64)
    grid, _ = _grid(flat, offsets)
    rows = np.unique(grid, axis=0)
    keep = rows >= 0
    out_off = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=out_off[1:])
    return rows[keep].astype(np.int32), out_off


def _tid_lists(matrix: BasketMatrix, items: np.ndarray) -> dict[int, np.ndarray]:
    """Sorted basket rows of each item code in ``items``."""
    rows = np.repeat(np.arange(matrix.n_baskets, dtype=np.int64), np.diff(matrix.indptr))
    wanted = np.isin(matrix.indices, items)
    codes, rows = matrix.indices[wanted], rows[wanted]
    order = np.argsort(codes, kind="stable")  # rows stay ascending within a code
    codes, rows = codes[order], rows[order]
    bounds = np.searchsorted(codes, items, side="left"), np.searchsorted(codes, items, "right")
    return {int(c): rows[a:b] for c, a, b in zip(items, *bounds, strict=True)}


def count_candidates(matrix: BasketMatrix, flat: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Baskets of ``matrix`` holding each candidate itemset (int64, one per candidate).

    Candidates are coded on the matrix's vocabulary, codes ascending within each, and must be
    downward closed (every prefix present); any order of the candidates is accepted.
    """
    n = len(offsets) - 1
    counts = np.zeros(n, dtype=np.int64)
    if n == 0 or matrix.n_baskets == 0:
        return counts
    grid, lengths = _grid(flat, offsets)
    order = np.lexsort(grid.T[::-1])  # padding (-1) first: a prefix precedes its extensions
    tids = _tid_lists(matrix, np.unique(flat).astype(np.int32))
    stack: list[tuple[tuple[int, ...], np.ndarray]] = []
    for idx in order.tolist():
        codes = tuple(grid[idx, : lengths[idx]].tolist())
        while stack and stack[-1][0] != codes[:-1]:
            stack.pop()
        last = tids[codes[-1]]
        if len(codes) == 1:
            rows = last
        elif stack:
            prefix = stack[-1][1]
            if len(prefix) == 0 or len(last) == 0:
                rows = prefix[:0]
            else:
                pos = np.minimum(np.searchsorted(last, prefix), len(last) - 1)
                rows = prefix[last[pos] == prefix]
        else:
            raise ValueError(f"candidate {codes} has no prefix among the candidates")
        counts[idx] = len(rows)
        stack.append((codes, rows))
    return counts
