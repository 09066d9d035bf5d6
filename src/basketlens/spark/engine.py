"""The stages on Spark, in the pipeline's order, producing the pipeline's own typed results.

:mod:`basketlens.pipeline` switches here when ``engine = "spark"``: ingest and clean on the
cluster, then features → segment → mine → opportunities (:func:`fit_cleaned`), each with the
same clock entries and the same result types as the local stages (``CustomerFeatures``,
``CustomerSegmenter``, ``MiningResult``, ``OpportunityResult`` in a
:class:`~basketlens.pipeline.Fitted`), so ``assemble`` and ``write_run`` do the rest unchanged.

Example:
    >>> fit = fit_on_spark(RunConfig.from_mapping({"input": {"sales": "s.parquet"},
    ...                    "engine": {"engine": "spark"}}), clock=Clock())  # doctest: +SKIP
    >>> fit.fitted.segmenter.k_  # doctest: +SKIP
    4
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
from pyspark.sql import DataFrame

from basketlens.errors import ParameterError
from basketlens.pipeline import Clock, Fitted
from basketlens.spark.backtest import evaluate_on_driver, split_on_spark
from basketlens.spark.clean import SparkCleaned, clean_on_spark
from basketlens.spark.features import features_on_spark
from basketlens.spark.ingest import SparkLedger, from_local_ledger, read_ledger
from basketlens.spark.mining import mine_on_spark
from basketlens.spark.opportunities import customer_items_on_spark, run_opportunities
from basketlens.spark.segment import segment_on_driver
from basketlens.spark.session import spark_session

if TYPE_CHECKING:
    from basketlens.backtest.stage import BacktestResult
    from basketlens.config import RunConfig
    from basketlens.ingest import Ledger

__all__ = ["SparkFit", "backtest_on_spark", "fit_cleaned", "fit_on_spark"]


@dataclass(frozen=True, eq=False)
class SparkFit:
    """A run's results on Spark: ledger and cleaning records, the fitted stages, and the
    counts and engine record ``assemble`` puts in ``run.json``."""

    ledger: SparkLedger
    cleaned: SparkCleaned
    fitted: Fitted
    lines_summary: dict[str, Any]
    record: dict[str, Any]


def load_and_clean_on_spark(
    config: RunConfig, clock: Clock, ledger: Ledger | None = None
) -> tuple[SparkLedger, SparkCleaned]:
    """Ingest (``config.input``, or a ledger already loaded here) and clean, on Spark."""
    spark = spark_session(config.engine)
    what = config.input.sales if ledger is None else "the loaded ledger"
    with clock.stage("ingest", f"reading {what} on Spark ({spark.sparkContext.master})"):
        if ledger is None:
            sledger = read_ledger(spark, config.input, dict(config.columns) or None)
        else:
            sledger = from_local_ledger(spark, ledger)
        clock.detail = f"{sledger.n_lines:,} lines, layout {sledger.layout}"
    with clock.stage("clean", "applying cleaning rules on Spark"):
        cleaned = clean_on_spark(
            sledger.lines, sledger.n_lines, config.clean, sales=config.input.sales or ""
        )
        kept = int(cleaned.account["rows_out"][-1])
        clock.detail = f"{kept:,} of {sledger.n_lines:,} lines kept"
    return sledger, cleaned


def _vocabulary_items(lines: DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """The item table restricted to the items of ``lines`` (the miner's vocabulary)."""
    present = [r[0] for r in lines.select("item").distinct().collect()]
    return items.filter(pl.col("item").is_in(present))


def fit_cleaned(
    lines: DataFrame,
    items: pl.DataFrame,
    config: RunConfig,
    *,
    clock: Clock,
    partitions: int,
    opportunities: bool = True,
) -> Fitted:
    """features → segment → mine (→ opportunities) on cleaned lines on Spark."""
    with clock.stage("features", "building customer features on Spark"):
        features = features_on_spark(lines, config.features, partitions=partitions)
        clock.detail = f"{features.table.height:,} customers"
    with clock.stage("segment", "choosing k and clustering customers"):
        segmenter, customers = segment_on_driver(features, config.segment)
        clock.detail = f"k={segmenter.k_}, silhouette {segmenter.silhouette_:.3f}"
    mining = found = None
    if config.mine.enabled:
        with clock.stage("mine", "mining association rules on Spark, overall and per segment"):
            vocabulary = _vocabulary_items(lines, items)
            mining = mine_on_spark(
                lines, segmenter.assignments_, config.mine, vocabulary, config.engine
            )
            scopes = mining.rules.table["scope"].n_unique()
            clock.detail = f"{mining.rules.table.height:,} rules in {scopes} scopes"
        if opportunities:
            with clock.stage("opportunities", "finding cross-sell opportunities"):
                matrix = customer_items_on_spark(lines, partitions)
                found = run_opportunities(
                    matrix,  # type: ignore[arg-type]  # find_opportunities takes the matrix
                    mining.rules.table,
                    customers,
                    items=items,
                    segmenter=segmenter,
                    options=config.recommend,
                )
                clock.detail = (
                    f"{found.opportunities.table.height:,} opportunities, "
                    f"{found.recommendations['customer_id'].n_unique():,} customers "
                    "with recommendations"
                )
    return Fitted(features, segmenter, customers, mining, found)


def _record(lines: DataFrame, cleaned: SparkCleaned) -> dict[str, Any]:
    sc = lines.sparkSession.sparkContext
    return {
        "name": "spark",
        "spark_version": lines.sparkSession.version,
        "master": sc.master,
        "default_parallelism": sc.defaultParallelism,
        "partitions": cleaned.partitions,
    }


def fit_on_spark(config: RunConfig, *, clock: Clock, ledger: Ledger | None = None) -> SparkFit:
    """Every stage from ingest to opportunities on Spark (``ledger`` None: read the input)."""
    sledger, cleaned = load_and_clean_on_spark(config, clock, ledger)
    fitted = fit_cleaned(
        cleaned.lines, cleaned.items, config, clock=clock, partitions=cleaned.partitions
    )
    summary = cleaned.summary()
    record = _record(cleaned.lines, cleaned)
    cleaned.lines.unpersist()
    return SparkFit(sledger, cleaned, fitted, summary, record)


def backtest_on_spark(config: RunConfig, *, clock: Clock) -> BacktestResult:
    """Ingest, clean and split on Spark; fit before the split; measure after it."""
    started = time.perf_counter()
    _, cleaned = load_and_clean_on_spark(config, clock)
    at, train, test = split_on_spark(cleaned.lines, config.backtest)
    fitted = fit_cleaned(
        train,
        cleaned.items,
        config,
        clock=clock,
        partitions=cleaned.partitions,
        opportunities=False,
    )
    if fitted.mining is None:
        raise ParameterError("the backtest compares rule-based recommendations; enable mining")
    with clock.stage("backtest", "measuring recommendations after the split"):
        result = evaluate_on_driver(
            train,
            test,
            rules=fitted.mining.rules.table,
            customers=fitted.customers,
            split=at,
            options=config.backtest,
            started=started,
        )
        clock.detail = f"{result.table.height} methods"
    cleaned.lines.unpersist()
    return result
