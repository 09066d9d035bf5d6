"""Opportunities for the Spark engine: the local stage on the customer × item purchases.

The opportunities stage works on the customer × item purchase matrix
(:class:`~basketlens.opportunities.matrix.CustomerItems`: per customer and item bought, the
baskets, quantity, net sales and dates), not on the lines. On Spark the matrix is built by
:class:`~basketlens.spark.purchases.SparkPurchases` (the local aggregation in partitions that
hold whole customers) and collected — one row per customer and item bought, far fewer than
the lines, and what the call list, the rule matching and the saved model need whole — then
the local :func:`~basketlens.opportunities.stage.run_opportunities` matches the rules, values
them and builds the call list, exactly as the local engine does.

Example:
    >>> found = opportunities_on_spark(purchases, rules, customers, items=items)  # doctest: +SKIP
    >>> found.call_list.table.height  # doctest: +SKIP
    12840
"""

from __future__ import annotations

from typing import Any

import polars as pl

from basketlens.opportunities.stage import OpportunityResult, run_opportunities
from basketlens.spark.purchases import SparkPurchases

__all__ = ["OpportunityResult", "opportunities_on_spark"]


def opportunities_on_spark(
    purchases: SparkPurchases, rules: pl.DataFrame, customers: pl.DataFrame, **options: Any
) -> OpportunityResult:
    """:func:`~basketlens.opportunities.stage.run_opportunities` on the collected matrix;
    ``options``: its keyword arguments (items, segmenter, options, families)."""
    return run_opportunities(purchases.matrix(), rules, customers, **options)
