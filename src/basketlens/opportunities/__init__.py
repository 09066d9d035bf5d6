"""Cross-sell opportunities, recommendations and the recommender model (OPPORTUNITIES).

Example:
    >>> from basketlens.opportunities import find_opportunities, recommend
    >>> opp = find_opportunities(lines, rules, customers)  # doctest: +SKIP
    >>> recs = recommend(opp, top_n=5)                      # doctest: +SKIP
"""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.opportunities.options import RecommendOptions

__all__ = [
    "OPPORTUNITIES_SCHEMA",
    "RECOMMENDATIONS_SCHEMA",
    "RULE_COUNTS_SCHEMA",
    "CustomerItems",
    "ItemValues",
    "Opportunities",
    "OpportunityResult",
    "RecommendOptions",
    "RecommenderModel",
    "find_opportunities",
    "recommend",
    "run_opportunities",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CustomerItems": ".matrix",
        "RecommenderModel": ".model",
        "OPPORTUNITIES_SCHEMA": ".opportunities",
        "RULE_COUNTS_SCHEMA": ".opportunities",
        "Opportunities": ".opportunities",
        "find_opportunities": ".opportunities",
        "RECOMMENDATIONS_SCHEMA": ".recommendations",
        "recommend": ".recommendations",
        "OpportunityResult": ".stage",
        "run_opportunities": ".stage",
        "ItemValues": ".value",
    },
)
