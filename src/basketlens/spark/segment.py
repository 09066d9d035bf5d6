"""Segmentation for the Spark engine: the local segmenter, fitted on the driver.

The feature table has one row per customer — a few hundred bytes each, and collected anyway
because ``customers.parquet`` is written from the driver — so the local
:class:`~basketlens.segment.CustomerSegmenter` fits on all of it: the same k selection
(silhouette on its deterministic sample, the elbow), the same verdict and the same labels
as the local engine, by construction. Spark MLlib's KMeans was not used: its k-means||
initialisation and its own silhouette would choose another k and other segments than the
local engine on the same data. The assignments go back to the cluster as a broadcast join
(each basket takes its customer's segment for per-segment mining).

Example:
    >>> segmenter, customers = segment_on_driver(features, SegmentOptions())  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from basketlens.segment import CustomerSegmenter
from basketlens.segment.options import SegmentOptions

if TYPE_CHECKING:
    from basketlens.features.stage import CustomerFeatures

__all__ = ["segment_on_driver"]


def segment_on_driver(
    features: CustomerFeatures, options: SegmentOptions
) -> tuple[CustomerSegmenter, pl.DataFrame]:
    """Fit the local segmenter on the feature table; return it and features + assignments."""
    segmenter = CustomerSegmenter.from_options(options).fit(features.table)
    customers = features.table.join(
        segmenter.assignments_, on="customer_id", how="left", validate="1:1"
    )
    return segmenter, customers
