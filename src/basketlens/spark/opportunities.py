"""Opportunities and recommendations for the Spark engine, from per-customer purchases.

The local stage works on the customer × item purchase matrix
(:class:`~basketlens.opportunities.CustomerItems`: per customer and item, the baskets, the
quantity, the net sales and the dates), not on the lines. On Spark the lines are
hash-partitioned by customer and each partition builds its customers' part of that matrix
with the local ``CustomerItems.from_lines``; the parts (one row per customer and item — far
fewer than lines) are collected and the local :func:`run_opportunities` matches the rules,
values them, ranks them and picks the recommendations, exactly as the local engine does.
Every output table is written from the driver by ``write_run``, so the driver holds these
tables in either engine.

Example:
    >>> matrix = customer_items_on_spark(cleaned.lines, 4)  # doctest: +SKIP
    >>> found = run_opportunities(matrix, rules, customers, items=items)  # doctest: +SKIP
"""

from __future__ import annotations

import polars as pl
from pyspark.sql import DataFrame

from basketlens.opportunities.matrix import CUSTOMER_ITEMS_SCHEMA, CustomerItems
from basketlens.opportunities.stage import OpportunityResult, run_opportunities
from basketlens.schema import CLEAN_SCHEMA
from basketlens.spark.frames import collect, map_partitions

__all__ = ["OpportunityResult", "customer_items_on_spark", "run_opportunities"]

_LINES = pl.Schema(
    {c: CLEAN_SCHEMA[c] for c in ("unit", "item", "basket", "quantity", "net_sales", "date")}
)
_CELLS = pl.Schema({**CUSTOMER_ITEMS_SCHEMA, "total_orders": pl.Int64})


def _cells(frame: pl.DataFrame) -> pl.DataFrame:
    """This partition's customers (all their lines are here) as matrix cells."""
    usable = frame.filter(pl.col("unit").is_not_null() & pl.col("item").is_not_null())
    if usable.height == 0:
        return pl.DataFrame(schema=_CELLS)
    part = CustomerItems.from_lines(usable)
    totals = pl.DataFrame(
        {"customer_id": list(part.customers), "total_orders": part.total_orders.astype("int64")}
    )
    return part.to_table().join(totals, on="customer_id", how="left")


def customer_items_on_spark(lines: DataFrame, partitions: int) -> CustomerItems:
    """The customer × item matrix of cleaned lines on Spark (same as ``from_lines``)."""
    parts = lines.select(*_LINES.names()).repartition(partitions, "unit")
    cells = collect(map_partitions(parts, _cells, _CELLS, in_schema=_LINES), _CELLS)
    totals = cells.select(pl.col("customer_id").alias("unit"), "total_orders").unique("unit")
    return CustomerItems.from_table(cells.drop("total_orders"), total_orders=totals)
