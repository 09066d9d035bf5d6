"""Cross-sell opportunities, recommendations and the saved recommender model (OPPORTUNITIES).

Example:
    >>> from basketlens.opportunities import find_opportunities, recommend
    >>> opp = find_opportunities(lines, rules, customers)  # doctest: +SKIP
    >>> recs = recommend(opp, top_n=5)                      # doctest: +SKIP
    >>> save_model("out", RecommenderModel.from_opportunities(opp, rules))  # doctest: +SKIP
    >>> load_model("out").recommend_customer("17850", top=5)               # doctest: +SKIP
"""

from __future__ import annotations

from basketlens.opportunities.matrix import CustomerItems
from basketlens.opportunities.model import RecommenderModel, load_model, save_model
from basketlens.opportunities.opportunities import (
    OPPORTUNITIES_SCHEMA,
    RULE_COUNTS_SCHEMA,
    Opportunities,
    find_opportunities,
)
from basketlens.opportunities.recommend import RECOMMENDATIONS_SCHEMA, recommend
from basketlens.opportunities.stage import OpportunityResult, run_opportunities
from basketlens.opportunities.value import ItemValues

__all__ = [
    "OPPORTUNITIES_SCHEMA",
    "RECOMMENDATIONS_SCHEMA",
    "RULE_COUNTS_SCHEMA",
    "CustomerItems",
    "ItemValues",
    "Opportunities",
    "OpportunityResult",
    "RecommenderModel",
    "find_opportunities",
    "load_model",
    "recommend",
    "run_opportunities",
    "save_model",
]
