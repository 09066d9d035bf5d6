"""The recommender: candidates from item–item models, segments, popularity and rules, ranked
by a calibrated model trained on a time split inside the training data, with a reason and an
expected value per recommendation (RECOMMEND stage).

Example:
    >>> from basketlens.recommender import run_recommender
    >>> result = run_recommender(lines, customers, items=items, rules=rules)  # doctest: +SKIP
    >>> result.recommendations.columns[:4]                                   # doctest: +SKIP
    ['customer_id', 'customer_name', 'segment', 'segment_name']
"""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.opportunities.options import RecommendOptions

__all__ = [
    "FEATURES",
    "RECOMMENDATIONS_SCHEMA",
    "FittedRecommender",
    "RecommendOptions",
    "RecommenderResult",
    "fit_recommender",
    "run_recommender",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "FEATURES": ".candidates",
        "RECOMMENDATIONS_SCHEMA": ".stage",
        "FittedRecommender": ".stage",
        "RecommenderResult": ".stage",
        "fit_recommender": ".stage",
        "run_recommender": ".stage",
    },
)
