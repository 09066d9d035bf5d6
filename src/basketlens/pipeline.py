"""The one module that knows the order of the stages (``STAGES``).

ingest → clean → features → segment → mine → opportunities → recommend → write → report.

Each stage is called through its public entry point with its own options section of the
:class:`~basketlens.config.RunConfig`; this module passes the typed results from one to the
next, times them, and assembles the :class:`~basketlens.runfolder.Analysis` (the tables and the
run record) that the run folder stores. It computes nothing itself.

Example:
    >>> from basketlens.config import RunConfig
    >>> cfg = RunConfig.from_mapping({"input": {"sales": "sales.csv"}, "output": {"out": "out"}})
    >>> result = run_pipeline(cfg)                      # doctest: +SKIP
    >>> result.analysis.segments.height                 # doctest: +SKIP
    4
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from basketlens.backtest import evaluate
from basketlens.backtest.stage import BacktestResult, combine, origins, split_lines, test_days
from basketlens.clean import CleanResult, clean_ledger
from basketlens.clock import Clock, ProgressReporter
from basketlens.config import RunConfig
from basketlens.errors import ParameterError
from basketlens.features import build_customer_features
from basketlens.ingest import Ledger, load_ledger
from basketlens.mining import MiningResult, run_mining
from basketlens.opportunities import OpportunityResult, run_opportunities
from basketlens.opportunities.opportunities import offered_rules
from basketlens.recommender import RecommenderResult, run_recommender
from basketlens.record import Fitted, assemble, run_currency
from basketlens.report import ChartDrawing, ReportFiles, render_report, start_charts
from basketlens.runfolder import Analysis
from basketlens.runfolder.write import open_run_folder
from basketlens.segment import CustomerSegmenter, segment_customers
from basketlens.sinks import open_sinks
from basketlens.uris import redact

# light: pyspark loads on first use of an engine function; a missing extra is one clear error
from basketlens import spark as spark_engine  # isort: skip

log = logging.getLogger(__name__)

__all__ = [
    "STAGES",
    "Clock",
    "Fitted",
    "ProgressReporter",
    "RunResult",
    "analyse_ledger",
    "backtest_lines",
    "fit_stages",
    "load_and_clean",
    "run_backtest",
    "run_pipeline",
    "segment_detail",
]

STAGES: tuple[str, ...] = (
    "ingest",
    "clean",
    "features",
    "segment",
    "mine",
    "opportunities",
    "recommend",
    "write",
    "report",
)

#: How the report's parts are named in the report stage's line.
_PART_NAMES = {"excel": "workbook"}


@dataclass(frozen=True, eq=False)
class RunResult:
    """A finished run: the analysis (tables and record), its inputs, where it was written."""

    config: RunConfig
    analysis: Analysis
    ledger: Ledger
    out_dir: Path | None = None
    report: ReportFiles | None = None
    timings: dict[str, float] = field(default_factory=dict)
    published: tuple[str, ...] = ()  # s3:// run and database schema written (passwords masked)


# ------------------------------------------------------------------------------ stages
def load_and_clean(config: RunConfig, *, clock: Clock | None = None) -> tuple[Ledger, CleanResult]:
    """Ingest the configured ledger and apply the cleaning rules (the first two stages)."""
    inp = config.input
    if not inp.sales:
        raise ParameterError("no sales file given: pass SALES (or set [input] sales in the config)")
    clock = clock or Clock()
    with clock.stage("ingest", f"reading {redact(inp.sales)}"):
        ledger = load_ledger(
            inp.sales,
            items=inp.items,
            customers=inp.customers,
            column_map=dict(config.columns) or None,
            sheet=inp.sheet,
            delimiter=inp.delimiter,
            encoding=inp.encoding,
            query=inp.query,
            basket_by=config.clean.basket_by,
            progress=clock.counter("lines"),
        )
        clock.detail = f"{ledger.n_lines:,} lines, layout {ledger.layout}"
    return ledger, clean(ledger, config, clock=clock)


def clean(ledger: Ledger, config: RunConfig, *, clock: Clock | None = None) -> CleanResult:
    """The clean stage on a loaded ledger."""
    clock = clock or Clock()
    with clock.stage("clean", "applying cleaning rules"):
        cleaned = clean_ledger(ledger, config.clean, progress=clock.counter("lines"))
        clock.detail = f"{cleaned.lines.height:,} of {ledger.n_lines:,} lines kept"
    return cleaned


def fit_stages(
    lines: pl.DataFrame,
    items: pl.DataFrame,
    config: RunConfig,
    *,
    clock: Clock | None = None,
    opportunities: bool = True,
    horizon_days: float | None = None,
    currency: str | None = None,
    before_recommend: Callable[[Fitted], None] | None = None,
) -> Fitted:
    """features → segment → mine (→ opportunities) → recommend on cleaned lines; nothing is
    written.

    The backtest calls this on the lines before its split, so fitting sees no later data
    (``horizon_days``: the recommender's horizon, the backtest's test period; ``currency``:
    the one its amounts are in, see :func:`run_currency`). ``before_recommend`` is called
    with the stages done so far just before the recommender trains (a run starts drawing its
    charts then).
    """
    clock = clock or Clock()
    with clock.stage("features", "building customer features"):
        features = build_customer_features(lines, config.features, items=items)
        clock.detail = f"{features.table.height:,} customers"

    with clock.stage("segment", "choosing k and clustering customers"):
        segmenter, customers = segment_customers(
            features.table, config.segment, labels=features.labels
        )
        clock.detail = segment_detail(segmenter)

    mining = found = None
    if config.mine.enabled:
        with clock.stage("mine", "mining association rules overall and per segment"):
            mining = run_mining(
                lines, segmenter.assignments_, config.mine, items, progress=clock.counter("scopes")
            )
            clock.detail = mining.summary
        if opportunities:
            with clock.stage("opportunities", "finding cross-sell opportunities"):
                found = run_opportunities(
                    lines,
                    mining.rules.table,
                    customers,
                    items=items,
                    segmenter=segmenter,
                    options=config.recommend,
                    families=None if mining.families is None else mining.families.table,
                )
                clock.detail = opportunities_detail(found)
    if before_recommend is not None:
        before_recommend(Fitted(features, segmenter, customers, mining, found))
    recommended = recommend_stage(
        lines, customers, items, segmenter, mining, found, config, clock, horizon_days, currency
    )
    return Fitted(features, segmenter, customers, mining, found, recommended)


def recommend_stage(
    lines: Any,
    customers: pl.DataFrame,
    items: pl.DataFrame,
    segmenter: CustomerSegmenter,
    mining: MiningResult | None,
    found: OpportunityResult | None,
    config: RunConfig,
    clock: Clock,
    horizon_days: float | None,
    currency: str | None,
) -> RecommenderResult:
    """The recommend stage, for both engines (``lines``: cleaned lines, or an engine's
    purchases — whatever :func:`~basketlens.recommender.run_recommender` reads)."""
    with clock.stage("recommend", "training the recommender and ranking every customer's items"):
        recommended = run_recommender(
            lines,
            customers,
            items=items,
            rules=mining.rules.table if mining is not None else None,
            options=config.recommend,
            mine=_inner_miner(segmenter, config, items) if mining is not None else None,
            horizon_days=horizon_days,
            currency=currency,
            matrix=found.opportunities.matrix if found is not None else None,
        )
        clock.detail = (
            f"{recommended.recommendations['customer_id'].n_unique():,} customers, "
            f"{recommended.recommendations.height:,} recommendations"
        )
    return recommended


def opportunities_detail(found: OpportunityResult) -> str:
    """The opportunities stage's line: calls and customers with recommendations."""
    return (
        f"{found.call_list.table.height:,} opportunities, "
        f"{found.recommendations['customer_id'].n_unique():,} customers with recommendations"
    )


