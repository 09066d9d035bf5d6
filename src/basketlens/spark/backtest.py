"""The backtest on Spark: split on the cluster, fit on the training lines, measure on the driver.

Everything that is fitted — features, segments, rules — is fitted on the cluster from the
lines before the split, like a run. The measuring (:func:`basketlens.backtest.evaluate`:
every method's recommendations, which items were new to whom after the split) is the local
code on the two sets of cleaned lines collected to the driver, so the measures are the local
engine's by construction; the driver needs memory for the cleaned lines (about 150 bytes per
line), which bounds the ledgers the Spark backtest takes.

Example:
    >>> at = split_at(cleaned.lines, BacktestOptions(holdout_months=3))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from datetime import datetime

import polars as pl
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from basketlens.backtest import evaluate
from basketlens.backtest.options import BacktestOptions
from basketlens.backtest.stage import BacktestResult, resolve_split
from basketlens.errors import ParameterError
from basketlens.schema import CLEAN_SCHEMA
from basketlens.spark.frames import collect

logger = logging.getLogger(__name__)

__all__ = ["evaluate_on_driver", "split_on_spark"]


def split_on_spark(
    lines: DataFrame, options: BacktestOptions
) -> tuple[datetime, DataFrame, DataFrame]:
    """The split instant (as the local backtest resolves it) and the lines before / after it."""
    row = lines.agg(F.min("date").alias("first"), F.max("date").alias("last")).first()
    assert row is not None
    at = resolve_split(pl.DataFrame({"date": [row["last"]]}), options)
    train = lines.filter(F.col("date") < F.lit(at).cast("timestamp_ntz"))
    test = lines.filter(F.col("date") >= F.lit(at).cast("timestamp_ntz"))
    n_train, n_test = train.count(), test.count()
    if n_train == 0 or n_test == 0:
        side = "before" if n_train == 0 else "on or after"
        raise ParameterError(
            f"split {at:%Y-%m-%d} leaves no lines {side} it; the ledger runs from "
            f"{row['first']:%Y-%m-%d} to {row['last']:%Y-%m-%d}"
        )
    logger.info("backtest split %s: %d training lines, %d test lines", at, n_train, n_test)
    return at, train, test


def evaluate_on_driver(
    train: DataFrame,
    test: DataFrame,
    *,
    rules: pl.DataFrame,
    customers: pl.DataFrame,
    split: datetime,
    options: BacktestOptions,
    started: float,
) -> BacktestResult:
    """:func:`basketlens.backtest.evaluate` on the collected cleaned lines."""
    return evaluate(
        collect(train, CLEAN_SCHEMA),
        collect(test, CLEAN_SCHEMA),
        rules=rules,
        customers=customers,
        split=split,
        options=options,
        started=started,
    )
