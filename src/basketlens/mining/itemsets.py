"""Frequent itemset mining: ``mine_itemsets`` and the :class:`Itemsets` result.

The search runs in the compiled kernel ``basketlens.mining._core``: depth-first Eclat over
the frequent items recoded by ascending frequency; each branch builds its children's tid-lists
by pairwise merges or by occurrence deliver over its baskets (whichever a cost model says is
cheaper) and continues on diffsets (dEclat) when it is dense.

The kernel always mines *all* frequent itemsets; ``target="closed"`` and ``"maximal"`` filter
them with a hash table (closed: no one-item extension with the same count; maximal: no
frequent one-item extension; both judged among the itemsets up to ``max_len``).
The full set is kept privately so :meth:`Itemsets.lookup_counts` can answer for any frequent
itemset — rule generation needs the counts of every antecedent and consequent.

Thresholds are compared on integer counts: ``min_count = ceil(min_support × n_baskets)``
computed exactly on the decimal value of ``min_support`` (0.001 × 9835 → 10, 0.5 × 10 → 5).

Example:
    >>> its = mine_itemsets([["a", "b"], ["a", "b", "c"], ["a"]], min_count=2)
    >>> its.table.select("itemset", "count").rows()
    [(['a'], 3), (['b'], 2), (['a', 'b'], 2)]
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from types import ModuleType
from typing import Any, Literal

import numpy as np
import polars as pl
import pyarrow as pa

from basketlens._validation import check_interval, check_option
from basketlens.errors import InputError, MiningBudgetError, ParameterError
from basketlens.mining import _reference
from basketlens.mining._budget import certain_explosion, format_bytes, kernel_allowance
from basketlens.mining._kernel import core as _core
from basketlens.mining.encode import BasketMatrix, to_basket_matrix
from basketlens.mining.rules import Rules, generate_rules

logger = logging.getLogger(__name__)

__all__ = ["ALGORITHMS", "TARGETS", "Itemsets", "mine_itemsets", "resolve_min_count"]

TARGETS = ("all", "closed", "maximal")
#: auto: per branch, tid-lists by pairwise merge or by occurrence deliver (cost model), and
#: diffsets for dense branches; eclat: tid-lists by merging only; declat: diffsets from depth 2;
#: occurrence: tid-lists by occurrence deliver only; python: the slow pure-Python reference
#: (:mod:`basketlens.mining._reference`; tests, or when the extension is missing). All give
#: identical itemsets.
ALGORITHMS = ("auto", "eclat", "declat", "occurrence", "python")
#: algorithm name -> the kernel's strategy value (the kernel names its strategies in order)
_STRATEGY = {name: k for k, name in enumerate(_core.STRATEGIES)} if _core is not None else {}
#: the kernel that indexes and looks up itemsets (whatever algorithm mined them)
_INDEXER: ModuleType = _core if _core is not None else _reference


def resolve_min_count(
    n_baskets: int, *, min_support: float | None = None, min_count: int | None = None
) -> int:
    """Validate the threshold and return it as a basket count (exactly one must be given).

    Example:
        >>> resolve_min_count(9835, min_support=0.001), resolve_min_count(10, min_support=0.5)
        (10, 5)
    """
    if (min_support is None) == (min_count is None):
        raise ParameterError(
            "give exactly one of min_support and min_count; got "
            f"min_support={min_support!r}, min_count={min_count!r}"
        )
    if min_count is not None:
        return int(check_interval("min_count", min_count, low=1, integer=True))
    check_interval("min_support", min_support, low=0.0, high=1.0, closed="right")
    # exact decimal value of what the user wrote (repr), so 0.001 × 9835 = 9.835 → 10
    frac = Fraction(repr(float(min_support))) * n_baskets
    return max(1, math.ceil(frac))


def _fingerprint(m: BasketMatrix) -> str:
    """A hash of the baskets, computed once per matrix (the threshold search mines one
    matrix many times)."""
    cached = m.__dict__.get("_fingerprint")
    if cached is not None:
        return cached
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(m.indptr, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(m.indices, dtype=np.int32).tobytes())
    h.update("\x1f".join(m.items).encode("utf-8"))
    m.__dict__["_fingerprint"] = digest = "blake2b:" + h.hexdigest()
    return digest


def _suggest_support(m: BasketMatrix, min_count: int) -> float:
    """A higher support likely to fit the budget: halve the number of frequent items."""
    counts = np.sort(m.item_counts())[::-1]
    n_freq = int((counts >= min_count).sum())
    target = counts[max(n_freq // 2 - 1, 0)] if n_freq else min_count
    suggested = max(2 * min_count, int(target))
    support = suggested / max(m.n_baskets, 1)
    digits = max(0, -math.floor(math.log10(support)) + 1)
    return min(1.0, math.ceil(support * 10**digits) / 10**digits)


@dataclass(frozen=True)
class MatrixShape:
    """What :class:`Itemsets` reads from a basket matrix: the vocabulary and the basket count
    (for itemsets counted elsewhere, or derived from other itemsets)."""

    items: tuple[str, ...]
    n_baskets: int


class Itemsets:
    """Frequent itemsets of a basket matrix (see :func:`mine_itemsets`).

    ``table`` has columns itemset (sorted ``list<str>``), count, support, length, sorted by
    length, count descending, itemset. ``codes_flat``/``offsets``/``counts`` are the same
    itemsets as item codes into ``vocabulary`` (each itemset's codes ascending, mining order).

    Example:
        >>> its = mine_itemsets([["a", "b"], ["a"]], min_support=0.5)
        >>> its.lookup_counts(np.array([0, 1], np.int32), np.array([0, 1, 2], np.int64))
        array([2, 1])
    """

    def __init__(
        self,
        *,
        matrix: BasketMatrix,
        min_count: int,
        min_support: float | None,
        target: str,
        all_arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
        keep: np.ndarray | None,
        info: dict[str, Any],
        index: np.ndarray | None = None,
    ) -> None:
        self._all_flat, self._all_offsets, self._all_counts = all_arrays
        self._index: np.ndarray | dict | None = index
        self.vocabulary: tuple[str, ...] = matrix.items
        self.n_baskets: int = matrix.n_baskets
        self.min_count: int = min_count
        self.min_support: float | None = min_support
        self.target: str = target
        self.info: dict[str, Any] = info
        if keep is None:
            self.codes_flat, self.offsets, self.counts = all_arrays
        else:
            lengths = np.diff(self._all_offsets)[keep]
            self.offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
            np.cumsum(lengths, out=self.offsets[1:])
            mask = np.repeat(keep, np.diff(self._all_offsets))
            self.codes_flat = self._all_flat[mask]
            self.counts = self._all_counts[keep]

    def __len__(self) -> int:
        return len(self.counts)

    def at_least(self, min_count: int) -> Itemsets:
        """The itemsets counted in at least ``min_count`` baskets: what mining at that
        ``min_count`` gives (same itemsets, same counts), without mining again. Only for all
        frequent itemsets (``target="all"``) and a ``min_count`` at or above this one's.

        Example:
            >>> its = mine_itemsets([["a", "b"], ["a", "b"], ["a"]], min_count=1)
            >>> its.at_least(2).table.rows()
            [(['a'], 3, 1.0, 1), (['b'], 2, 0.6666666666666666, 1), (['a', 'b'], 2, \
0.6666666666666666, 2)]
        """
        if self.target != "all" or min_count < self.min_count:
            raise ParameterError(
                f"at_least needs all frequent itemsets and min_count >= {self.min_count}; "
                f"got target={self.target!r}, min_count={min_count}"
            )
        t0 = time.perf_counter()
        keep = self._all_counts >= min_count
        lengths = np.diff(self._all_offsets)
        offsets = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
        np.cumsum(lengths[keep], out=offsets[1:])
        arrays = (self._all_flat[np.repeat(keep, lengths)], offsets, self._all_counts[keep])
        n = len(arrays[2])
        info = {**self.info, "min_count": min_count, "min_support": None, "n_itemsets": n,
                "n_frequent": n, "elapsed_s": time.perf_counter() - t0}  # fmt: skip
        return Itemsets(
            matrix=MatrixShape(self.vocabulary, self.n_baskets),  # type: ignore[arg-type]
            min_count=min_count,
            min_support=None,
            target="all",
            all_arrays=arrays,
            keep=None,
            info=info,
        )

    def __repr__(self) -> str:
        return (
            f"Itemsets(n={len(self)}, target={self.target!r}, min_count={self.min_count}, "
            f"n_baskets={self.n_baskets})"
        )

    @cached_property
    def table(self) -> pl.DataFrame:
        """The itemsets as a Polars table (built on first access, sorted in numpy)."""
        n, lengths = len(self.counts), np.diff(self.offsets)
        # rank of each code in the string order of the item ids (FIMI codes are numeric order)
        vocab = pl.Series("item", self.vocabulary, dtype=pl.String)
        by_string = vocab.arg_sort().to_numpy()
        rank = np.empty(len(by_string), dtype=np.int64)
        rank[by_string] = np.arange(len(by_string))
        owner = np.repeat(np.arange(n, dtype=np.int64), lengths)
        ranks = np.sort(owner * max(len(rank), 1) + rank[self.codes_flat]) - owner * max(
            len(rank), 1
        )  # each itemset's items in string order
        # order: length, count descending, then the items lexicographically (same length only)
        width = int(lengths.max()) if n else 0
        grid = np.full((n, width), -1, dtype=np.int64)
        grid[owner, np.arange(len(owner)) - np.repeat(self.offsets[:-1], lengths)] = ranks
        keys = [grid[:, k] for k in range(width - 1, -1, -1)] + [-self.counts, lengths]
        order = np.lexsort(keys) if n else np.zeros(0, dtype=np.int64)
        new_len = lengths[order]
        new_off = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(new_len, out=new_off[1:])
        pos = np.arange(new_off[-1], dtype=np.int64) + np.repeat(
            self.offsets[:-1][order] - new_off[:-1], new_len
        )
        values = vocab.gather(by_string[ranks[pos]]).to_arrow()
        lists = pa.LargeListArray.from_arrays(pa.array(new_off, pa.int64()), values)
        counts = self.counts[order]
        return pl.DataFrame(
            {
                "itemset": pl.Series("itemset", lists).cast(pl.List(pl.String)),
                "count": pl.Series(counts, dtype=pl.Int64),
                # numpy divides exactly (Polars may multiply by the reciprocal)
                "support": pl.Series(counts / max(self.n_baskets, 1), dtype=pl.Float64),
                "length": pl.Series(new_len, dtype=pl.Int32),
            }
        )

    def frequent_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All frequent itemsets as coded ``(flat, offsets, counts)``, whatever the target.

        Rules are generated from these, so closed or maximal mining gives the same rules as
        mining all frequent itemsets.
        """
        return self._all_flat, self._all_offsets, self._all_counts

    def _lookup_index(self) -> Any:
        if self._index is None:
            self._index = _INDEXER.build_index(self._all_flat, self._all_offsets)
        return self._index

    def lookup_counts(self, query_flat: np.ndarray, query_offsets: np.ndarray) -> np.ndarray:
        """Count of each queried coded itemset: -1 when not frequent, n_baskets when empty.

        Queries are item codes (any order) concatenated in ``query_flat`` and delimited by
        ``query_offsets`` (length n_queries + 1). Answers for every frequent itemset, whatever
        the target.
        """
        qf = np.ascontiguousarray(query_flat, dtype=np.int32)
        qo = np.ascontiguousarray(query_offsets, dtype=np.int64)
        if (
            qo.ndim != 1
            or len(qo) < 1
            or qo[0] != 0
            or qo[-1] != len(qf)
            or np.any(np.diff(qo) < 0)
        ):
            raise ParameterError(
                "query_offsets must start at 0, be non-decreasing and end at len(query_flat)"
            )
        index = self._lookup_index()
        out = _INDEXER.lookup(self._all_flat, self._all_offsets, self._all_counts, index, qf, qo)
        out[np.diff(qo) == 0] = self.n_baskets
        return out

    def rules(self, **kwargs: Any) -> Rules:
        """Association rules from these itemsets: ``generate_rules(self, **kwargs)``."""
        return generate_rules(self, **kwargs)


def _run_kernel(
    m: BasketMatrix,
    min_count: int,
    max_len: int | None,
    max_itemsets: int | None,
    algorithm: str,
    max_memory: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    args = (
        np.ascontiguousarray(m.indptr, dtype=np.int64),
        np.ascontiguousarray(m.indices, dtype=np.int32),
        m.n_items,
        min_count,
        0 if max_len is None else max_len,
        -1 if max_itemsets is None else max_itemsets,
    )
    limit, budget = kernel_allowance(max_memory)
    if limit <= 0:
        raise MiningBudgetError(
            f"max_memory={format_bytes(budget)} is less than this process uses already, before "
            "mining; raise max_memory (it bounds the whole process, e.g. 4G)"
        )
    longest = int(np.diff(m.indptr).max()) if m.n_baskets else 0
    certain = certain_explosion(longest, min_count, max_len, max_itemsets, limit)
    if certain is not None:  # judged without searching: one basket's subsets are all frequent
        raise MiningBudgetError(
            f"{certain} at min_count={min_count} of {m.n_baskets:,} baskets: a basket holds "
            f"{longest:,} items and at min_count=1 every combination of them is frequent; set "
            f"max_len (e.g. max_len=4){_higher_support(m, min_count)}"
        )
    if algorithm == "python" or _core is None:
        return _reference.mine(*args, 0)
    try:
        return _core.mine(*args, _STRATEGY[algorithm], max_memory=limit)
    except ValueError as exc:  # the kernel validates the CSR structure
        raise InputError(f"invalid BasketMatrix: {exc}; build it with to_basket_matrix") from None
    except _core.MemoryBudgetExceeded as exc:
        _, peak, found, length = exc.args
        raise MiningBudgetError(
            f"the itemset search would use more than max_memory={format_bytes(budget)} at "
            f"min_count={min_count} of {m.n_baskets:,} baskets (it held {format_bytes(peak)} "
            f"after {found:,} itemsets, the longest of {length:,} items); set max_len "
            f"(e.g. max_len={min(max(length // 2, 2), 5)}){_higher_support(m, min_count)} or "
            "raise max_memory"
        ) from None


def _higher_support(m: BasketMatrix, min_count: int) -> str:
    """``", raise min_support (e.g. …)"`` when a higher support exists, else nothing."""
    suggestion = _suggest_support(m, min_count)
    if suggestion * m.n_baskets <= min_count:
        return ""
    return f", raise min_support (e.g. min_support={suggestion:g})"


def mine_itemsets(
    baskets: Any,
    *,
    min_support: float | None = None,
    min_count: int | None = None,
    target: Literal["all", "closed", "maximal"] = "all",
    max_len: int | None = None,
    max_itemsets: int | None = 5_000_000,
    algorithm: Literal["auto", "eclat", "declat", "occurrence", "python"] = "auto",
    max_memory: int | None = None,
) -> Itemsets:
    """Mine the frequent (or closed / maximal) itemsets of ``baskets``.

    ``baskets`` is anything :func:`to_basket_matrix` accepts. Give exactly one of
    ``min_support`` (fraction of baskets, in (0, 1]) or ``min_count`` (baskets, ≥ 1).
    ``max_itemsets`` caps the number of frequent itemsets: when exceeded, mining stops with
    :class:`MiningBudgetError` suggesting a higher support. ``max_memory`` (bytes; None: the
    memory in use plus half of the available memory) bounds the process's memory during the
    search the same way (:mod:`basketlens.mining._budget`).

    Example:
        >>> its = mine_itemsets([["a", "b"], ["a", "b"], ["a"]], min_count=2, target="closed")
        >>> its.table.select("itemset", "count").rows()
        [(['a'], 3), (['a', 'b'], 2)]
    """
    check_option("target", target, TARGETS)
    check_option("algorithm", algorithm, ALGORITHMS)
    if max_len is not None:
        check_interval("max_len", max_len, low=1, integer=True)
    if max_itemsets is not None:
        check_interval("max_itemsets", max_itemsets, low=1, integer=True)
    m = to_basket_matrix(baskets)
    min_c = resolve_min_count(m.n_baskets, min_support=min_support, min_count=min_count)
    used = "python" if algorithm == "python" or _core is None else algorithm
    if used != algorithm:
        logger.warning("compiled mining core unavailable; using the slow Python reference")
    t0 = time.perf_counter()
    flat, offsets, counts, complete = _run_kernel(m, min_c, max_len, max_itemsets, used, max_memory)
    if not complete:
        suggestion = _suggest_support(m, min_c)
        raise MiningBudgetError(
            f"more than max_itemsets={max_itemsets:,} frequent itemsets at min_count={min_c} "
            f"of {m.n_baskets:,} baskets (stopped after {len(counts):,}); "
            f"raise min_support (e.g. min_support={suggestion:g}), set max_len, "
            "or raise max_itemsets"
        )
    keep = index = None
    if target != "all":
        kernel = _reference if used == "python" else _core
        index = kernel.build_index(flat, offsets)
        closed, maximal = kernel.closed_maximal(flat, offsets, counts, index)
        keep = closed if target == "closed" else maximal
        if kernel is not _INDEXER:
            index = None  # lookups build their own index
    elapsed = time.perf_counter() - t0
    info = {
        "algorithm": used,
        "target": target,
        "min_count": min_c,
        "min_support": min_support,
        "max_len": max_len,
        "n_baskets": m.n_baskets,
        "n_items": m.n_items,
        "n_itemsets": int(len(counts) if keep is None else keep.sum()),
        "n_frequent": len(counts),
        "elapsed_s": elapsed,
        "fingerprint": _fingerprint(m),
    }
    logger.info(
        "mined %d %s itemsets (min_count=%d, %d baskets) in %.3fs",
        info["n_itemsets"],
        target,
        min_c,
        m.n_baskets,
        elapsed,
    )
    return Itemsets(
        matrix=m,
        min_count=min_c,
        min_support=min_support,
        target=target,
        all_arrays=(flat, offsets, counts),
        keep=keep,
        info=info,
        index=index,
    )
