"""Frequent itemsets, association rules and item support on a shared basket encoding.

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
    "MEASURES",
    "BasketMatrix",
    "Itemsets",
    "MiningOptions",
    "MiningResult",
    "Rules",
    "ScopedRules",
    "compute_measures",
    "generate_rules",
    "item_support",
    "mine_itemsets",
    "mine_rules",
    "mine_scopes",
    "read_basket_file",
    "read_fimi",
    "run_mining",
    "suggest_min_count",
    "to_basket_matrix",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BasketMatrix": ".encode",
        "read_basket_file": ".encode",
        "read_fimi": ".encode",
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
    },
)
