"""Customer × item purchases on Spark: what opportunities, the recommender and the backtest read.

The local stages read cleaned lines through :class:`~basketlens.opportunities.purchases.Purchases`
(the customer × item matrix of the lines before a date, the spend per customer and item after
one, a sample of whole baskets). :class:`SparkPurchases` answers the same questions from lines
on the cluster, hash-partitioned by customer: every partition runs the local aggregations
(:func:`~basketlens.opportunities.matrix.customer_item_cells`,
:func:`~basketlens.opportunities.matrix.unit_item_sales`) on its customers' lines in line order,
so the cells are the local engine's bit for bit, and the driver receives one row per customer
and item bought — the matrix every opportunity and recommendation is computed on, which the
recommender's item–item models need whole. The basket sample (at most ``limit`` lines: the
recommender's inner rules) is chosen by the seeded basket hash on the cluster and collected.

Example:
    >>> purchases = SparkPurchases(by_unit)  # doctest: +SKIP
    >>> purchases.matrix().n_customers  # doctest: +SKIP
    4338
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from basketlens.opportunities.matrix import (
    CUSTOMER_ITEMS_SCHEMA,
    TOTAL_ORDERS_SCHEMA,
    CustomerItems,
    customer_item_cells,
    unit_item_sales,
)
from basketlens.opportunities.purchases import Purchases, basket_sample_expr
from basketlens.schema import CLEAN_SCHEMA
from basketlens.spark.frames import collect, map_batches, map_partitions

__all__ = ["PURCHASE_COLUMNS", "SparkPurchases"]

#: Columns of the cleaned lines purchases read (``line_no``: their order).
PURCHASE_COLUMNS: tuple[str, ...] = (
    "line_no",
    "unit",
    "item",
    "basket",
    "quantity",
    "net_sales",
    "date",
)
_LINES = pl.Schema({c: CLEAN_SCHEMA[c] for c in PURCHASE_COLUMNS})
_CELLS = pl.Schema({**CUSTOMER_ITEMS_SCHEMA, "total_orders": pl.Int64})
_SPEND = pl.Schema({"unit": pl.String, "item": pl.String, "net_sales": pl.Float64})
_SAMPLE = pl.Schema({c: CLEAN_SCHEMA[c] for c in ("line_no", "basket", "item", "unit")})


def _cells(frame: pl.DataFrame, before: datetime | None) -> pl.DataFrame:
    """Cells of the partition's customers (all their lines are here), with total orders."""
    if before is not None:
        frame = frame.filter(pl.col("date") < before)
    cells, totals = customer_item_cells(frame)
    return cells.join(totals.rename({"unit": "customer_id"}), on="customer_id", how="left")


def _spend(frame: pl.DataFrame, since: datetime | None) -> pl.DataFrame:
    if since is not None:
        frame = frame.filter(pl.col("date") >= since)
    return unit_item_sales(frame)


def _sampled(frame: pl.DataFrame, fraction: float, seed: int) -> pl.DataFrame:
    return frame.filter(basket_sample_expr(fraction, seed))


class SparkPurchases(Purchases):
    """:class:`Purchases` of cleaned lines on Spark; ``by_unit``: the lines (at least
    :data:`PURCHASE_COLUMNS`) hash-partitioned by unit."""

    def __init__(self, by_unit: DataFrame) -> None:
        self.lines = by_unit.select(*PURCHASE_COLUMNS)
        row = self.lines.agg(
            F.count(F.lit(1)).alias("n"), F.min("date").alias("first"), F.max("date").alias("last")
        ).first()
        assert row is not None
        self._n, self._first, self._last = int(row["n"]), row["first"], row["last"]

    @property
    def n_lines(self) -> int:
        return self._n

    @property
    def first_date(self) -> datetime | None:
        return self._first

    @property
    def last_date(self) -> datetime | None:
        return self._last

    def matrix(self, *, before: datetime | None = None) -> CustomerItems:
        cells = collect(
            map_partitions(
                self.lines, _cells, _CELLS, before, in_schema=_LINES, order_by="line_no"
            ),
            _CELLS,
        )
        totals = cells.select(pl.col("customer_id").alias("unit"), "total_orders").unique("unit")
        return CustomerItems.from_table(
            cells.drop("total_orders"), total_orders=totals.cast(dict(TOTAL_ORDERS_SCHEMA))
        )

    def spend(self, *, since: datetime | None = None) -> pl.DataFrame:
        return collect(
            map_partitions(self.lines, _spend, _SPEND, since, in_schema=_LINES, order_by="line_no"),
            _SPEND,
        )

    def basket_sample(self, *, before: datetime, limit: int, seed: int) -> pl.DataFrame:
        kept = self.lines.filter(F.col("date") < F.lit(before).cast("timestamp_ntz"))
        kept = kept.select(*_SAMPLE.names())
        n = kept.count()
        if n > limit:
            kept = map_batches(kept, _sampled, _SAMPLE, limit / n, seed, in_schema=_SAMPLE)
        return collect(kept, _SAMPLE).sort("line_no")
