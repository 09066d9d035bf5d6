"""The partition-then-count scheme (Savasere, Omiecinski & Navathe, 1995) on baskets in parts.

Exact frequent itemsets of baskets spread over P parts, with basketlens' C miner:

1. each part i of n_i baskets (N in all) is mined with the local threshold ⌈s·n_i/N⌉ (s the
   global ``min_count``): an itemset with at least s baskets overall has at least that many
   in some part, so the union of the local results holds every frequent one;
2. every candidate of that union is counted exactly in every part
   (:func:`count_candidates`), and those with at least s baskets in all are kept.

The union of downward-closed sets is downward closed, so each candidate's prefix (its codes
but the last, ascending) is a candidate too: counting walks the candidates in lexicographic
order and intersects the prefix's basket list with the last item's (sorted tid-lists,
``searchsorted``), one intersection per candidate.

:class:`PartitionThenCount` runs the scheme through a ``run`` function that applies a
function to the :class:`~basketlens.mining.counts.MatrixCounts` of every part and returns the
results (on Spark, one task per partition; in the tests, a list of matrices), and answers
every threshold at or above the lowest one mined from the counts it already has: the frequent
itemsets at ``mc`` are those counted at any lower threshold with at least ``mc`` baskets. So
the local threshold search, probing thresholds downward, costs one pass per new low.

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

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any, Protocol

import numpy as np
import polars as pl

from basketlens.errors import MiningBudgetError
from basketlens.mining.counts import BasketCounts, CustomerPairs, MatrixCounts
from basketlens.mining.encode import BasketMatrix
from basketlens.mining.itemsets import Itemsets, MatrixShape, resolve_min_count

logger = logging.getLogger(__name__)

__all__ = [
    "LOCAL_BUDGET_FACTOR",
    "MIN_LOCAL_COUNT",
    "PartitionThenCount",
    "Parts",
    "PartsCounts",
    "ask",
    "count_candidates",
    "local_min_count",
    "unique_itemsets",
]


class Parts(Protocol):
    """Baskets held in parts that hold whole customers: calling it with ``(n_parts, func,
    args)`` gives ``func(counts, *args)`` for the :class:`MatrixCounts` of every non-empty
    part of the baskets cut into (about) ``n_parts`` parts, as a list; ``partitions``: the
    parts of the passes that add counts up."""

    partitions: int

    def __call__(
        self, n_parts: int, func: Callable[..., Any], args: tuple[Any, ...] = ()
    ) -> list[Any]: ...


#: A part's threshold is kept at least this high (fewer parts at low thresholds): below it a
#: part's local search finds far more candidates than the global one keeps.
MIN_LOCAL_COUNT = 4
#: A part may find this many times the itemset budget (candidates) before the pass gives up.
LOCAL_BUDGET_FACTOR = 4


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


def local_itemsets(
    part: MatrixCounts,
    min_count: int,
    n_total: int,
    max_len: int | None,
    budget: int | None,
    max_memory: int | None,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray] | None:
    """Phase 1 in one part: (baskets, flat, offsets, counts) of its frequent itemsets at the
    scaled threshold; None when it found more than ``budget``."""
    local = local_min_count(min_count, part.n_baskets, n_total)
    try:
        found = part.itemsets(
            min_count=local, max_len=max_len, max_itemsets=budget, max_memory=max_memory
        )
    except MiningBudgetError:
        return None
    flat, offsets, counts = found.frequent_arrays()
    return part.n_baskets, flat.astype(np.int32), offsets.astype(np.int64), counts


def part_counts(part: MatrixCounts, flat: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Phase 2 in one part: the count of every candidate among its baskets."""
    return count_candidates(part.matrix, flat, offsets)


@dataclass(frozen=True)
class _Mined:
    min_count: int
    flat: np.ndarray
    offsets: np.ndarray
    counts: np.ndarray


def _keep(flat: np.ndarray, offsets: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, ...]:
    lengths = np.diff(offsets)[keep]
    new_off = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_off[1:])
    return flat[np.repeat(keep, np.diff(offsets))], new_off


def _concat(found: Sequence[tuple[int, np.ndarray, np.ndarray, Any]]) -> tuple[np.ndarray, ...]:
    flats, offs = [], [np.zeros(1, dtype=np.int64)]
    base = 0
    for _, flat, offsets, _ in found:
        flats.append(flat)
        offs.append(offsets[1:] + base)
        base += len(flat)
    flat = np.concatenate(flats) if flats else np.zeros(0, dtype=np.int32)
    return flat.astype(np.int32), np.concatenate(offs)


