"""The features stage: one row of behavioural features per customer.

Example:
    >>> from basketlens.features import FeatureOptions, build_customer_features
    >>> feats = build_customer_features(clean.lines, FeatureOptions(top_brands=3))  # doctest: +SKIP
"""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.features.options import FeatureOptions

__all__ = ["CORE_FEATURES", "CustomerFeatures", "FeatureOptions", "build_customer_features"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CORE_FEATURES": ".definitions",
        "CustomerFeatures": ".stage",
        "build_customer_features": ".stage",
    },
)
