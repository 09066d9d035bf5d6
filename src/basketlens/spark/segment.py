"""Segmentation for the Spark engine: the local segment stage, on the driver.

The feature table has one row per customer — a few hundred bytes each, and collected anyway
because ``customers.parquet`` is written from the driver — so the local
:func:`~basketlens.segment.segment_customers` fits on all of it: the same k selection
(``stable_separation`` by default), the same transforms, weights, bootstrap stability,
verdict, personas and RFM cells as the local engine, by construction. Spark MLlib's KMeans
was not used: its k-means|| initialisation would give other segments than the local engine
on the same data, and the local k selection fits many candidate k on bootstrap samples, which
MLlib would turn into dozens of cluster jobs over a table that fits in memory. The
assignments go back to the cluster as a broadcast join (each basket takes its customer's
segment for per-segment mining).

Example:
    >>> segmenter, customers = segment_on_driver(features, SegmentOptions())  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from basketlens.segment import CustomerSegmenter, segment_customers
from basketlens.segment.options import SegmentOptions

if TYPE_CHECKING:
    from basketlens.features.stage import CustomerFeatures

__all__ = ["segment_on_driver"]


def segment_on_driver(
    features: CustomerFeatures, options: SegmentOptions
) -> tuple[CustomerSegmenter, pl.DataFrame]:
    """The local segment stage on the collected feature table: the segmenter, the customers."""
    return segment_customers(features.table, options, labels=features.labels)
