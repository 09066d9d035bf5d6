"""The SEGMENT stage on a feature table: the fitted segmenter and the customer table.

One function, so that every engine makes ``customers.parquet`` the same way: the features,
each customer's segment, persona and PCA coordinates (the segmenter's assignments) and its
RFM scores and cell (:func:`~basketlens.segment.rfm.rfm_cells`).

Example:
    >>> segmenter, customers = segment_customers(features.table, SegmentOptions())  # doctest: +SKIP
    >>> customers.select("customer_id", "segment", "rfm_cell").head(1)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from basketlens.segment.estimator import CustomerSegmenter
from basketlens.segment.options import SegmentOptions
from basketlens.segment.rfm import rfm_cells

__all__ = ["segment_customers"]


def segment_customers(
    features: pl.DataFrame,
    options: SegmentOptions,
    *,
    labels: Mapping[str, str] | None = None,
) -> tuple[CustomerSegmenter, pl.DataFrame]:
    """Fit the segmenter on the feature table (``labels``: what share and mix columns are
    about, for the personas); return it and the customer table (features, assignments, RFM)."""
    segmenter = CustomerSegmenter.from_options(options).fit(features, labels=labels)
    customers = features.join(
        segmenter.assignments_, on="customer_id", how="left", validate="1:1"
    ).join(rfm_cells(features), on="customer_id", how="left", validate="1:1")
    return segmenter, customers
