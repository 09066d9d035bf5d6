"""The stages on Spark, in the pipeline's order, producing the pipeline's own typed results.

:mod:`basketlens.pipeline` switches here when ``engine = "spark"``: ingest and clean on the
cluster, then features → segment → mine → opportunities → recommend (:func:`fit_cleaned`),
each with the same clock entries and the same result types as the local stages
(``CustomerFeatures``, ``CustomerSegmenter``, ``MiningResult``, ``OpportunityResult``,
``RecommenderResult`` in a :class:`~basketlens.pipeline.Fitted`) and, with a backtest
configured, the backtest; ``assemble`` and the run folder's writer do the rest unchanged.

What each stage runs where, and what reaches the driver, is in ``docs/scaling.md``.

Example:
    >>> fit = fit_on_spark(RunConfig.from_mapping({"input": {"sales": "s.parquet"},
    ...                    "engine": {"engine": "spark"}}), clock=Clock())  # doctest: +SKIP
    >>> fit.fitted.segmenter.k_  # doctest: +SKIP
    4
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from basketlens.clock import Clock
from basketlens.pipeline import opportunities_detail, recommend_stage, segment_detail
from basketlens.record import Fitted, run_currency
from basketlens.spark.backtest import backtest_spark_lines
from basketlens.spark.clean import SparkCleaned, clean_on_spark
from basketlens.spark.features import features_on_spark
from basketlens.spark.ingest import SparkLedger, from_local_ledger, read_ledger
from basketlens.spark.lines import SparkLines
from basketlens.spark.mining import mine_on_spark
from basketlens.spark.opportunities import opportunities_on_spark
from basketlens.spark.purchases import SparkPurchases
from basketlens.spark.segment import segment_on_driver
from basketlens.spark.session import spark_session

if TYPE_CHECKING:
    from basketlens.backtest.stage import BacktestResult
    from basketlens.config import RunConfig
    from basketlens.ingest import Ledger

__all__ = ["SparkFit", "backtest_on_spark", "fit_cleaned", "fit_on_spark"]


@dataclass(frozen=True, eq=False)
class SparkFit:
    """A run's results on Spark: ledger and cleaning records, the fitted stages, the backtest
    (when asked), and the counts and engine record ``assemble`` puts in ``run.json``."""

    ledger: SparkLedger
    cleaned: SparkCleaned
    fitted: Fitted
    lines_summary: dict[str, Any]
    record: dict[str, Any]
    backtest: BacktestResult | None = None


def load_and_clean_on_spark(
    config: RunConfig, clock: Clock, ledger: Ledger | None = None
) -> tuple[SparkLedger, SparkCleaned]:
    """Ingest (``config.input``, or a ledger already loaded here) and clean, on Spark."""
    spark = spark_session(config.engine)
    what = config.input.sales if ledger is None else "the loaded ledger"
    with clock.stage("ingest", f"reading {what} on Spark ({spark.sparkContext.master})"):
        if ledger is None:
            columns = dict(config.columns) or None
            sledger = read_ledger(spark, config.input, columns, basket_by=config.clean.basket_by)
        else:
            sledger = from_local_ledger(spark, ledger)
        clock.detail = f"{sledger.n_lines:,} lines, layout {sledger.layout}"
    with clock.stage("clean", "applying cleaning rules on Spark"):
        cleaned = clean_on_spark(
            sledger.lines,
            sledger.n_lines,
            config.clean,
            sales=config.input.sales or "",
            cancel_prefix=sledger.cancel_prefix,
            service_items=sledger.service_items,
        )
        kept = int(cleaned.account["rows_out"][-1])
        clock.detail = f"{kept:,} of {sledger.n_lines:,} lines kept"
    return sledger, cleaned


def fit_cleaned(
    lines: SparkLines,
    items: pl.DataFrame,
    config: RunConfig,
    *,
    clock: Clock,
    opportunities: bool = True,
    horizon_days: float | None = None,
    currency: str | None = None,
) -> Fitted:
    """features → segment → mine (→ opportunities) → recommend on cleaned lines on Spark
    (the Spark twin of :func:`basketlens.pipeline.fit_stages`, same arguments)."""
    with clock.stage("features", "building customer features on Spark"):
        features = features_on_spark(
            lines.lines, lines.by_unit, config.features, partitions=lines.partitions, items=items
        )
        clock.detail = f"{features.table.height:,} customers"
    with clock.stage("segment", "choosing k and clustering customers"):
        segmenter, customers = segment_on_driver(features, config.segment)
        clock.detail = segment_detail(segmenter)
    purchases = SparkPurchases(lines.by_unit)
    mining = found = None
    if config.mine.enabled:
        with clock.stage("mine", "mining association rules on Spark, overall and per segment"):
            mining = mine_on_spark(
                lines.lines,
                segmenter.assignments_,
                config.mine,
                items,
                config.engine,
                progress=clock.counter("scopes"),
            )
            clock.detail = mining.summary
        if opportunities:
            with clock.stage("opportunities", "finding cross-sell opportunities"):
                found = opportunities_on_spark(
                    purchases,
                    mining.rules.table,
                    customers,
                    items=items,
                    segmenter=segmenter,
                    options=config.recommend,
                    families=None if mining.families is None else mining.families.table,
                )
                clock.detail = opportunities_detail(found)
    recommended = recommend_stage(
        purchases, customers, items, segmenter, mining, found, config, clock, horizon_days, currency
    )
    return Fitted(features, segmenter, customers, mining, found, recommended)


def _record(lines: SparkLines) -> dict[str, Any]:
    session = lines.lines.sparkSession
    sc = session.sparkContext
    return {
        "name": "spark",
        "spark_version": session.version,
        "master": sc.master,
        "default_parallelism": sc.defaultParallelism,
        "partitions": lines.partitions,
    }


def fit_on_spark(
    config: RunConfig, *, clock: Clock, ledger: Ledger | None = None, backtest: bool = False
) -> SparkFit:
    """Every stage from ingest to the recommender on Spark (``ledger`` None: read the input);
    with ``backtest``, the backtest of ``config.backtest`` too."""
    sledger, cleaned = load_and_clean_on_spark(config, clock, ledger)
    lines = SparkLines.of(cleaned)
    try:
        currency = run_currency(config, sledger)  # type: ignore[arg-type]  # a ledger's layout
        fitted = fit_cleaned(lines, cleaned.items, config, clock=clock, currency=currency)
        tested = None
        if backtest:
            tested = backtest_spark_lines(
                lines, cleaned.items, config, fit=fit_cleaned, clock=clock, currency=currency
            )
        summary = cleaned.summary()
        record = _record(lines)
    finally:
        lines.release()
    return SparkFit(sledger, cleaned, fitted, summary, record, tested)


def backtest_on_spark(config: RunConfig, *, clock: Clock) -> BacktestResult:
    """Ingest and clean on Spark, then the backtest of ``config.backtest``."""
    sledger, cleaned = load_and_clean_on_spark(config, clock)
    lines = SparkLines.of(cleaned)
    try:
        return backtest_spark_lines(
            lines,
            cleaned.items,
            config,
            fit=fit_cleaned,
            clock=clock,
            currency=run_currency(config, sledger),  # type: ignore[arg-type]
        )
    finally:
        lines.release()
