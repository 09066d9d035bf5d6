"""Threshold help: find the ``min_count`` for ``target_rules`` rules, or the lowest one that
stays within the blow-up guard ``max_rules``.

The number of rules can only fall as ``min_count`` rises, so a binary search over integer
counts (between 2 and the second-highest item count, beyond which no pair is frequent) finds
the boundary. Each probe mines with an itemset budget and counts rules without building
tables — with the rule filters of the same :class:`MiningOptions` the final rules use
(:func:`~basketlens.mining.rules.rule_filters`); a probe that exceeds the budget counts as
"too many rules", so the search never runs away on a low threshold. Every probe is recorded
(for ``run.json``). :func:`basketlens.mining.mine.mine_rules` calls the search.

Two goals: with ``target_rules`` the count closest to that many rules (a fixed number of
rules, whatever the data say); with only ``max_rules`` the **lowest** count whose rules stay
within the guard — mining as deep as is safe and letting pruning and significance decide how
many rules are worth reporting (the ``run`` profile).

Example:
    >>> baskets = [["a", "b"]] * 6 + [["a", "c"]] * 3 + [["b", "c"]] * 2
    >>> s = suggest_min_count(baskets, target_rules=2, min_confidence=0.5)
    >>> s.min_count, s.n_rules
    (6, 2)
    >>> g = suggest_min_count(baskets, target_rules=None, max_rules=4, min_confidence=0.5)
    >>> g.min_count, g.n_rules, g.goal
    (2, 3, 'the most rules within max_rules=4')
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from basketlens._validation import check_interval
from basketlens.errors import MiningBudgetError, ParameterError
from basketlens.mining.counts import BasketCounts, as_counts
from basketlens.mining.encode import BasketMatrix
from basketlens.mining.itemsets import Itemsets
from basketlens.mining.options import MiningOptions
from basketlens.mining.rules import rule_filters, rule_splits
from basketlens.mining.splits import Splits

logger = logging.getLogger(__name__)

__all__ = ["SEARCH_BUDGET", "ThresholdProbe", "ThresholdSearch", "suggest_min_count"]

#: Itemset budget of every probe when the options set none (``max_itemsets=None``).
SEARCH_BUDGET = 5_000_000
#: The guard search gives up on a probe beyond this many itemsets per allowed rule (a count
#: whose itemsets are that many is too low to be safe, whatever its rule count).
GUARD_ITEMSETS_PER_RULE = 10


@dataclass(frozen=True)
class ThresholdProbe:
    """One mining run of the search; counts are None when the itemset budget was hit."""

    min_count: int
    n_itemsets: int | None
    n_rules: int | None
    budget_exceeded: bool
    seconds: float


@dataclass(frozen=True)
class ThresholdSearch:
    """The chosen ``min_count`` (and its support), its rule count and every probe."""

    min_count: int
    min_support: float
    n_rules: int
    n_itemsets: int
    target_rules: int | None
    n_baskets: int
    probes: tuple[ThresholdProbe, ...]
    note: str
    max_rules: int | None = None
    #: the itemsets of the chosen probe, for the final rules (not part of the record)
    itemsets: Itemsets | None = field(default=None, repr=False, compare=False)
    #: the rule candidates of those itemsets (the final rules are built from them)
    splits: Splits | None = field(default=None, repr=False, compare=False)

    @property
    def goal(self) -> str:
        """What the search aimed at, in words."""
        if self.target_rules is not None:
            return f"about {self.target_rules:,} rules"
        return f"the most rules within max_rules={self.max_rules:,}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record (``run.json``)."""
        record = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("itemsets", "splits")
        }
        record["probes"] = [asdict(p) for p in self.probes]
        return {**record, "goal": self.goal}


