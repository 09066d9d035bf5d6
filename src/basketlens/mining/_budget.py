"""The memory budget of the compiled kernel and stopping running kernels.

``max_memory`` (:class:`~basketlens.mining.options.MiningOptions`) is the most memory the
process may use while an itemset search runs; by default the memory in use when the search
starts plus half of the memory the machine has available then. The kernel charges every
buffer of the search and of its output to the budget *before* allocating it, so it stops
with :class:`~basketlens.errors.MiningBudgetError` instead of growing until the system kills
it. Several searches running at once (scopes mined in threads) share one budget.

Example:
    >>> limit, budget = kernel_allowance(2 * 1024**3)
    >>> 0 <= limit <= budget == 2 * 1024**3
    True
    >>> format_bytes(1536 * 1024**2)
    '1.5 GiB'
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, wait
from pathlib import Path
from typing import TypeVar

from basketlens.mining._kernel import core

log = logging.getLogger(__name__)

__all__ = [
    "ITEMSET_BYTES",
    "available_memory",
    "certain_explosion",
    "default_max_memory",
    "format_bytes",
    "interruptible_map",
    "kernel_allowance",
    "process_memory",
]

#: Used when the system does not say how much memory is available.
FALLBACK_AVAILABLE = 4 << 30
#: Output bytes of one itemset besides its item codes (an offset and a count).
ITEMSET_BYTES = 16
#: Longest wait of the main thread for worker threads between looks for signals.
WAIT_SECONDS = 0.1

T = TypeVar("T")
R = TypeVar("R")


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux ``MemAvailable``), or None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def process_memory() -> int | None:
    """Resident memory of this process in bytes (Linux ``/proc/self/statm``), or None."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def default_max_memory() -> int:
    """The default budget: memory in use now plus half of the memory available now."""
    available = available_memory() or FALLBACK_AVAILABLE
    return (process_memory() or 0) + available // 2


def kernel_allowance(max_memory: int | None) -> tuple[int, int]:
    """``(bytes the kernels may hold together, the process budget)`` for a search now.

    The process's memory outside the kernels (Python, the baskets) is taken from the budget.
    """
    budget = default_max_memory() if max_memory is None else int(max_memory)
    in_kernels = core.memory_in_use() if core is not None else 0
    outside = max((process_memory() or 0) - in_kernels, 0)
    return max(budget - outside, 0), budget


def format_bytes(n: float) -> str:
    """Bytes in binary units, e.g. ``'512.0 MiB'``.

    Example:
        >>> format_bytes(3 * 1024**3)
        '3.0 GiB'
    """
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def interruptible_map(pool: Executor, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``list(pool.map(fn, items))`` that Ctrl-C stops at once.

    The main thread waits in short slices, so a signal is handled within
    :data:`WAIT_SECONDS` (a thread blocked on a lock is not woken by Ctrl-C once Polars'
    threads run); on an exception in the main thread the tasks not started are cancelled and
    the running kernels stopped (``_core.interrupt()``: they raise within ~50 ms). An error in
    a task is raised, as by ``map``, in the order of ``items`` once every task has ended.

    Example:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> with ThreadPoolExecutor(2) as pool:
        ...     interruptible_map(pool, abs, [-1, 2, -3])
        [1, 2, 3]
    """
    futures = [pool.submit(fn, item) for item in items]
    try:
        while wait(futures, timeout=WAIT_SECONDS).not_done:
            pass
    except BaseException:  # Ctrl-C or SIGTERM reached the main thread
        for future in futures:
            future.cancel()
        if core is not None:
            core.interrupt()
        raise
    return [f.result() for f in futures]


def certain_explosion(
    longest_basket: int, min_count: int, max_len: int | None, max_itemsets: int | None, limit: int
) -> str | None:
    """What certainly exceeds a budget before any search, or None.

    At ``min_count=1`` every combination of a basket's items is frequent, so a basket of
    ``k`` items alone gives ``C(k, 1) + … + C(k, max_len)`` itemsets (``2**k - 1`` without
    ``max_len``) and at least their item codes in bytes. Counting stops as soon as a budget
    is passed, so a 20,000-item basket is judged at once.

    Example:
        >>> certain_explosion(40, 1, None, 5_000_000, 1 << 30)
        'more than max_itemsets=5,000,000 frequent itemsets'
        >>> certain_explosion(10, 1, None, 5_000_000, 1 << 30) is None
        True
    """
    if min_count != 1 or longest_basket <= 0:
        return None
    longest = longest_basket if max_len is None else min(longest_basket, max_len)
    n_sets = n_bytes = 0
    combinations = 1
    for length in range(1, longest + 1):
        combinations = combinations * (longest_basket - length + 1) // length
        n_sets += combinations
        n_bytes += combinations * (4 * length + ITEMSET_BYTES)
        if max_itemsets is not None and n_sets > max_itemsets:
            return f"more than max_itemsets={max_itemsets:,} frequent itemsets"
        if n_bytes > limit:
            return f"more than {format_bytes(limit)} for the itemsets alone"
    return None
