"""The backtest on Spark: split on the cluster, fit before each split, measure after it.

The same steps as :func:`basketlens.pipeline.backtest_lines`, with the local code for each:
the origins (:func:`~basketlens.backtest.stage.origins`, from the last date), the split checks
(:func:`~basketlens.backtest.stage.check_split`), every stage fitted on the lines before the
split on the cluster (:func:`basketlens.spark.engine.fit_cleaned`), then
:func:`~basketlens.backtest.stage.evaluate` — which reads the test period through
:class:`~basketlens.spark.purchases.SparkPurchases` (each customer's spend per item, summed on
the cluster), never as lines.

Example:
    >>> result = backtest_spark_lines(lines, items, config, clock=Clock())  # doctest: +SKIP
    >>> result.table.select("method", "hit_rate")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl
from pyspark.sql import functions as F

from basketlens.backtest.stage import (
    BacktestResult,
    check_split,
    origins,
)
from basketlens.spark.lines import SparkLines
from basketlens.spark.purchases import SparkPurchases

if TYPE_CHECKING:
    from basketlens.clock import Clock
    from basketlens.config import RunConfig
    from basketlens.record import Fitted

logger = logging.getLogger(__name__)

__all__ = ["backtest_spark_lines", "split_spark_lines"]

Fit = Callable[..., "Fitted"]


def split_spark_lines(
    lines: SparkLines, at: datetime, until: datetime | None, first: Any, last: Any
) -> tuple[SparkLines, SparkLines]:
    """(lines before ``at``, lines from ``at`` to ``until``), checked as the local split."""
    train = lines.where(F.col("date") < F.lit(at).cast("timestamp_ntz"))
    after = F.col("date") >= F.lit(at).cast("timestamp_ntz")
    if until is not None:
        after = after & (F.col("date") < F.lit(until).cast("timestamp_ntz"))
    test = lines.where(after)
    check_split(at, until, train.count(), test.count(), first, last)
    return train, test


def backtest_spark_lines(
    lines: SparkLines,
    items: pl.DataFrame,
    config: RunConfig,
    *,
    fit: Fit,
    clock: Clock,
    currency: str | None = None,
) -> BacktestResult:
    """Fit every stage (``fit``: the engine's ``fit_cleaned``) on the lines before each split
    and measure the recommenders after it (one split, or ``rolling`` origins)."""
    from basketlens.pipeline import measure_splits

    row = lines.lines.agg(F.min("date").alias("first"), F.max("date").alias("last")).first()
    assert row is not None
    first, last = row["first"], row["last"]
    splits = (
        (at, until, *split_spark_lines(lines, at, until, first, last))
        for at, until in origins(pl.DataFrame({"date": [last]}), config.backtest)
    )
    return measure_splits(
        splits,
        items,
        config,
        fit=fit,
        read=lambda part: SparkPurchases(part.by_unit),
        clock=clock,
        currency=currency,
    )