def _probe(
    counts: BasketCounts,
    min_count: int,
    options: MiningOptions,
    budget: int,
    base: tuple[Itemsets, Splits] | None = None,
) -> tuple[ThresholdProbe, tuple[Itemsets, Splits] | None]:
    """Mine at ``min_count`` and count the rules; with ``base`` (all frequent itemsets at a
    lower count and their rule candidates) both are read off it instead of mined and split
    again (they are the same). Returns the probe and, when mined, the itemsets and splits."""
    t0 = time.perf_counter()
    if base is not None:
        itemsets, splits = base
        n_itemsets = int((itemsets.frequent_arrays()[2] >= min_count).sum())
        n_rules = len(splits.at_least(min_count))
        probe = ThresholdProbe(
            min_count, n_itemsets, n_rules, False, round(time.perf_counter() - t0, 6)
        )
        logger.debug("threshold probe %s (from a lower count)", probe)
        return probe, None
    try:
        its = counts.itemsets(
            min_count=min_count,
            max_len=options.max_len,
            max_itemsets=budget,
            max_memory=options.max_memory,
        )
    except MiningBudgetError:
        probe = ThresholdProbe(min_count, None, None, True, round(time.perf_counter() - t0, 6))
        mined = None
    else:
        mined = its, rule_splits(its, **rule_filters(options))
        probe = ThresholdProbe(
            min_count, len(its), len(mined[1]), False, round(time.perf_counter() - t0, 6)
        )
    logger.debug("threshold probe %s", probe)
    return probe, mined


def _bounds(
    matrix: BasketMatrix | BasketCounts, min_len: int, given: tuple[int, int] | None
) -> tuple[int, int]:
    """(lowest, highest) min_count searched: by default 2 .. the second-highest item count."""
    if given is None:
        counts = np.sort(np.asarray(matrix.item_counts(), dtype=np.int64))[::-1]
        top = int(counts[0]) if len(counts) else 1
        second = int(counts[1]) if len(counts) > 1 else top
        hi = max(1, top if min_len <= 1 else second)
        return min(2, hi), hi
    lo, hi = (check_interval("min_count_bounds", int(b), low=1, integer=True) for b in given)
    if lo > hi:
        raise ParameterError(
            f"min_count_bounds must be (low, high) with low <= high; got {tuple(given)}"
        )
    return lo, hi


