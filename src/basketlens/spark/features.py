"""Customer features on Spark: the features stage's own three steps, each where its data is.

The local stage (:mod:`basketlens.features.stage`) is written in three steps, and this module
runs each of them with the local code:

1. :func:`~basketlens.features.stage.feature_constants` needs every line: here the date
   range and line counts are one Spark aggregation, the top brands and categories are ranked
   by the local ``_top_values`` on Spark's net-sales sums per brand / category, the items'
   categories are a Spark ``min``, and each item's quantity and net sales (for its price tier)
   are summed by the local :func:`~basketlens.features.mix.item_sales` in partitions that
   hold every line of their items, in line order — so the sums, the tiers and everything after
   are the local engine's bit for bit; :func:`~basketlens.features.stage.constants_of` checks
   and finishes them.
2. :func:`~basketlens.features.stage.unit_features` and
   :func:`~basketlens.features.mix.unit_item_spend` need one customer's lines: they run in
   partitions that hold every line of their customers, in line order.
3. :func:`~basketlens.features.stage.finish_features` (price-tier shares, basket types by
   factorisation, definitions, labels) runs on the driver on what step 2 collected: one row
   per customer, and the customer × item spend — one row per customer and item bought, which
   the factorisation needs whole and which is far smaller than the lines.

Example:
    >>> feats = features_on_spark(cleaned.lines, by_unit, FeatureOptions(), partitions=8)
    ... # doctest: +SKIP
    >>> feats.table.columns[:3]  # doctest: +SKIP
    ['customer_id', 'customer_name', 'total_quantity']
"""

from __future__ import annotations

import logging

import polars as pl
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from basketlens.features.definitions import FEATURES, SHARE_KINDS
from basketlens.features.mix import item_sales, price_tiers, unit_item_spend
from basketlens.features.options import FeatureOptions
from basketlens.features.stage import (
    _NEEDED,
    CustomerFeatures,
    FeatureConstants,
    _check_options,
    _top_values,
    constants_of,
    finish_features,
    unit_features,
)
from basketlens.schema import CLEAN_SCHEMA
from basketlens.spark.frames import collect, map_partitions

logger = logging.getLogger(__name__)

__all__ = ["FEATURE_COLUMNS", "features_on_spark"]

#: The columns of the cleaned lines the features read (and ``line_no``, their order).
FEATURE_COLUMNS: tuple[str, ...] = ("line_no", *_NEEDED)
_LINES = pl.Schema({name: CLEAN_SCHEMA[name] for name in FEATURE_COLUMNS})
_SALES = pl.Schema(
    {"item": pl.String, "category": pl.String, "__qty": pl.Float64, "__sales": pl.Float64}
)
_SPEND = pl.Schema({"unit": pl.String, "item": pl.String, "spend": pl.Float64})


def _usable(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("unit").is_not_null() & pl.col("date").is_not_null())


def _item_sales(frame: pl.DataFrame) -> pl.DataFrame:
    return item_sales(_usable(frame).lazy()).collect(engine="in-memory")


def _unit_rows(frame: pl.DataFrame, constants: FeatureConstants) -> pl.DataFrame:
    return unit_features(_usable(frame), constants)


def _unit_spend(frame: pl.DataFrame) -> pl.DataFrame:
    return unit_item_spend(_usable(frame).select("unit", "item", "net_sales"))


def _constants(lines: DataFrame, options: FeatureOptions, partitions: int) -> FeatureConstants:
    """Step 1 (see the module docstring)."""
    usable = F.col("unit").isNotNull() & F.col("date").isNotNull()
    stats = lines.agg(
        F.count(F.when(usable, 1)).alias("n"),
        F.count(F.when(~usable, 1)).alias("n_bad"),
        F.min(F.when(usable, F.col("date"))).alias("first"),
        F.max(F.when(usable, F.col("date"))).alias("last"),
    ).first()
    assert stats is not None
    kept = lines.filter(usable)
    tops: dict[str, list[str]] = {}
    for kind, top in SHARE_KINDS.items():
        sums = collect(kept.groupBy(kind).agg(F.sum("net_sales").alias("net_sales")))
        ranked = _top_values(sums.lazy(), kind, getattr(options, top)).collect()
        tops[kind] = ranked[kind].to_list()
    by_item = kept.select(*FEATURE_COLUMNS).repartition(partitions, "item")
    sales = collect(
        map_partitions(by_item, _item_sales, _SALES, in_schema=_LINES, order_by="line_no"),
        _SALES,
    )
    categories = collect(
        kept.groupBy("item").agg(F.min("category").alias("category")),
        pl.Schema({"item": pl.String, "category": pl.String}),
    )
    return constants_of(
        n=stats["n"],
        n_bad=stats["n_bad"],
        first=stats["first"],
        last=stats["last"],
        tops=tops,
        item_tiers=price_tiers(sales.lazy()).collect(engine="in-memory"),
        categories=categories,
        options=options,
    )


def features_on_spark(
    lines: DataFrame,
    by_unit: DataFrame,
    options: FeatureOptions | None = None,
    *,
    partitions: int,
    items: pl.DataFrame | None = None,
) -> CustomerFeatures:
    """The customer feature table of cleaned lines on Spark (the local stage's, bit for bit).

    ``by_unit``: the same lines (at least :data:`FEATURE_COLUMNS`) hash-partitioned by unit;
    ``partitions``: partitions of the per-item sums; ``items``: the item table (names for the
    basket types).

    Raises:
        ParameterError: a bad option, or ``as_of`` before the last date.
        EmptyInputError: no line has a unit and a date.
    """
    options = FeatureOptions() if options is None else options
    _check_options(options)
    constants = _constants(lines, options, partitions)
    _, share_defs = constants.share_columns()
    names = [*FEATURES, *share_defs]
    schema = pl.Schema(
        {"customer_id": pl.String, "customer_name": pl.String, **dict.fromkeys(names, pl.Float64)}
    )
    parts = by_unit.select(*FEATURE_COLUMNS)
    rows = map_partitions(
        parts, _unit_rows, schema, constants, in_schema=_LINES, order_by="line_no"
    )
    table = collect(rows, schema)
    spend = collect(
        map_partitions(parts, _unit_spend, _SPEND, in_schema=_LINES, order_by="line_no"), _SPEND
    ).sort("unit", "item")
    logger.info("Spark built the features of %d customers", table.height)
    return finish_features(table, spend, constants, options, items=items)
