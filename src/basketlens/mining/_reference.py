"""The pure-Python reference miner: the oracle for the compiled kernel, and its stand-in when
the extension is missing.

The functions have the signatures of ``basketlens.mining._core`` (``mine``, ``build_index``,
``lookup``, ``closed_maximal``), so :mod:`basketlens.mining.itemsets` calls either through the
same code. Eclat on Python-int bitsets: slow, and simple enough to trust.

Example:
    >>> import numpy as np
    >>> flat, offsets, counts, complete = mine(
    ...     np.array([0, 2, 3]), np.array([0, 1, 0], np.int32), 2, 1, 0, -1, 0)
    >>> flat.tolist(), offsets.tolist(), counts.tolist(), complete
    ([1, 0, 1, 0], [0, 1, 3, 4], [1, 1, 2], True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["build_index", "closed_maximal", "lookup", "mine"]

#: Index of the reference miner: coded itemset (codes ascending) -> position in the arrays.
ReferenceIndex = dict[tuple[int, ...], int]


def mine(
    indptr: np.ndarray,
    indices: np.ndarray,
    n_items: int,
    min_count: int,
    max_len: int,
    max_itemsets: int,
    strategy: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """All frequent itemsets as ``(flat, offsets, counts, complete)``, like ``_core.mine``.

    ``max_len`` 0 = no limit; ``max_itemsets`` -1 = no budget; ``strategy`` is ignored (one
    algorithm). Items are extended in ascending frequency, as the kernel does.
    """
    n = len(indptr) - 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    counts = np.bincount(indices, minlength=n_items)
    order = sorted((c, i) for i in range(n_items) if (c := int(counts[i])) >= min_count)
    top = []
    for c, i in order:
        bits = np.zeros(n, dtype=np.uint8)
        bits[rows[indices == i]] = 1
        top.append((i, int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little"), c))
    out_sets: list[tuple[int, ...]] = []
    out_counts: list[int] = []
    depth_max = max_len if max_len > 0 else n_items + 1

    def dfs(prefix: tuple[int, ...], ext: list[tuple[int, int, int]]) -> bool:
        for k, (i, bits, c) in enumerate(ext):
            if len(out_counts) == max_itemsets:
                return False
            itemset = (*prefix, i)
            out_sets.append(itemset)
            out_counts.append(c)
            if len(itemset) < depth_max:
                child = []
                for j, bj, _ in ext[k + 1 :]:
                    b = bits & bj
                    cnt = b.bit_count()
                    if cnt >= min_count:
                        child.append((j, b, cnt))
                if child and not dfs(itemset, child):
                    return False
        return True

    complete = dfs((), top)
    lengths = np.array([len(s) for s in out_sets], dtype=np.int64)
    offsets = np.zeros(len(out_sets) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.array([c for s in out_sets for c in sorted(s)], dtype=np.int32)
    return flat, offsets, np.array(out_counts, dtype=np.int64), complete


def build_index(flat: np.ndarray, offsets: np.ndarray) -> ReferenceIndex:
    """Coded itemset -> its position (the kernel returns a hash table instead)."""
    fl = flat.tolist()
    return {
        tuple(fl[a:b]): k
        for k, (a, b) in enumerate(zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True))
    }


def lookup(
    flat: np.ndarray,
    offsets: np.ndarray,
    counts: np.ndarray,
    index: ReferenceIndex,
    query_flat: np.ndarray,
    query_offsets: np.ndarray,
) -> np.ndarray:
    """Count of each queried itemset (codes in any order); -1 when not among the itemsets."""
    fl = query_flat.tolist()
    found = [
        index.get(tuple(sorted(fl[a:b])), -1)
        for a, b in zip(query_offsets[:-1].tolist(), query_offsets[1:].tolist(), strict=True)
    ]
    return np.array([-1 if k < 0 else int(counts[k]) for k in found], dtype=np.int64)


def closed_maximal(
    flat: np.ndarray, offsets: np.ndarray, counts: np.ndarray, index: ReferenceIndex
) -> tuple[np.ndarray, np.ndarray]:
    """``(closed, maximal)`` masks: no one-item extension with the same count / at all."""
    closed = np.ones(len(counts), dtype=bool)
    maximal = np.ones(len(counts), dtype=bool)
    for s, k in index.items():
        for d in range(len(s) if len(s) > 1 else 0):
            j = index[s[:d] + s[d + 1 :]]
            maximal[j] = False
            if counts[j] == counts[k]:
                closed[j] = False
    return closed, maximal
