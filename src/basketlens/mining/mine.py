"""``mine_rules``: the one path from baskets to finished rules.

One :class:`~basketlens.mining.options.MiningOptions` drives every step, in this order:

1. threshold help when neither ``min_support`` nor ``min_count`` is given
   (:func:`~basketlens.mining.thresholds.suggest_min_count`, counting rules with the same
   filters as step 3);
2. frequent itemsets (:func:`~basketlens.mining.itemsets.mine_itemsets`, with ``max_len``
   and the ``max_itemsets`` budget);
3. rules with the filters ``min_confidence``, ``min_lift``, ``min_len``, ``max_len``,
   ``consequent_max_len``, the ``measures``, sorted by ``sort_by``;
4. ``prune_redundant``, then ``significant`` (with ``adjust``), then ``top`` by ``sort_by``.

The search record, when used, is in ``rules.info["threshold_search"]`` (else None).

Example:
    >>> r = mine_rules([["a", "b"]] * 3 + [["a"]], min_count=2)
    >>> r.table.select("antecedent", "consequent").rows()
    [(['a'], ['b']), (['b'], ['a'])]
"""

from __future__ import annotations

import logging
from typing import Any

from basketlens.mining.encode import to_basket_matrix
from basketlens.mining.itemsets import mine_itemsets
from basketlens.mining.options import MiningOptions
from basketlens.mining.rules import Rules, rule_filters
from basketlens.mining.thresholds import suggest_min_count

logger = logging.getLogger(__name__)

__all__ = ["mine_rules"]


def mine_rules(baskets: Any, options: MiningOptions | None = None, **changes: Any) -> Rules:
    """Mine rules from ``baskets`` (anything :func:`to_basket_matrix` accepts).

    ``options`` defaults to ``MiningOptions()``; ``changes`` are MiningOptions field names
    that override it (an unknown name raises :class:`ParameterError` with a suggestion).
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
    matrix = to_basket_matrix(baskets)
    search = None
    min_count = opts.min_count
    if opts.searches_threshold:
        search = suggest_min_count(matrix, opts)
        min_count = search.min_count
    itemsets = mine_itemsets(
        matrix,
        min_support=opts.min_support,
        min_count=min_count,
        max_len=opts.max_len,
        max_itemsets=opts.max_itemsets,
        max_memory=opts.max_memory,
    )
    rules = itemsets.rules(**rule_filters(opts), measures=opts.measures, sort_by=opts.sort_by)
    if opts.prune_redundant:
        rules = rules.prune_redundant()
    if opts.significant is not None:
        rules = rules.significant(alpha=opts.significant, adjust=opts.adjust)
    if opts.top is not None:
        rules = rules.top(opts.top, by=opts.sort_by)
    info = {**rules.info, "threshold_search": None if search is None else search.to_dict()}
    logger.info("mine_rules: %d rules at min_count=%d", len(rules), itemsets.min_count)
    return Rules(rules.table, info)
