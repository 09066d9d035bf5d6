"""Cleaning on Spark with the registry's own rules, and the same account of every line.

Early rules (decided by the line alone) run on every Arrow batch as the very expression chain
of :data:`basketlens.clean.rules.CLEANING_RULES`, which also adds the basket key. Lines are
then hash-partitioned by basket and sorted by ``line_no``: every late rule of the registry
compares a line with other lines *of its basket* (an exact duplicate has the same invoice,
customer and date, so the same basket; a single-item basket is a basket), so each partition
runs the late rules' expressions on whole baskets, exactly as the local stage does on the
whole ledger. A late rule is accepted only once it is listed in :data:`BASKET_LOCAL_RULES`
(a test checks every late rule of the registry is): a future late rule that looks across
baskets must get its own Spark partitioning, not a silently wrong answer.

The account is one ``groupBy`` of the drop step; the item table is an aggregation of the kept
lines with "first non-null name/brand/category in line order" taken at the smallest
``line_no``.

Example:
    >>> cleaned = clean_on_spark(ledger, CleaningOptions())  # doctest: +SKIP
    >>> cleaned.account["rows_out"][-1] == cleaned.n_lines  # doctest: +SKIP
    True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import SimpleNamespace

import polars as pl
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from basketlens.clean import rules
from basketlens.clean.options import CleaningOptions
from basketlens.clean.rules import CLEANING_RULES, STEP_COL
from basketlens.clean.stage import (
    _account,
    _all_dropped_message,
    _check_options,
    _warn_dates,
    mark_early,
    mark_late,
    resolve_options,
)
from basketlens.errors import EmptyInputError, ParameterError
from basketlens.schema import CLEAN_SCHEMA, ITEMS_SCHEMA, LEDGER_SCHEMA
from basketlens.spark.frames import collect, map_batches, map_partitions

logger = logging.getLogger(__name__)

__all__ = ["BASKET_LOCAL_RULES", "SparkCleaned", "clean_on_spark", "partitions_for"]

#: Late rules whose decision for a line depends only on lines of the same basket.
BASKET_LOCAL_RULES: frozenset[str] = frozenset({"duplicates", "single_item_baskets"})

#: Lines per partition the engine aims at (keeps a partition's Polars frame to ~1 GB).
LINES_PER_PARTITION = 2_000_000

_ANNOTATED = pl.Schema({**LEDGER_SCHEMA, STEP_COL: pl.Int32, "basket": pl.String})
_MARKED = pl.Schema({**CLEAN_SCHEMA, STEP_COL: pl.Int32, "__fell_back": pl.Boolean})


@dataclass(frozen=True, eq=False)
class SparkCleaned:
    """What cleaning on Spark produced: the kept lines (``CLEAN_SCHEMA``, persisted and
    partitioned by basket), the account, the item table, and counts for ``run.json``."""

    lines: DataFrame
    account: pl.DataFrame
    items: pl.DataFrame
    n_lines: int
    partitions: int

    def summary(self) -> dict[str, object]:
        """``lines_kept``, ``baskets``, ``items``, ``first_date``, ``last_date`` (run.json)."""
        row = self.lines.agg(
            F.count(F.lit(1)).alias("lines_kept"),
            F.countDistinct("basket").alias("baskets"),
            F.countDistinct("item").alias("items"),
            F.min("date").alias("first_date"),
            F.max("date").alias("last_date"),
        ).first()
        assert row is not None
        out = row.asDict()
        out["first_date"], out["last_date"] = str(out["first_date"]), str(out["last_date"])
        return out


def partitions_for(n_lines: int, parallelism: int) -> int:
    """Partitions for ``n_lines``: at least the cluster's parallelism, ~2M lines each.

    Example:
        >>> partitions_for(10_000_000, 2), partitions_for(1_000, 8)
        (5, 8)
    """
    return max(parallelism, -(-n_lines // LINES_PER_PARTITION))


def _check_late_rules() -> None:
    unknown = [
        name
        for name, rule in CLEANING_RULES.items()
        if rule.phase == "late" and name not in BASKET_LOCAL_RULES
    ]
    if unknown:
        raise ParameterError(
            f"the Spark engine does not know how to partition late cleaning rule {unknown[0]!r}; "
            "add it to basketlens.spark.clean.BASKET_LOCAL_RULES if it only compares lines of "
            "one basket"
        )


def _early(frame: pl.DataFrame, options: CleaningOptions) -> pl.DataFrame:
    """The enabled early rules (first failing step) and the basket key, on a batch."""
    return mark_early(frame, options)


def _late(frame: pl.DataFrame, options: CleaningOptions) -> pl.DataFrame:
    """The enabled late rules on whole baskets (in line order), then the kept lines' keys."""
    frame = mark_late(frame.sort("line_no"), options)
    unit, unit_name, fell_back = rules.unit_exprs(options.segment_level)
    kept = pl.col(STEP_COL).is_null()
    return frame.with_columns(
        pl.when(kept)
        .then(rules.filled_net_sales())
        .otherwise(pl.col("net_sales"))
        .alias("net_sales"),
        unit,
        unit_name,
        fell_back,
    )