class PartitionThenCount:
    """Exact frequent itemsets of ``n_baskets`` baskets held in parts (see the module
    docstring); ``partitions``: the most parts a pass uses; ``max_len`` as in mining."""

    def __init__(
        self,
        items: tuple[str, ...],
        n_baskets: int,
        run: Parts | Callable[..., list[Any]],
        *,
        partitions: int,
        max_len: int | None,
    ) -> None:
        self.items, self.n_baskets, self.run = items, n_baskets, run
        self.partitions, self.max_len = partitions, max_len
        self.mined: _Mined | None = None
        self.exceeded: list[tuple[int, int]] = []  # (budget, min_count) of passes that gave up
        self.passes: list[dict[str, Any]] = []

    def _mine(self, mc: int, budget: int | None, max_memory: int | None) -> bool:
        """One pass at ``mc``; False when a part exceeded its candidate budget."""
        t0 = time.perf_counter()
        n_parts = max(1, min(self.partitions, mc // MIN_LOCAL_COUNT, self.n_baskets))
        local_budget = None if budget is None else LOCAL_BUDGET_FACTOR * budget
        found = self.run(
            n_parts, local_itemsets, (mc, self.n_baskets, self.max_len, local_budget, max_memory)
        )
        if any(f is None for f in found):
            if budget is not None:
                self.exceeded.append((budget, mc))
            self.passes.append({"min_count": mc, "partitions": n_parts, "exceeded": True})
            return False
        if len(found) == 1 and found[0][0] == self.n_baskets:  # one part: its counts are exact
            _, flat, offsets, counts = found[0]
            counts = np.asarray(counts, dtype=np.int64)
        else:
            flat, offsets = unique_itemsets(*_concat(found))
            counts = np.zeros(len(offsets) - 1, dtype=np.int64)
            for part in self.run(n_parts, part_counts, (flat, offsets)):
                counts += part
        keep = counts >= mc
        kept_flat, kept_off = _keep(flat, offsets, keep)
        self.mined = _Mined(mc, kept_flat, kept_off, counts[keep])
        self.passes.append(
            {
                "min_count": mc,
                "partitions": n_parts,
                "candidates": len(counts),
                "frequent": int(keep.sum()),
                "seconds": round(time.perf_counter() - t0, 3),
            }
        )
        logger.info(
            "partition-then-count at min_count=%d over %d parts: %d candidates, %d frequent",
            mc,
            n_parts,
            len(counts),
            int(keep.sum()),
        )
        return True

    def frequent(
        self, mc: int, budget: int | None, max_memory: int | None = None
    ) -> tuple[np.ndarray, ...] | None:
        """(flat, offsets, counts) of the itemsets with at least ``mc`` baskets; None when
        there are more than ``budget``."""
        # a pass that gave up at (b, m) gives up at any lower threshold with a smaller budget
        if budget is not None and any(mc <= m and budget <= b for b, m in self.exceeded):
            return None
        if (self.mined is None or self.mined.min_count > mc) and not self._mine(
            mc, budget, max_memory
        ):
            return None
        assert self.mined is not None
        keep = self.mined.counts >= mc
        if budget is not None and int(keep.sum()) > budget:
            return None
        flat, offsets = _keep(self.mined.flat, self.mined.offsets, keep)
        return flat, offsets, self.mined.counts[keep]

    def itemsets(
        self,
        *,
        min_count: int | None = None,
        min_support: float | None = None,
        max_len: int | None = None,
        max_itemsets: int | None = None,
        max_memory: int | None = None,
    ) -> Itemsets:
        """The frequent itemsets as an :class:`Itemsets` (as ``mine_itemsets`` returns them)."""
        if max_len != self.max_len:
            raise ValueError(f"mined with max_len={self.max_len}; asked for max_len={max_len}")
        mc = resolve_min_count(self.n_baskets, min_support=min_support, min_count=min_count)
        arrays = self.frequent(mc, max_itemsets, max_memory)
        if arrays is None:
            what = (
                "the itemset search of a part would exceed max_memory"
                if max_itemsets is None
                else f"more than max_itemsets={max_itemsets:,} frequent itemsets"
            )
            raise MiningBudgetError(
                f"{what} at min_count={mc} of {self.n_baskets:,} baskets; raise min_support, "
                "set max_len, or raise max_itemsets"
            )
        flat, offsets, counts = arrays
        info = {
            "algorithm": "partition-then-count (C miner per part)",
            "target": "all",
            "min_count": mc,
            "min_support": min_support,
            "max_len": self.max_len,
            "n_baskets": self.n_baskets,
            "n_items": len(self.items),
            "n_itemsets": len(counts),
            "n_frequent": len(counts),
            "elapsed_s": sum(p.get("seconds", 0.0) for p in self.passes),
            "fingerprint": None,
            "passes": list(self.passes),
        }
        return Itemsets(
            matrix=MatrixShape(self.items, self.n_baskets),  # type: ignore[arg-type]
            min_count=mc,
            min_support=min_support,
            target="all",
            all_arrays=(flat.astype(np.int32), offsets.astype(np.int64), counts.astype(np.int64)),
            keep=None,
            info=info,
        )


def ask(part: MatrixCounts, method: str, *args: Any) -> Any:
    """``part.<method>(*args)``: what a part answers in a pass that adds counts up."""
    return getattr(part, method)(*args)


class PartsCounts(BasketCounts):
    """:class:`~basketlens.mining.counts.BasketCounts` of baskets held in parts that hold
    whole customers: every count is the sum of the parts' local counts (customers too, as no
    customer is in two parts), the frequent itemsets come from :class:`PartitionThenCount`.

    ``parts``: the :class:`Parts` (on Spark, one scope's basket rows); ``items``: the
    vocabulary; ``item_counts``: when already counted (else one pass).
    """

    def __init__(
        self,
        parts: Parts,
        items: tuple[str, ...],
        n_baskets: int,
        *,
        item_counts: np.ndarray | None = None,
    ) -> None:
        self.parts, self.items, self.n_baskets = parts, items, n_baskets
        self._item_counts = item_counts
        self._son: dict[int | None, PartitionThenCount] = {}

    def __repr__(self) -> str:
        return f"PartsCounts(n_baskets={self.n_baskets}, n_items={self.n_items})"

    @property
    def has_units(self) -> bool:
        return True

    def _sum(self, method: str, *args: Any, size: int) -> np.ndarray:
        total = np.zeros(size, dtype=np.int64)
        for part in self.parts(self.parts.partitions, ask, (method, *args)):
            total += part
        return total

    def item_counts(self) -> np.ndarray:
        if self._item_counts is None:
            self._item_counts = self._sum("item_counts", size=self.n_items)
        return self._item_counts

    def itemsets(
        self,
        *,
        min_count: int | None = None,
        min_support: float | None = None,
        max_len: int | None = None,
        max_itemsets: int | None = None,
        max_memory: int | None = None,
    ) -> Itemsets:
        if max_len not in self._son:
            self._son[max_len] = PartitionThenCount(
                self.items,
                self.n_baskets,
                self.parts,
                partitions=self.parts.partitions,
                max_len=max_len,
            )
        return self._son[max_len].itemsets(
            min_count=min_count,
            min_support=min_support,
            max_len=max_len,
            max_itemsets=max_itemsets,
            max_memory=max_memory,
        )

    def passes(self) -> list[dict[str, Any]]:
        """Every partition-then-count pass so far (for the run record)."""
        return [p for son in self._son.values() for p in son.passes]

    def customer_counts(self, itemsets: pl.Series) -> np.ndarray:
        if len(itemsets) == 0:
            return np.zeros(0, dtype=np.int64)
        return self._sum("customer_counts", itemsets, size=len(itemsets))

    def pair_counts(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        if len(i) == 0:
            return np.zeros(0, dtype=np.int64)
        return self._sum("pair_counts", np.asarray(i), np.asarray(j), size=len(i))

    def customer_pairs(self, i: np.ndarray, j: np.ndarray) -> CustomerPairs | None:
        zero = np.zeros(len(i), dtype=np.int64)
        args = ("customer_pairs", np.asarray(i), np.asarray(j))
        parts = self.parts(self.parts.partitions, ask, args)
        return reduce(lambda a, b: a + b, parts, CustomerPairs(zero, zero, zero, 0))