def segment_detail(segmenter: CustomerSegmenter) -> str:
    """The segment stage's line: k, how it was chosen, silhouette, stability, verdict."""
    return (
        f"k={segmenter.k_} by {segmenter.summary()['k_method']}, silhouette "
        f"{segmenter.silhouette_:.3f}, stability {segmenter.stability_:.2f}, "
        f"{segmenter.verdict_} structure"
    )


def _inner_miner(
    segmenter: CustomerSegmenter, config: RunConfig, items: pl.DataFrame
) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """Mines rules on part of the lines (the recommender's inner split) like the mine stage,
    at item level only: family and category rules back no recommendation."""
    options = replace(config.mine, generalised=False, itemsets=False)

    def mine(part: pl.DataFrame) -> pl.DataFrame:
        return run_mining(part, segmenter.assignments_, options, items).rules.table

    return mine


def analyse_ledger(
    ledger: Ledger | None, config: RunConfig, *, clock: Clock | None = None
) -> Analysis:
    """Every stage from cleaning to opportunities on a loaded ledger, as an :class:`Analysis`.

    ``ledger`` None reads ``config.input`` (with ``engine = "spark"``, on the cluster).
    """
    clock = clock or Clock()
    started = time.time()
    if _on_spark(config):
        run = spark_engine.fit_on_spark(config, clock=clock, ledger=ledger)
        return _assemble_spark(run, config, clock, started)
    if ledger is None:
        ledger, cleaned = load_and_clean(config, clock=clock)
    else:
        cleaned = clean(ledger, config, clock=clock)
    currency = run_currency(config, ledger)
    fitted = fit_stages(cleaned.lines, cleaned.items, config, clock=clock, currency=currency)
    return assemble(ledger, cleaned, fitted, config, clock.timings, started=started)


