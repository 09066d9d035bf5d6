"""Customer features on Spark: global constants first, then the registry per unit partition.

The local stage computes three things over all lines — ``as_of`` (the last date unless
given), the observation window (first ledger day to ``as_of``) and the top brands and
categories by net sales — and then one row per unit from the per-unit aggregates
(:func:`basketlens.features.definitions.per_unit`) with the expressions of the registry
:data:`~basketlens.features.definitions.FEATURES`. Here the constants are one Spark
aggregation; the lines are then hash-partitioned by unit, so every customer's lines are in
one partition, and each partition runs those very per-unit expressions with the constants
fixed. A feature added to the registry (or an aggregate added to ``per_unit``) flows through
without a change here; ``tests/test_spark_parity.py`` compares the whole table with the
local stage's.

Example:
    >>> feats = features_on_spark(cleaned.lines, FeatureOptions())  # doctest: +SKIP
    >>> feats.table.columns[:3]  # doctest: +SKIP
    ['customer_id', 'customer_name', 'total_quantity']
"""

from __future__ import annotations

import logging
from datetime import datetime

import polars as pl
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from basketlens.errors import EmptyInputError
from basketlens.features.definitions import (
    FEATURES,
    NON_FINITE_RULE,
    SHARE_KINDS,
    PerUnit,
    per_unit,
)
from basketlens.features.options import FeatureOptions
from basketlens.features.stage import (
    _NEEDED,
    CustomerFeatures,
    _check_options,
    _finite,
    _resolve_as_of,
    _share_columns,
    _top_values,
)
from basketlens.schema import CLEAN_SCHEMA
from basketlens.spark.frames import collect, map_partitions

logger = logging.getLogger(__name__)

__all__ = ["features_on_spark"]

_LINES = pl.Schema({name: CLEAN_SCHEMA[name] for name in _NEEDED})


def _unit_rows(
    frame: pl.DataFrame, as_of: datetime, window_days: int, tops: dict[str, list[str]]
) -> pl.DataFrame:
    """One row per unit of the partition: the local stage's expressions, constants fixed."""
    share_sums: list[pl.Expr] = []
    share_names: list[str] = []
    for kind, names in tops.items():
        sums, defs = _share_columns(kind, names)
        share_sums += sums
        share_names += list(defs)
    aggregates = PerUnit(as_of=as_of, window_days=window_days)
    exprs = {name: feature.expr(aggregates) for name, feature in FEATURES.items()}
    exprs.update({name: aggregates.share(name) for name in share_names})
    lf = frame.lazy().filter(pl.col("unit").is_not_null() & pl.col("date").is_not_null())
    return (
        per_unit(lf, share_sums)
        .select(
            pl.col("unit").alias("customer_id"),
            pl.coalesce("customer_name", "unit").alias("customer_name"),
            *(_finite(expr).alias(name) for name, expr in exprs.items()),
        )
        .collect()
    )


def features_on_spark(
    lines: DataFrame, options: FeatureOptions | None = None, *, partitions: int | None = None
) -> CustomerFeatures:
    """Build the customer feature table from cleaned lines on Spark (same as the local stage).

    ``partitions``: unit partitions (default: the cluster's default parallelism).

    Raises:
        ParameterError: a bad option, or ``as_of`` before the last date.
        EmptyInputError: no line has a unit and a date.
    """
    options = FeatureOptions() if options is None else options
    _check_options(options)
    usable = F.col("unit").isNotNull() & F.col("date").isNotNull()
    stats = lines.agg(
        F.count(F.when(usable, 1)).alias("n"),
        F.count(F.when(~usable, 1)).alias("n_bad"),
        F.min(F.when(usable, F.col("date"))).alias("first"),
        F.max(F.when(usable, F.col("date"))).alias("last"),
    ).first()
    assert stats is not None
    if stats["n"] == 0:
        raise EmptyInputError(
            "lines has no line with a unit and a date; nothing to build customer features from"
        )
    if stats["n_bad"]:
        logger.warning(
            "%d lines without a unit (customer) or a date are left out of the customer "
            "features; clean them with drop_missing_ids=True",
            stats["n_bad"],
        )
    as_of = _resolve_as_of(options.as_of, stats["last"])
    window_days = max(1, (as_of.date() - stats["first"].date()).days)
    tops: dict[str, list[str]] = {}
    share_defs: dict[str, str] = {}
    kept = lines.filter(usable)
    for kind, top in SHARE_KINDS.items():
        sums = collect(kept.groupBy(kind).agg(F.sum("net_sales").alias("net_sales")))
        chosen = _top_values(sums.lazy(), kind, getattr(options, top)).collect()[kind].to_list()
        tops[kind] = chosen
        share_defs.update(_share_columns(kind, chosen)[1])

    names = [*FEATURES, *share_defs]
    schema = pl.Schema(
        {"customer_id": pl.String, "customer_name": pl.String, **dict.fromkeys(names, pl.Float64)}
    )
    n_parts = partitions or lines.sparkSession.sparkContext.defaultParallelism
    parts = lines.select(*_LINES.names()).repartition(n_parts, "unit")
    rows = map_partitions(parts, _unit_rows, schema, as_of, window_days, tops, in_schema=_LINES)
    table = collect(rows, schema).sort("customer_id")
    definitions = {name: f"{f.description}; {NON_FINITE_RULE}" for name, f in FEATURES.items()}
    definitions.update(share_defs)
    logger.info(
        "Spark built %d features for %d customers (as_of %s)", len(names), table.height, as_of
    )
    return CustomerFeatures(table=table, definitions=definitions, as_of=as_of)
