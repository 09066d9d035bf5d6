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
import platform
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from basketlens import __version__
from basketlens.backtest import evaluate
from basketlens.backtest.stage import BacktestResult, combine, origins, split_lines, test_days
from basketlens.clean import CleanResult, clean_ledger
from basketlens.config import RunConfig
from basketlens.errors import ParameterError
from basketlens.features import CustomerFeatures, build_customer_features
from basketlens.ingest import Ledger, load_ledger
from basketlens.ingest.layouts import layout_currency
from basketlens.mining import MiningResult, run_mining
from basketlens.opportunities import OpportunityResult, run_opportunities
from basketlens.opportunities.opportunities import offered_rules
from basketlens.recommender import RecommenderResult, run_recommender
from basketlens.report import ReportFiles, render_report
from basketlens.runfolder import Analysis
from basketlens.runfolder.write import open_run_folder
from basketlens.segment import CustomerSegmenter, rfm_summary, segment_customers
from basketlens.sinks import open_sinks
from basketlens.uris import redact

# light: pyspark loads on first use of an engine function; a missing extra is one clear error
from basketlens import spark as spark_engine  # isort: skip

log = logging.getLogger(__name__)

__all__ = [
    "STAGES",
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

#: Packages whose versions shape the results (recorded in run.json).
_PACKAGES = ("polars", "pyarrow", "numpy", "scipy", "scikit-learn", "typer", "rich", "pyspark")


class ProgressReporter(Protocol):
    """What the pipeline tells a front end (the CLI shows it with Rich).

    A reporter may also define ``stage_progress(stage, done, total, unit)``: it is then told
    the counts of countable work while a stage runs (scopes mined, charts rendered).
    """

    def stage_started(self, stage: str, description: str) -> None: ...

    def stage_finished(self, stage: str, seconds: float, detail: str) -> None: ...

    def stage_failed(self, stage: str) -> None: ...


class _Silent:
    def stage_started(self, stage: str, description: str) -> None:
        log.info("%s: %s", stage, description)

    def stage_finished(self, stage: str, seconds: float, detail: str) -> None:
        log.info("%s done in %.2fs: %s", stage, seconds, detail)

    def stage_failed(self, stage: str) -> None:
        log.info("%s failed", stage)


class Clock:
    """Times the stages and tells the progress reporter when each starts and ends."""

    def __init__(self, progress: ProgressReporter | None = None) -> None:
        self.progress = progress or _Silent()
        self.timings: dict[str, float] = {}
        self.detail = ""
        self.current = ""

    def counter(self, unit: str) -> Callable[[int, int], None] | None:
        """A callback ``(done, total)`` that reports the running stage's counts of ``unit``,
        or None when the reporter does not show counts."""
        report = getattr(self.progress, "stage_progress", None)
        if report is None:
            return None
        stage = self.current
        return lambda done, total: report(stage, done, total, unit)

    @contextmanager
    def stage(self, name: str, description: str) -> Iterator[Clock]:
        self.detail = ""
        self.current = name
        self.progress.stage_started(name, description)
        start = time.perf_counter()
        try:
            yield self
        except BaseException:
            self.progress.stage_failed(name)  # e.g. stop a spinner before the error shows
            raise
        self.timings[name] = round(time.perf_counter() - start, 4)
        self.progress.stage_finished(name, self.timings[name], self.detail)


@dataclass(frozen=True, eq=False)
class Fitted:
    """What the stages after cleaning produce from a set of cleaned lines (typed, in memory)."""

    features: CustomerFeatures
    segmenter: CustomerSegmenter
    customers: pl.DataFrame  # features + assignments
    mining: MiningResult | None
    opportunities: OpportunityResult | None
    recommender: RecommenderResult | None = None


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
        )
        clock.detail = f"{ledger.n_lines:,} lines, layout {ledger.layout}"
    return ledger, clean(ledger, config, clock=clock)


def clean(ledger: Ledger, config: RunConfig, *, clock: Clock | None = None) -> CleanResult:
    """The clean stage on a loaded ledger."""
    clock = clock or Clock()
    with clock.stage("clean", "applying cleaning rules"):
        cleaned = clean_ledger(ledger, config.clean)
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
) -> Fitted:
    """features → segment → mine (→ opportunities) → recommend on cleaned lines; nothing is
    written.

    The backtest calls this on the lines before its split, so fitting sees no later data
    (``horizon_days``: the recommender's horizon, the backtest's test period; ``currency``:
    the one its amounts are in, see :func:`run_currency`).
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
                clock.detail = (
                    f"{found.call_list.table.height:,} opportunities, "
                    f"{found.recommendations['customer_id'].n_unique():,} customers "
                    "with recommendations"
                )
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
    return Fitted(features, segmenter, customers, mining, found, recommended)


def segment_detail(segmenter: CustomerSegmenter) -> str:
    """The segment stage's line: k, how it was chosen, silhouette, stability, verdict."""
    return (
        f"k={segmenter.k_} by {segmenter.summary()['k_method']}, silhouette "
        f"{segmenter.silhouette_:.3f}, stability {segmenter.stability_:.2f}, "
        f"{segmenter.verdict_} structure"
    )