def suggest_min_count(
    baskets: Any,
    options: MiningOptions | None = None,
    *,
    min_count_bounds: tuple[int, int] | None = None,
    tolerance: float = 0.5,
    max_probes: int = 32,
    **changes: Any,
) -> ThresholdSearch:
    """Search the integer ``min_count`` for ``target_rules`` rules, or, without a target, the
    lowest one whose rules stay within ``max_rules`` (the blow-up guard).

    ``baskets``: anything :func:`~basketlens.mining.encode.to_basket_matrix` accepts, or a
    :class:`~basketlens.mining.counts.BasketCounts` (each probe then asks it for the itemsets).
    ``options`` (default :class:`MiningOptions`, updated by ``changes``, which are its field
    names) gives ``target_rules`` / ``max_rules``, the rule filters, ``max_len`` and the
    itemset budget ``max_itemsets`` of each probe (:data:`SEARCH_BUDGET` when None); its
    ``min_support`` / ``min_count`` are ignored.

    With ``target_rules``: finds the boundary — the highest ``min_count`` giving at least
    ``target_rules`` rules and the next one giving fewer — and prefers the former when its
    rule count is within ``tolerance`` (relative: 0.5 accepts up to 1.5 × target), else the
    nearer of the two. With only ``max_rules``: the lowest ``min_count`` (within a tenth) whose
    probe counts at most ``max_rules`` rules and ``GUARD_ITEMSETS_PER_RULE`` × ``max_rules``
    itemsets.
    Probes are placed at geometric midpoints (rule counts vary over orders of magnitude) and
    the expensive low end is probed only when needed (the guard walks down from the top by
    halves, then bisects). ``min_count_bounds`` defaults to (2, the
    second-highest item count; above it no pair of items is frequent).

    Example:
        >>> s = suggest_min_count([["a", "b"]] * 3 + [["a"]], target_rules=1)
        >>> s.min_count, s.n_rules, len(s.probes) > 0
        (3, 2, True)
    """
    opts = (options or MiningOptions()).updated(changes, source="suggest_min_count").validate()
    target_rules, max_rules = opts.target_rules, opts.max_rules
    if target_rules is None and max_rules is None:
        raise ParameterError(
            "target_rules must be an int in [1, inf) to search (or give max_rules); got None"
        )
    check_interval("tolerance", tolerance, low=0.0)
    check_interval("max_probes", max_probes, low=1, integer=True)
    budget = SEARCH_BUDGET if opts.max_itemsets is None else opts.max_itemsets
    if target_rules is None:
        budget = min(budget, GUARD_ITEMSETS_PER_RULE * max_rules)
    counts = as_counts(baskets)
    n = counts.n_baskets
    lo, hi = _bounds(counts, opts.min_len, min_count_bounds)
    probes: dict[int, ThresholdProbe] = {}
    # the itemsets of the lowest count mined so far: every probe above it reads its itemsets
    # off them (all frequent itemsets at a count are those of a lower count with as many
    # baskets), so only the walk down mines; the bisection and the final rules do not
    lowest: list[tuple[Itemsets, Splits]] = []

    def probe(mc: int) -> ThresholdProbe:
        if mc not in probes:
            base = lowest[0] if lowest and lowest[0][0].min_count <= mc else None
            probes[mc], mined = _probe(counts, mc, opts, budget, base)
            if (
                mined is not None
                and mined[0].target == "all"
                and (not lowest or mc < lowest[0][0].min_count)
            ):
                lowest[:] = [mined]
        return probes[mc]

    def prime(step: int, mc: int, limit: int) -> None:
        # mine at mc ahead of the probes at step and below (at most ``limit`` itemsets), which
        # then read it: none is recorded, and a miss (the limit hit) costs only the itemsets
        # found before it; nothing to do when step can be read off already
        if lowest and lowest[0][0].min_count <= step:
            return
        try:
            its = counts.itemsets(
                min_count=mc,
                max_len=opts.max_len,
                max_itemsets=min(budget, limit),
                max_memory=opts.max_memory,
            )
        except MiningBudgetError:
            return
        if its.target == "all":
            lowest[:] = [(its, rule_splits(its, **rule_filters(opts)))]

    if target_rules is not None:
        chosen, note = _toward_target(probe, probes, lo, hi, target_rules, tolerance, max_probes)
    else:
        chosen, note = _within_guard(probe, probes, lo, hi, max_rules, max_probes, prime)
    final = probe(chosen)
    if final.budget_exceeded:
        raise MiningBudgetError(
            f"even min_count={chosen} exceeds max_itemsets={budget:,}; set max_len or "
            "raise min_count_bounds"
        )
    reuse = lowest[0] if lowest and lowest[0][0].min_count <= chosen else None
    result = ThresholdSearch(
        min_count=chosen,
        min_support=chosen / max(n, 1),
        n_rules=int(final.n_rules or 0),
        n_itemsets=int(final.n_itemsets or 0),
        target_rules=target_rules,
        n_baskets=n,
        probes=tuple(sorted(probes.values(), key=lambda p: p.min_count)),
        note=note,
        max_rules=max_rules,
        itemsets=None if reuse is None else reuse[0].at_least(chosen),
        splits=None if reuse is None else reuse[1].at_least(chosen),
    )
    logger.info(
        "min_count=%d gives %d rules (%s) after %d probes",
        chosen,
        result.n_rules,
        result.goal,
        len(probes),
    )
    return result