def run_pipeline(config: RunConfig, *, progress: ProgressReporter | None = None) -> RunResult:
    """Run every stage on the configured ledger, write the run folder and render the report.

    With a backtest configured (``[backtest] holdout_months`` or ``split``, ``run
    --backtest-months N``) the backtest runs too and its tables go into the run folder.
    """
    config = config.validated()
    sinks = open_sinks(config.output)  # a bad --out or --to-db fails now, not after the work
    inputs = (config.input.sales, config.input.items, config.input.customers)
    # before any work: the folder checked (inputs, writability) and locked; swapped in at the end
    with open_run_folder(sinks.folder, inputs=inputs) as folder, ExitStack() as early:
        clock = Clock(progress)
        started = time.time()
        charts: list[ChartDrawing] = []
        if _on_spark(config):
            run = spark_engine.fit_on_spark(config, clock=clock, backtest=_wants_backtest(config))
            ledger: Any = run.ledger
            analysis = _assemble_spark(run, config, clock, started)
        else:
            ledger, cleaned = load_and_clean(config, clock=clock)
            currency = run_currency(config, ledger)

            def draw_charts(partial: Fitted) -> None:
                """The charts of the stages so far, drawn while the recommender trains (its
                Python code leaves a core idle); the report takes them over."""
                if config.report.enabled:
                    bundle = assemble(ledger, cleaned, partial, config, {}, started=started)
                    drawing = start_charts(bundle, out_dir=folder.staging, options=config.report)
                    if drawing is not None:
                        charts.append(early.enter_context(drawing))

            fitted = fit_stages(
                cleaned.lines,
                cleaned.items,
                config,
                clock=clock,
                currency=currency,
                before_recommend=draw_charts,
            )
            backtest = None
            if _wants_backtest(config):
                backtest = backtest_lines(
                    cleaned.lines, cleaned.items, config, clock=clock, currency=currency
                )
            analysis = assemble(
                ledger, cleaned, fitted, config, clock.timings, started=started, backtest=backtest
            )
        with clock.stage("write", f"writing outputs to {sinks.describe()}"):
            analysis = folder.write(analysis)
            clock.detail = sinks.describe()
        files = None
        if config.report.enabled:
            with clock.stage("report", "rendering the report, workbook, charts and BI tables"):
                files = render_report(
                    analysis,
                    options=config.report,
                    progress=clock.counter("charts"),
                    drawing=charts[0] if charts else None,
                )
                clock.detail = _report_detail(files)
        out_dir: Path | None = folder.commit()
    analysis, files = folder.relocate(analysis), folder.relocate(files)
    published: tuple[str, ...] = ()
    if sinks.remote:
        with clock.stage("publish", f"publishing to {sinks.describe()}"):
            published = sinks.publish(analysis)  # removes a staging folder once published
            clock.detail = ", ".join(published)
    if sinks.staging:
        out_dir, analysis = None, replace(analysis, out_dir=None)
    return RunResult(config, analysis, ledger, out_dir, files, dict(clock.timings), published)


