"""Frequent itemsets, association rules and item support on a shared basket encoding.

Where things live: ``encode`` (BasketMatrix), ``readers`` (basket files), ``itemsets``
(the miner; the compiled kernel in ``_core``, its pure-Python reference in ``_reference``),
``rules`` / ``splits`` / ``measures`` / ``pruning`` (rules from itemsets; redundancy and
Fisher tests), ``customers`` (the customers behind a rule), ``thresholds`` (threshold help
and the blow-up guard), ``mine`` (``mine_rules``: the one path from baskets to finished
rules), ``scopes`` (rules per scope), ``variants`` / ``families`` (item families and rule
kinds), ``levels`` (rules between families and categories), ``stage`` (``run_mining``: the
stage the pipeline calls) and ``options`` (``MiningOptions``). See ``docs/rules.md``.

Example:
    >>> from basketlens.mining import mine_itemsets
    >>> its = mine_itemsets([["milk", "bread"], ["milk"]], min_support=0.5)
    >>> its.table.height
    3
"""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.mining.options import MiningOptions

__all__ = [
    "DEFAULT_MEASURES",
    "FAMILIES_SCHEMA",
    "MEASURES",
    "BasketMatrix",
    "ItemFamilies",
    "Itemsets",
    "MiningOptions",
    "MiningResult",
    "Rules",
    "ScopedRules",
    "build_families",
    "compute_measures",
    "generate_rules",
    "item_support",
    "mine_itemsets",
    "mine_rules",
    "mine_scopes",
    "read_basket_file",
    "read_baskets",
    "read_fimi",
    "rule_kinds",
    "run_mining",
    "suggest_min_count",
    "to_basket_matrix",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BasketMatrix": ".encode",
        "read_basket_file": ".readers",
        "read_baskets": ".readers",
        "read_fimi": ".readers",
        "to_basket_matrix": ".encode",
        "Itemsets": ".itemsets",
        "mine_itemsets": ".itemsets",
        "Rules": ".rules",
        "generate_rules": ".rules",
        "MEASURES": ".measures",
        "DEFAULT_MEASURES": ".measures",
        "compute_measures": ".measures",
        "mine_scopes": ".scopes",
        "item_support": ".scopes",
        "ScopedRules": ".scopes",
        "mine_rules": ".mine",
        "suggest_min_count": ".thresholds",
        "MiningResult": ".stage",
        "run_mining": ".stage",
        "FAMILIES_SCHEMA": ".families",
        "ItemFamilies": ".families",
        "build_families": ".families",
        "rule_kinds": ".families",
    },
)
