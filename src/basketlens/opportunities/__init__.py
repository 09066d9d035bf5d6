"""Cross-sell opportunities, recommendations and the saved recommender model (OPPORTUNITIES).

Example:
    >>> from basketlens.opportunities import find_opportunities, recommend
    >>> opp = find_opportunities(lines, rules, customers)  # doctest: +SKIP
    >>> recs = recommend(opp, top_n=5)                      # doctest: +SKIP
"""

from __future__ import annotations

from basketlens.opportunities.matrix import CustomerItems
from basketlens.opportunities.opportunities import (
    OPPORTUNITIES_SCHEMA,
    RULE_COUNTS_SCHEMA,
    Opportunities,
    find_opportunities,
)
from basketlens.opportunities.recommend import RECOMMENDATIONS_SCHEMA, recommend
from basketlens.opportunities.value import ItemValues

__all__ = [
    "OPPORTUNITIES_SCHEMA",
    "RECOMMENDATIONS_SCHEMA",
    "RULE_COUNTS_SCHEMA",
    "CustomerItems",
    "ItemValues",
    "Opportunities",
    "find_opportunities",
    "recommend",
]
