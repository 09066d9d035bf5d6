"""Options of the features stage.

Example:
    >>> FeatureOptions(top_brands=3).top_categories
    5
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from basketlens._params import Interval, Options, param


@dataclass(frozen=True)
class FeatureOptions(Options):
    """The ``[features]`` section: share columns, basket types; ``as_of`` (library only)."""

    section = "features"
    panel = "Features"

    top_brands: int = param(
        5, Interval(int, 0), "Brand share columns: the top N brands by net sales."
    )
    top_categories: int = param(
        5, Interval(int, 0), "Category share columns: the top N categories by net sales."
    )
    mix_factors: int = param(
        8,
        Interval(int, 0, 50),
        "Basket types: components of the factorisation of customer x item spend shares (0: none).",
    )
    as_of: datetime | None = None  # reference date; default: the last date in the lines
