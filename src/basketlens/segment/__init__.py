"""Customer segmentation: the SEGMENT stage (features table → segments, personas, PCA, verdict)
and the RFM cells beside it.

Example:
    >>> from basketlens.segment import CustomerSegmenter, SegmentOptions
    >>> CustomerSegmenter(k=4).k
    4
"""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.segment.options import SegmentOptions

__all__ = [
    "DEFAULT_FEATURES",
    "CustomerSegmenter",
    "SegmentOptions",
    "rfm_cells",
    "rfm_summary",
    "segment_customers",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "DEFAULT_FEATURES": ".estimator",
        "CustomerSegmenter": ".estimator",
        "rfm_cells": ".rfm",
        "rfm_summary": ".rfm",
        "segment_customers": ".customers",
    },
)
