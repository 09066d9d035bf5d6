"""``mine_rules``: the one path from baskets to finished rules.

One :class:`~basketlens.mining.options.MiningOptions` drives every step, in this order:

1. threshold help when neither ``min_support`` nor ``min_count`` is given
   (:func:`~basketlens.mining.thresholds.suggest_min_count`: about ``target_rules`` rules,
   or the lowest count within the guard ``max_rules``; counting rules with the same filters
   as step 3);
2. frequent itemsets (:func:`~basketlens.mining.itemsets.mine_itemsets`, with ``max_len``
   and the ``max_itemsets`` budget);
3. rules with the filters ``min_confidence``, ``min_lift``, ``min_len``, ``max_len``,
   ``consequent_max_len``, the ``measures``, sorted by ``sort_by``;
4. ``prune_redundant``, then ``significant`` (with ``significance_test`` and ``adjust``),
   then ``min_customers`` (:mod:`basketlens.mining.customers`), then ``top`` by ``sort_by``.

The search record, when used, is in ``rules.info["threshold_search"]`` (else None);
``rules.info["pruning"]`` counts the rules each step of 4 removed, with its wall ``seconds``
and ``cpu_seconds`` (the process's CPU time: every thread, so an over-count while other
scopes are mined in parallel).

Example:
    >>> r = mine_rules([["a", "b"]] * 3 + [["a"]], min_count=2)
    >>> r.table.select("antecedent", "consequent").rows()
    [(['a'], ['b']), (['b'], ['a'])]
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from basketlens.errors import ParameterError
from basketlens.mining.counts import as_counts
from basketlens.mining.customers import rule_itemsets
from basketlens.mining.options import MiningOptions
from basketlens.mining.rules import Rules, generate_rules, rule_filters
from basketlens.mining.thresholds import suggest_min_count

logger = logging.getLogger(__name__)

__all__ = ["mine_rules"]


def mine_rules(
    baskets: Any,
    options: MiningOptions | None = None,
    *,
    units: np.ndarray | None = None,
    **changes: Any,
) -> Rules:
    """Mine rules from ``baskets`` (anything :func:`to_basket_matrix` accepts, or the
    :class:`~basketlens.mining.counts.BasketCounts` of another back-end, e.g. Spark's).

    ``options`` defaults to ``MiningOptions()``; ``changes`` are MiningOptions field names
    that override it (an unknown name raises :class:`ParameterError` with a suggestion).
    ``units`` gives the customer (integer code) of each basket, which ``min_customers``
    needs.
    Every value is validated before any mining. Options about the pipeline (``enabled``,
    ``per_segment``, ``itemsets``, ``min_scope_baskets``) do not apply here.

    Example:
        >>> r = mine_rules([["a", "b"]] * 3 + [["a"]], min_count=2, min_confidence=0.9)
        >>> r.table.select("antecedent", "consequent", "confidence").rows()
        [(['b'], ['a'], 1.0)]
        >>> mine_rules([["a"]], min_confidance=0.9)
        Traceback (most recent call last):
        ...
        basketlens.errors.ParameterError: mine_rules: unknown key 'min_confidance'; valid: ...
    """
    opts = (options or MiningOptions()).updated(changes, source="mine_rules").validate()
    counts = as_counts(baskets, units)
    if opts.min_customers is not None and opts.min_customers > 1 and not counts.has_units:
        raise ParameterError(
            f"min_customers={opts.min_customers} needs the customer of each basket; pass "
            "units= (one integer code per basket), or leave min_customers unset"
        )
    search = None
    min_count = opts.min_count
    if opts.searches_threshold:
        search = suggest_min_count(counts, opts)
        min_count = search.min_count
    if search is not None and search.itemsets is not None:
        itemsets = search.itemsets  # the chosen probe's: the same as mining at its count
    else:
        itemsets = counts.itemsets(
            min_support=opts.min_support,
            min_count=min_count,
            max_len=opts.max_len,
            max_itemsets=opts.max_itemsets,
            max_memory=opts.max_memory,
        )
    rules = generate_rules(
        itemsets,
        **rule_filters(opts),
        measures=opts.measures,
        sort_by=opts.sort_by,
        splits=None if search is None else search.splits,  # the search split them already
    )
    pruning = {
        "candidates": len(rules),
        "redundant": 0,
        "not_significant": 0,
        "few_customers": 0,
        "beyond_top": 0,
    }
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def step(name: str, count: str, apply: Callable[[Rules], Rules]) -> None:
        nonlocal rules
        before, t0, c0 = len(rules), time.perf_counter(), time.process_time()
        rules = apply(rules)
        seconds[name] = round(time.perf_counter() - t0, 6)
        cpu[name] = round(time.process_time() - c0, 6)  # the whole process: every thread
        pruning[count] = before - len(rules)

    if opts.prune_redundant:
        step("redundant", "redundant", lambda r: r.prune_redundant())
    if opts.significant is not None and opts.significant < 1:
        step(
            "significance",
            "not_significant",
            lambda r: r.significant(
                alpha=opts.significant,
                adjust=opts.adjust,
                test=opts.significance_test,
                itemsets=itemsets,
            ),
        )
    if opts.min_customers is not None and opts.min_customers > 1:
        min_customers = opts.min_customers

        def breadth(r: Rules) -> Rules:
            seen = counts.customer_counts(rule_itemsets(r.table))
            return r.keep(seen >= min_customers, {"min_customers": min_customers})

        step("customers", "few_customers", breadth)
    if opts.top is not None:
        step("top", "beyond_top", lambda r: r.top(opts.top, by=opts.sort_by))
    pruning["kept"] = len(rules)
    pruning["seconds"] = seconds
    pruning["cpu_seconds"] = cpu
    info = {
        **rules.info,
        "threshold_search": None if search is None else search.to_dict(),
        "pruning": pruning,
    }
    logger.info("mine_rules: %d rules at min_count=%d", len(rules), itemsets.min_count)
    return Rules(rules.table, info)