def run_currency(config: RunConfig, ledger: Ledger | None = None) -> str | None:
    """The currency the run's amounts are in: ``[report] currency`` (``--currency``), else
    the ledger layout's when it is a known public dataset, else None."""
    if config.report.currency:
        return config.report.currency
    return layout_currency(ledger.layout) if ledger is not None else None


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
    with open_run_folder(sinks.folder, inputs=inputs) as folder:
        clock = Clock(progress)
        started = time.time()
        if _on_spark(config):
            run = spark_engine.fit_on_spark(config, clock=clock, backtest=_wants_backtest(config))
            ledger: Any = run.ledger
            analysis = _assemble_spark(run, config, clock, started)
        else:
            ledger, cleaned = load_and_clean(config, clock=clock)
            currency = run_currency(config, ledger)
            fitted = fit_stages(
                cleaned.lines, cleaned.items, config, clock=clock, currency=currency
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
                    analysis, options=config.report, progress=clock.counter("charts")
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
    clock = clock or Clock()
    results = []
    for at, until in origins(lines, config.backtest):
        started = time.perf_counter()
        train, test = split_lines(lines, at, until)
        fitted = fit_stages(
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
                train,
                test,
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
    return combine(results)


# ------------------------------------------------------------------------------ assembly
def assemble(
    ledger: Ledger,
    cleaned: CleanResult,
    fitted: Fitted,
    config: RunConfig,
    timings: dict[str, float],
    *,
    started: float,
    lines_summary: Mapping[str, Any] | None = None,
    engine: Mapping[str, Any] | None = None,
    backtest: BacktestResult | None = None,
) -> Analysis:
    """The tables of every stage and the run record, as one :class:`Analysis`.

    ``lines_summary`` (lines_kept, baskets, items, first_date, last_date) and ``engine`` (the
    engine's record) come from the Spark engine, whose cleaned lines are not in this process.
    """
    seg = fitted.segmenter
    mining, opp, rec = fitted.mining, fitted.opportunities, fitted.recommender
    rules = None
    if mining is not None:
        rules = mining.rules.table
        if opp is not None:
            rules = opp.with_rule_counts(rules)
    summary = lines_summary or summarise_lines(cleaned.lines)
    info: dict[str, Any] = {
        "basketlens_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": config.as_dict(),
        "inputs": [asdict(s) for s in ledger.sources],
        "layout": ledger.layout,
        "currency": run_currency(config, ledger),
        "column_map": dict(ledger.column_map),
        "rows": {
            "lines_read": ledger.n_lines,
            "lines_kept": summary["lines_kept"],
            "customers": fitted.customers.height,
            **{k: summary[k] for k in ("baskets", "items", "first_date", "last_date")},
        },
        "cleaning": cleaned.account.to_dicts(),
        "features": dict(fitted.features.definitions),
        "segmentation": {**seg.summary(), "rfm": rfm_summary(fitted.customers)},
        "mining": mining.info if mining is not None else {"enabled": False},
        "opportunities": opp.summary() if opp is not None else None,
        "recommender": rec.summary() if rec is not None else None,
        "backtest": _backtest_summary(backtest) if backtest is not None else None,
        "timings_s": {**timings, "total": round(time.time() - started, 3)},
        "versions": package_versions(),
        "platform": platform.platform(),
        "engine": dict(engine or {"name": "local"}),
    }
    return Analysis(
        cleaning=cleaned.account,
        items=cleaned.items,
        customers=fitted.customers,
        segments=seg.segments_,
        k_selection=seg.k_selection_,
        pca_loadings=seg.loadings_,
        rules=rules,
        item_support=mining.item_support if mining is not None else None,
        itemsets=mining.itemsets if mining is not None else None,
        families=mining.families.table
        if mining is not None and mining.families is not None
        else None,
        opportunities=opp.call_list.table if opp is not None else None,
        recommendations=rec.recommendations
        if rec is not None
        else (opp.recommendations if opp is not None else None),
        backtest=backtest.table if backtest is not None else None,
        backtest_recommendations=backtest.recommendations if backtest is not None else None,
        backtest_calibration=backtest.calibration if backtest is not None else None,
        info=info,
        model=_model(opp, rec, seg),
        segmenter=seg,
    )


def summarise_lines(lines: pl.DataFrame) -> dict[str, Any]:
    """Counts of the cleaned lines for ``run.json`` (kept, baskets, items, date range)."""
    return {
        "lines_kept": lines.height,
        "baskets": lines["basket"].n_unique(),
        "items": lines["item"].n_unique(),
        "first_date": str(lines["date"].min()),
        "last_date": str(lines["date"].max()),
    }


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


def _model(
    opp: OpportunityResult | None, rec: RecommenderResult | None, seg: CustomerSegmenter
) -> Any:
    """The saved model: the recommender's ranked lists on the rules' model (basket completion)."""
    if rec is None:
        return opp.model if opp is not None else None
    return rec.model(opp.model if opp is not None else None, segmenter=seg)


def _backtest_summary(result: BacktestResult) -> dict[str, Any]:
    """The backtest in run.json: splits and each method's hit rate."""
    return {
        "splits": [str(s) for s in result.splits],
        "train_lines": result.train_lines,
        "test_lines": result.test_lines,
        "hit_rate": {
            f"{r['method']}@{r['split']:%Y-%m-%d}": round(r["hit_rate"], 4)
            for r in result.table.iter_rows(named=True)
        },
    }


def package_versions() -> dict[str, str]:
    """Versions of Python, basketlens and the packages that shape the results."""
    versions = {"python": sys.version.split()[0], "basketlens": __version__}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
