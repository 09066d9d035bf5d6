"""The one module that knows the order of the stages (``STAGES``).

ingest → clean → features → segment → mine → opportunities → write → report.

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from basketlens import __version__
from basketlens.backtest import evaluate
from basketlens.backtest.stage import BacktestResult, resolve_split, split_lines
from basketlens.clean import CleanResult, clean_ledger
from basketlens.config import RunConfig
from basketlens.errors import ParameterError
from basketlens.features import CustomerFeatures, build_customer_features
from basketlens.ingest import Ledger, load_ledger
from basketlens.mining import MiningResult, run_mining
from basketlens.opportunities import OpportunityResult, run_opportunities
from basketlens.report import ReportFiles, render_report
from basketlens.runfolder import Analysis
from basketlens.runfolder.write import check_out_dir
from basketlens.segment import CustomerSegmenter, rfm_cells, rfm_summary

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
]

STAGES: tuple[str, ...] = (
    "ingest",
    "clean",
    "features",
    "segment",
    "mine",
    "opportunities",
    "write",
    "report",
)

#: Packages whose versions shape the results (recorded in run.json).
_PACKAGES = ("polars", "pyarrow", "numpy", "scipy", "scikit-learn", "typer", "rich")


class ProgressReporter(Protocol):
    """What the pipeline tells a front end (the CLI shows it with Rich)."""

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

    @contextmanager
    def stage(self, name: str, description: str) -> Iterator[Clock]:
        self.detail = ""
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


@dataclass(frozen=True, eq=False)
class RunResult:
    """A finished run: the analysis (tables and record), its inputs, where it was written."""

    config: RunConfig
    analysis: Analysis
    ledger: Ledger
    out_dir: Path | None = None
    report: ReportFiles | None = None
    timings: dict[str, float] = field(default_factory=dict)


# ------------------------------------------------------------------------------ stages
def load_and_clean(config: RunConfig, *, clock: Clock | None = None) -> tuple[Ledger, CleanResult]:
    """Ingest the configured ledger and apply the cleaning rules (the first two stages)."""
    inp = config.input
    if not inp.sales:
        raise ParameterError("no sales file given: pass SALES (or set [input] sales in the config)")
    clock = clock or Clock()
    with clock.stage("ingest", f"reading {inp.sales}"):
        ledger = load_ledger(
            inp.sales,
            items=inp.items,
            customers=inp.customers,
            column_map=dict(config.columns) or None,
            sheet=inp.sheet,
            delimiter=inp.delimiter,
            encoding=inp.encoding,
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
) -> Fitted:
    """features → segment → mine (→ opportunities) on cleaned lines; nothing is written.

    The backtest calls this on the lines before its split, so fitting sees no later data.
    """
    clock = clock or Clock()
    with clock.stage("features", "building customer features"):
        features = build_customer_features(lines, config.features, items=items)
        clock.detail = f"{features.table.height:,} customers"

    with clock.stage("segment", "choosing k and clustering customers"):
        segmenter = CustomerSegmenter.from_options(config.segment).fit(
            features.table, labels=features.labels
        )
        customers = features.table.join(
            segmenter.assignments_, on="customer_id", how="left", validate="1:1"
        ).join(rfm_cells(features.table), on="customer_id", how="left", validate="1:1")
        clock.detail = (
            f"k={segmenter.k_} by {segmenter.summary()['k_method']}, silhouette "
            f"{segmenter.silhouette_:.3f}, stability {segmenter.stability_:.2f}, "
            f"{segmenter.verdict_} structure"
        )

    mining = found = None
    if config.mine.enabled:
        with clock.stage("mine", "mining association rules overall and per segment"):
            mining = run_mining(lines, segmenter.assignments_, config.mine, items)
            scopes = mining.rules.table["scope"].n_unique()
            clock.detail = f"{mining.rules.table.height:,} rules in {scopes} scopes"
        if opportunities:
            with clock.stage("opportunities", "finding cross-sell opportunities"):
                found = run_opportunities(
                    lines,
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


def analyse_ledger(ledger: Ledger, config: RunConfig, *, clock: Clock | None = None) -> Analysis:
    """Every stage from cleaning to opportunities on a loaded ledger, as an :class:`Analysis`."""
    clock = clock or Clock()
    started = time.time()
    cleaned = clean(ledger, config, clock=clock)
    fitted = fit_stages(cleaned.lines, cleaned.items, config, clock=clock)
    return assemble(ledger, cleaned, fitted, config, clock.timings, started=started)


def run_pipeline(config: RunConfig, *, progress: ProgressReporter | None = None) -> RunResult:
    """Run every stage on the configured ledger, write the run folder and render the report."""
    config = config.validated()
    out_dir = check_out_dir(Path(config.output.out))  # a bad --out fails now, not after the work
    clock = Clock(progress)
    started = time.time()
    ledger, cleaned = load_and_clean(config, clock=clock)
    fitted = fit_stages(cleaned.lines, cleaned.items, config, clock=clock)
    analysis = assemble(ledger, cleaned, fitted, config, clock.timings, started=started)
    with clock.stage("write", f"writing outputs to {out_dir}"):
        analysis = replace(analysis, out_dir=analysis.write(out_dir))
        clock.detail = str(out_dir)
    files = None
    if config.report.enabled:
        with clock.stage("report", "rendering report.html, insights.xlsx, charts and BI tables"):
            files = render_report(analysis, options=config.report)
            clock.detail = f"{len(files.all)} files"
    return RunResult(config, analysis, ledger, out_dir, files, dict(clock.timings))


def run_backtest(config: RunConfig, *, progress: ProgressReporter | None = None) -> BacktestResult:
    """Load and clean the configured ledger, then :func:`backtest_lines`."""
    config = config.validated()
    clock = Clock(progress)
    _, cleaned = load_and_clean(config, clock=clock)
    return backtest_lines(cleaned.lines, cleaned.items, config, clock=clock)


def backtest_lines(
    lines: pl.DataFrame, items: pl.DataFrame, config: RunConfig, *, clock: Clock | None = None
) -> BacktestResult:
    """Fit every stage on the cleaned lines before the split; measure the recommenders after it."""
    clock = clock or Clock()
    started = time.perf_counter()
    at = resolve_split(lines, config.backtest)
    train, test = split_lines(lines, at)
    fitted = fit_stages(train, items, config, clock=clock, opportunities=False)
    if fitted.mining is None:
        raise ParameterError("the backtest compares rule-based recommendations; enable mining")
    with clock.stage("backtest", "measuring recommendations after the split"):
        result = evaluate(
            train,
            test,
            rules=fitted.mining.rules.table,
            customers=fitted.customers,
            split=at,
            options=config.backtest,
            started=started,
        )
        clock.detail = f"{result.table.height} methods"
    return result


# ------------------------------------------------------------------------------ assembly
def assemble(
    ledger: Ledger,
    cleaned: CleanResult,
    fitted: Fitted,
    config: RunConfig,
    timings: dict[str, float],
    *,
    started: float,
) -> Analysis:
    """The tables of every stage and the run record, as one :class:`Analysis`."""
    seg = fitted.segmenter
    mining, opp = fitted.mining, fitted.opportunities
    rules = None
    if mining is not None:
        rules = mining.rules.table
        if opp is not None:
            rules = opp.with_rule_counts(rules)
    lines = cleaned.lines
    info: dict[str, Any] = {
        "basketlens_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": config.as_dict(),
        "inputs": [asdict(s) for s in ledger.sources],
        "layout": ledger.layout,
        "column_map": dict(ledger.column_map),
        "rows": {
            "lines_read": ledger.n_lines,
            "lines_kept": lines.height,
            "customers": fitted.customers.height,
            "baskets": lines["basket"].n_unique(),
            "items": lines["item"].n_unique(),
            "first_date": str(lines["date"].min()),
            "last_date": str(lines["date"].max()),
        },
        "cleaning": cleaned.account.to_dicts(),
        "features": dict(fitted.features.definitions),
        "segmentation": {**seg.summary(), "rfm": rfm_summary(fitted.customers)},
        "mining": mining.info if mining is not None else {"enabled": False},
        "opportunities": opp.summary() if opp is not None else None,
        "timings_s": {**timings, "total": round(time.time() - started, 3)},
        "versions": package_versions(),
        "platform": platform.platform(),
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
        opportunities=opp.opportunities.table if opp is not None else None,
        recommendations=opp.recommendations if opp is not None else None,
        info=info,
        model=opp.model if opp is not None else None,
        segmenter=seg,
    )


def package_versions() -> dict[str, str]:
    """Versions of Python, basketlens and the packages that shape the results."""
    versions = {"python": sys.version.split()[0], "basketlens": __version__}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