def _toward_target(
    probe: Any,
    probes: dict[int, ThresholdProbe],
    lo: int,
    hi: int,
    target_rules: int,
    tolerance: float,
    max_probes: int,
) -> tuple[int, str]:
    """The count nearest ``target_rules`` rules (see :func:`suggest_min_count`), and a note."""

    def enough(mc: int) -> bool:
        p = probe(mc)
        return p.budget_exceeded or (p.n_rules or 0) >= target_rules

    if enough(hi):
        return hi, f"at least {target_rules} rules even at min_count={hi} (upper bound)"
    note = ""
    left, right = lo, hi  # not enough(right); enough(left) is checked only if needed
    while right - left > 1 and len(probes) < max_probes:
        mid = min(right - 1, max(left + 1, round(math.sqrt(left * right))))
        if enough(mid):
            left = mid
        else:
            right = mid
    if right - left > 1:
        note = f"search stopped after max_probes={max_probes}; result approximate"
    above, below = probe(left), probes[right]
    if not enough(left):  # only possible at left == lo
        return left, f"fewer than {target_rules} rules even at min_count={lo}; using it"
    if above.budget_exceeded:
        budget_note = f"min_count={left} exceeds the itemset budget; using {right}"
        return right, note or budget_note
    if (above.n_rules or 0) <= target_rules * (1 + tolerance):
        return left, note
    gap_above = (above.n_rules or 0) - target_rules
    return (left if gap_above <= target_rules - (below.n_rules or 0) else right), note


def _look_ahead(
    before: ThresholdProbe, now: ThresholdProbe, step: int, lo: int, max_rules: int
) -> tuple[int, int] | None:
    """(count, itemset limit) to mine at instead of ``step``, when the walk's growth so far
    (``before`` → ``now``, one halving) says ``step`` fits the guard: the walk then probes
    half of it too (or stops there), so mining half once lets both probes read their itemsets
    off it. The limit (twice the itemsets the growth predicts) bounds a wrong guess.
    None: mine ``step``."""
    if not (before.n_rules and before.n_itemsets and now.n_rules and now.n_itemsets):
        return None
    ahead = max(lo, step // 2)
    rule_growth = now.n_rules / before.n_rules
    item_growth = now.n_itemsets / before.n_itemsets
    if ahead >= step or now.n_rules * rule_growth > max_rules:
        return None
    return ahead, int(2 * now.n_itemsets * item_growth**2) + 1


def _within_guard(
    probe: Any,
    probes: dict[int, ThresholdProbe],
    lo: int,
    hi: int,
    max_rules: int,
    max_probes: int,
    prime: Any = None,
) -> tuple[int, str]:
    """The lowest count whose probe fits the guard (see :func:`suggest_min_count`), a note.

    ``prime(step, count, limit)``, when given, mines ahead at a lower count the walk down is
    expected to reach (:func:`_look_ahead`); the probes are the same, only read off it.
    """

    def fits(mc: int) -> bool:
        p = probe(mc)
        return not p.budget_exceeded and (p.n_rules or 0) <= max_rules

    if not fits(hi):
        return hi, f"more than max_rules={max_rules:,} rules even at min_count={hi} (upper bound)"
    # walk down by halves from the cheap high end; only the probes near the boundary are dear
    right, walked = hi, [probes[hi]]
    while right > lo and len(probes) < max_probes:
        step = max(lo, right // 2)
        ahead = None if prime is None or len(walked) < 2 else _look_ahead(
            walked[-2], walked[-1], step, lo, max_rules
        )  # fmt: skip
        if ahead is not None and step not in probes:
            prime(step, *ahead)
        if not fits(step):
            break
        right = step
        walked.append(probes[step])
    if right == lo:
        return lo, ""
    left = max(lo, right // 2)  # not fits(left), fits(right)
    # a guard needs no exact boundary: stop within a tenth of it
    while right - left > max(1, left // 10) and len(probes) < max_probes:
        mid = min(right - 1, max(left + 1, round(math.sqrt(left * right))))
        if fits(mid):
            right = mid
        else:
            left = mid
    note = f"min_count={left} would exceed the guard (max_rules={max_rules:,})"
    if right - left > max(1, left // 10):
        note = f"search stopped after max_probes={max_probes}; result approximate"
    return right, note
