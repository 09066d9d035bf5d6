"""Customer segmentation: the SEGMENT stage (features table → segments, personas, PCA).

Example:
    >>> from basketlens.segment import CustomerSegmenter
    >>> CustomerSegmenter(k=4).k
    4
"""

from __future__ import annotations

from basketlens.segment.estimator import DEFAULT_FEATURES, CustomerSegmenter

__all__ = ["DEFAULT_FEATURES", "CustomerSegmenter"]
