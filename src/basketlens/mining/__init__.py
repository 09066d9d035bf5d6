"""Frequent itemsets, association rules and item support on a shared basket encoding.

Example:
    >>> from basketlens.mining import mine_itemsets
    >>> its = mine_itemsets([["milk", "bread"], ["milk"]], min_support=0.5)
    >>> its.table.height
    3
"""

from __future__ import annotations

import importlib
from typing import Any

from basketlens.mining.encode import BasketMatrix, read_basket_file, read_fimi, to_basket_matrix
from basketlens.mining.itemsets import Itemsets, mine_itemsets

__all__ = [
    "DEFAULT_MEASURES",
    "MEASURES",
    "BasketMatrix",
    "Itemsets",
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
    "suggest_min_count",
    "to_basket_matrix",
]

# rule generation lives in sibling modules, imported on first use to keep imports fast
_LAZY = {
    "Rules": "basketlens.mining.rules",
    "generate_rules": "basketlens.mining.rules",
    "MEASURES": "basketlens.mining.measures",
    "DEFAULT_MEASURES": "basketlens.mining.measures",
    "compute_measures": "basketlens.mining.measures",
    "mine_scopes": "basketlens.mining.scopes",
    "item_support": "basketlens.mining.scopes",
    "ScopedRules": "basketlens.mining.scopes",
    "mine_rules": "basketlens.mining.thresholds",
    "suggest_min_count": "basketlens.mining.thresholds",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'basketlens.mining' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
