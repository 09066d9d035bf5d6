"""Threshold help at scale: the local search, probing global counts instead of re-mining.

:func:`basketlens.mining.thresholds.suggest_min_count` probes integer ``min_count`` values and
mines at each. On Spark one probe would be a pass over every basket, so a probe is answered
from the exact global counts mined at the lowest threshold asked so far: the frequent itemsets
at ``mc`` are those counted at any ``m0 <= mc`` with a count of at least ``mc``. Only a probe
below every threshold mined so far runs the partition-then-count miner again (the search
descends geometrically, so a handful of passes). The search itself — bounds, geometric
midpoints, tolerance, the budget treated as "too many rules", the notes — is the local one;
:func:`search_min_count` follows ``suggest_min_count`` step for step with the same defaults,
and the parity tests compare the chosen ``min_count`` and every probe with the local search.

Example:
    >>> rules_at = {2: 50, 3: 20, 5: 8, 8: 3, 13: 1}
    >>> probe = lambda mc: ThresholdProbe(mc, 10, rules_at.get(mc, 0), False, 0.0)
    >>> search_min_count(probe, lo=2, hi=13, n_baskets=100, target_rules=8).min_count
    5
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

from basketlens.errors import MiningBudgetError
from basketlens.mining.thresholds import (
    SEARCH_BUDGET,
    ThresholdProbe,
    ThresholdSearch,
    suggest_min_count,
)

__all__ = ["MAX_PROBES", "SEARCH_BUDGET", "TOLERANCE", "search_min_count"]

_DEFAULTS = inspect.signature(suggest_min_count).parameters
#: The local search's defaults, read from its signature (one definition).
TOLERANCE: float = _DEFAULTS["tolerance"].default
MAX_PROBES: int = _DEFAULTS["max_probes"].default


def search_min_count(
    probe_at: Callable[[int], ThresholdProbe],
    *,
    lo: int,
    hi: int,
    n_baskets: int,
    target_rules: int,
    budget: int = SEARCH_BUDGET,
    tolerance: float = TOLERANCE,
    max_probes: int = MAX_PROBES,
) -> ThresholdSearch:
    """The integer ``min_count`` whose rule count is closest to ``target_rules``.

    ``probe_at(mc)`` gives the probe at ``mc``; ``lo``/``hi`` are the search bounds
    (``basketlens.mining.thresholds._bounds``). Same decisions as ``suggest_min_count``.
    """
    probes: dict[int, ThresholdProbe] = {}

    def probe(mc: int) -> ThresholdProbe:
        if mc not in probes:
            probes[mc] = probe_at(mc)
        return probes[mc]

    def enough(mc: int) -> bool:
        p = probe(mc)
        return p.budget_exceeded or (p.n_rules or 0) >= target_rules

    note = ""
    if enough(hi):
        chosen = hi
        note = f"at least {target_rules} rules even at min_count={hi} (upper bound)"
    else:
        left, right = lo, hi
        while right - left > 1 and len(probes) < max_probes:
            mid = min(right - 1, max(left + 1, round(math.sqrt(left * right))))
            if enough(mid):
                left = mid
            else:
                right = mid
        if right - left > 1:
            note = f"search stopped after max_probes={max_probes}; result approximate"
        above, below = probe(left), probes[right]
        if not enough(left):
            chosen = left
            note = f"fewer than {target_rules} rules even at min_count={lo}; using it"
        elif above.budget_exceeded:
            chosen = right
            note = note or f"min_count={left} exceeds max_itemsets={budget:,}; using {right}"
        elif (above.n_rules or 0) <= target_rules * (1 + tolerance):
            chosen = left
        else:
            gap_above = (above.n_rules or 0) - target_rules
            chosen = left if gap_above <= target_rules - (below.n_rules or 0) else right
    final = probe(chosen)
    if final.budget_exceeded:
        raise MiningBudgetError(
            f"even min_count={chosen} exceeds max_itemsets={budget:,}; set max_len or "
            "raise min_count_bounds"
        )
    return ThresholdSearch(
        min_count=chosen,
        min_support=chosen / max(n_baskets, 1),
        n_rules=int(final.n_rules or 0),
        n_itemsets=int(final.n_itemsets or 0),
        target_rules=target_rules,
        n_baskets=n_baskets,
        probes=tuple(sorted(probes.values(), key=lambda p: p.min_count)),
        note=note,
    )