def clean_on_spark(
    lines: DataFrame,
    n_lines: int,
    options: CleaningOptions,
    *,
    sales: str = "",
    cancel_prefix: str | None = None,
    service_items: tuple[str, ...] = (),
) -> SparkCleaned:
    """Clean ledger lines (``LEDGER_SCHEMA``) on Spark; see the module docstring.

    ``cancel_prefix``: the ledger layout's cancellation prefix (for ``cancel_prefix="auto"``);
    ``service_items``: the layout's service-item codes (added to ``options.service_items``).
    """
    _check_options(options)
    options = resolve_options(
        options, SimpleNamespace(cancel_prefix=cancel_prefix, service_items=service_items)
    )
    _check_late_rules()
    spark = lines.sparkSession
    n_parts = partitions_for(n_lines, spark.sparkContext.defaultParallelism)
    annotated = map_batches(lines, _early, _ANNOTATED, options, in_schema=LEDGER_SCHEMA)
    marked = map_partitions(
        annotated.repartition(n_parts, "basket"), _late, _MARKED, options, in_schema=_ANNOTATED
    ).persist(StorageLevel.MEMORY_AND_DISK)
    counts = collect(
        marked.groupBy(STEP_COL).agg(
            F.count(F.lit(1)).alias("n"), F.sum(F.col("__fell_back").cast("long")).alias("fell")
        )
    )
    account = _account(options, counts.select(STEP_COL, "n"), n_lines)
    _warn_dates(options, account)
    kept = marked.filter(F.col(STEP_COL).isNull()).select(*CLEAN_SCHEMA.names())
    kept = kept.persist(StorageLevel.MEMORY_AND_DISK)
    n_kept = int(account["rows_out"][-1])
    if n_kept == 0:
        ledger = SimpleNamespace(sources=[SimpleNamespace(role="sales", path=sales)])
        raise EmptyInputError(_all_dropped_message(ledger, account))  # type: ignore[arg-type]
    fallbacks = int(counts.filter(pl.col(STEP_COL).is_null())["fell"].sum() or 0)
    if options.segment_level == "group" and fallbacks:
        logger.info(
            "segment_level='group': %d cleaned lines have no customer_group; "
            "their customer is used as the unit",
            fallbacks,
        )
    items = item_table(kept)
    marked.unpersist()
    logger.info("Spark cleaning kept %d of %d lines", n_kept, n_lines)
    return SparkCleaned(kept, account, items, n_lines, n_parts)


def item_table(kept: DataFrame) -> pl.DataFrame:
    """The item table (``ITEMS_SCHEMA``) of the kept lines, as the local stage builds it."""

    def first(col: str) -> F.Column:
        # the value of the smallest line_no among the lines where it is not null
        return F.min_by(F.col(col), F.when(F.col(col).isNotNull(), F.col("line_no"))).alias(col)

    table = (
        kept.filter(F.col("item").isNotNull())
        .groupBy("item")
        .agg(
            first("item_name"),
            first("brand"),
            first("category"),
            F.count(F.lit(1)).alias("lines"),
            F.sum("net_sales").alias("net_sales"),
        )
    )
    return (
        collect(table)
        .with_columns(pl.col("item_name").fill_null(pl.col("item")))
        .sort("item")
        .select(ITEMS_SCHEMA.names())
        .cast(dict(ITEMS_SCHEMA))
    )
