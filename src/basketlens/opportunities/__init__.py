"""Cross-sell opportunities, the call list, recommendations and the recommender model.

Example:
    >>> from basketlens.opportunities import build_call_list, find_opportunities, recommend
    >>> opp = find_opportunities(lines, offered_rules(rules), customers)  # doctest: +SKIP
    >>> calls = build_call_list(opp, rules, families=families)  # doctest: +SKIP
    >>> recs = recommend(opp, top_n=5)                      # doctest: +SKIP
"""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.opportunities.options import RecommendOptions

__all__ = [
    "CALL_LIST_SCHEMA",
    "OPPORTUNITIES_SCHEMA",
    "RULE_COUNTS_SCHEMA",
    "RULE_RECOMMENDATIONS_SCHEMA",
    "CallList",
    "CustomerItems",
    "ItemValues",
    "Opportunities",
    "OpportunityResult",
    "RecommendOptions",
    "RecommenderModel",
    "build_call_list",
    "find_opportunities",
    "offered_rules",
    "recommend",
    "run_opportunities",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CALL_LIST_SCHEMA": ".calls",
        "CallList": ".calls",
        "build_call_list": ".calls",
        "offered_rules": ".opportunities",
        "CustomerItems": ".matrix",
        "RecommenderModel": ".model",
        "OPPORTUNITIES_SCHEMA": ".opportunities",
        "RULE_COUNTS_SCHEMA": ".opportunities",
        "Opportunities": ".opportunities",
        "find_opportunities": ".opportunities",
        "RULE_RECOMMENDATIONS_SCHEMA": ".recommendations",
        "recommend": ".recommendations",
        "OpportunityResult": ".stage",
        "run_opportunities": ".stage",
        "ItemValues": ".value",
    },
)