def run_backtest(config: RunConfig, *, progress: ProgressReporter | None = None) -> BacktestResult:
    """Load and clean the configured ledger, then :func:`backtest_lines`."""
    config = config.validated()
    clock = Clock(progress)
    if _on_spark(config):
        return spark_engine.backtest_on_spark(config, clock=clock)
    ledger, cleaned = load_and_clean(config, clock=clock)
    return backtest_lines(
        cleaned.lines, cleaned.items, config, clock=clock, currency=run_currency(config, ledger)
    )


def backtest_lines(
    lines: pl.DataFrame,
    items: pl.DataFrame,
    config: RunConfig,
    *,
    clock: Clock | None = None,
    currency: str | None = None,
) -> BacktestResult:
    """Fit every stage on the cleaned lines before each split; measure the recommenders after
    it (one split, or ``rolling`` origins)."""
    splits = (
        (at, until, *split_lines(lines, at, until)) for at, until in origins(lines, config.backtest)
    )
    keep = lambda part: part  # noqa: E731  (the local engine evaluates the lines themselves)
    return measure_splits(
        splits, items, config, fit=fit_stages, read=keep, clock=clock, currency=currency
    )


def measure_splits(
    splits: Iterable[tuple[datetime, datetime | None, Any, Any]],
    items: pl.DataFrame,
    config: RunConfig,
    *,
    fit: Callable[..., Fitted],
    read: Callable[[Any], Any],
    clock: Clock | None = None,
    currency: str | None = None,
) -> BacktestResult:
    """The backtest's loop, for both engines: for each ``(split, test end, train, test)``
    (made one at a time), ``fit`` every stage on ``train`` (the engine's ``fit_stages``) and
    :func:`~basketlens.backtest.evaluate` the recommenders on what ``read`` makes of the two
    periods (the lines, or another engine's purchases)."""
    clock = clock or Clock()
    results = []
    started = time.perf_counter()
    for at, until, train, test in splits:
        fitted = fit(
            train,
            items,
            config,
            clock=clock,
            opportunities=False,
            horizon_days=test_days(at, until),
            currency=currency,
        )
        assert fitted.recommender is not None
        with clock.stage("backtest", f"measuring recommendations after {at:%Y-%m-%d}"):
            result = evaluate(
                read(train),
                read(test),
                # the rules the run would offer: item-level cross-sell (every kind with --variants)
                rules=offered_rules(
                    fitted.mining.rules.table, include_variants=config.recommend.include_variants
                )
                if fitted.mining is not None
                else None,
                customers=fitted.customers,
                recommender=fitted.recommender,
                split=at,
                test_end=until,
                options=config.backtest,
                started=started,
            )
            clock.detail = f"{result.table.height} methods"
        results.append(result)
        started = time.perf_counter()
    return combine(results)


# ------------------------------------------------------------------------------ engines
def _report_detail(files: ReportFiles) -> str:
    parts = ", ".join(
        f"{_PART_NAMES.get(k, k)} {v:.2f}s" for k, v in files.seconds.items() if k != "total"
    )
    return f"{len(files.all)} files ({parts}; charts render beside the others)"


def _on_spark(config: RunConfig) -> bool:
    return config.engine.engine == "spark"


def _wants_backtest(config: RunConfig) -> bool:
    """A run backtests too when a split is configured (``run --backtest-months N``)."""
    return config.backtest.split is not None or config.backtest.holdout_months is not None


def _assemble_spark(run: Any, config: RunConfig, clock: Clock, started: float) -> Analysis:
    return assemble(
        run.ledger,
        run.cleaned,
        run.fitted,
        config,
        clock.timings,
        started=started,
        lines_summary=run.lines_summary,
        engine=run.record,
        backtest=run.backtest,
    )
