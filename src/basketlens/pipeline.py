"""The one module that knows the order of the stages (``STAGES``).

ingest → clean → features → segment → mine → opportunities → write → report.

Each stage is called through its public entry point only; this module passes the typed results
from one to the next, times them, and hands everything to :mod:`basketlens.outputs`.

Example:
    >>> from basketlens.config import RunConfig
    >>> cfg = RunConfig.from_mapping({"input": {"sales": "sales.csv"}, "output": {"out": "out"}})
    >>> result = run_pipeline(cfg)          # doctest: +SKIP
    >>> result.segmenter.k_                 # doctest: +SKIP
    4
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl

from basketlens.config import RunConfig
from basketlens.errors import ParameterError
from basketlens.schema import RULES_BASE_SCHEMA

if TYPE_CHECKING:
    from basketlens.clean import CleanResult
    from basketlens.features import CustomerFeatures
    from basketlens.ingest import Ledger
    from basketlens.mining.scopes import ScopedRules
    from basketlens.opportunities.stage import OpportunityResult
    from basketlens.segment import CustomerSegmenter

log = logging.getLogger(__name__)

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


@dataclass
class RunResult:
    """Everything a run produced, in memory, plus where it was written."""

    config: RunConfig
    out_dir: Path
    ledger: Ledger
    cleaned: CleanResult
    features: CustomerFeatures
    segmenter: CustomerSegmenter
    customers: pl.DataFrame
    rules: ScopedRules | None
    item_support: pl.DataFrame | None
    itemsets: pl.DataFrame | None = None
    opportunities: OpportunityResult | None = None
    timings: dict[str, float] = field(default_factory=dict)
    run_info: dict[str, Any] = field(default_factory=dict)


class _Clock:
    def __init__(self, progress: ProgressReporter) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.detail = ""

    @contextmanager
    def stage(self, name: str, description: str) -> Iterator[_Clock]:
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


def run_pipeline(config: RunConfig, *, progress: ProgressReporter | None = None) -> RunResult:
    """Run every stage on the configured ledger and write the outputs to ``config.output.out``."""
    from basketlens.runfolder.write import prepare_out_dir, write_outputs

    clock = _Clock(progress or _Silent())
    started = time.time()
    prepare_out_dir(Path(config.output.out))  # a bad --out fails now, not after the work

    ledger, cleaned = load_and_clean(config, clock=clock)
    analysis = analyse(cleaned.lines, config, clock=clock)
    opportunities = None
    if analysis.rules is not None:
        from basketlens.opportunities import run_opportunities

        with clock.stage("opportunities", "finding cross-sell opportunities and recommendations"):
            opportunities = run_opportunities(
                cleaned.lines,
                analysis.rules.table,
                analysis.customers,
                segmenter=analysis.segmenter,
                item_names=analysis.item_names,
                top_n=config.recommend.top_n,
            )
            clock.detail = (
                f"{opportunities.opportunities.table.height:,} opportunities, "
                f"{opportunities.recommendations['customer_id'].n_unique():,} customers "
                "with recommendations"
            )

    result = RunResult(
        config=config,
        out_dir=Path(config.output.out),
        ledger=ledger,
        cleaned=cleaned,
        features=analysis.features,
        segmenter=analysis.segmenter,
        customers=analysis.customers,
        rules=analysis.rules,
        item_support=analysis.item_support,
        itemsets=analysis.itemsets,
        opportunities=opportunities,
        timings=clock.timings,
    )
    with clock.stage("write", f"writing outputs to {result.out_dir}"):
        result.run_info = write_outputs(result, started_at=started)
        clock.detail = str(result.out_dir)
    if config.report.enabled:
        from basketlens.report import render_report

        with clock.stage("report", "rendering report.html, insights.xlsx, charts and BI tables"):
            files = render_report(result.out_dir, csv=config.report.csv)
            clock.detail = f"{len(files.all)} files, report.html {_size(files.html)}"
    return result


def _size(path: Path | None) -> str:
    return "not written" if path is None else f"{path.stat().st_size / 1e6:.1f} MB"


def load_and_clean(config: RunConfig, *, clock: _Clock | None = None) -> tuple[Ledger, CleanResult]:
    """Ingest the configured ledger and apply the cleaning rules (the first two stages)."""
    from basketlens.clean import clean_ledger
    from basketlens.ingest import load_ledger

    inp = config.input
    if not inp.sales:
        raise ParameterError("no sales file given: pass SALES (or set [input] sales in the config)")
    clock = clock or _Clock(_Silent())
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

    with clock.stage("clean", "applying cleaning rules"):
        cleaned = clean_ledger(ledger, config.clean)
        clock.detail = f"{cleaned.lines.height:,} of {ledger.n_lines:,} lines kept"
    return ledger, cleaned


@dataclass
class Analysis:
    """What the stages after cleaning produce from a set of cleaned lines."""

    features: CustomerFeatures
    segmenter: CustomerSegmenter
    customers: pl.DataFrame
    rules: ScopedRules | None
    item_support: pl.DataFrame | None
    itemsets: pl.DataFrame | None = None
    item_names: dict[str, str] = field(default_factory=dict)


def analyse(lines: pl.DataFrame, config: RunConfig, *, clock: _Clock | None = None) -> Analysis:
    """Run features → segment → mine on cleaned lines (``CLEAN_SCHEMA``); nothing is written.

    The backtest calls this on the lines before its split date, so fitting sees no later data.
    """
    from basketlens.features import build_customer_features
    from basketlens.segment import CustomerSegmenter

    clock = clock or _Clock(_Silent())
    with clock.stage("features", "building customer features"):
        features = build_customer_features(lines, config.features)
        clock.detail = f"{features.table.height:,} customers"

    with clock.stage("segment", "choosing k and clustering customers"):
        segmenter = CustomerSegmenter.from_options(config.segment).fit(features.table)
        customers = features.table.join(
            segmenter.assignments_, on="customer_id", how="left", validate="1:1"
        )
        clock.detail = f"k={segmenter.k_}, silhouette {segmenter.silhouette_:.3f}"

    rules = item_support = itemsets = None
    names: dict[str, str] = {}
    if config.mine.enabled:
        with clock.stage("mine", "mining association rules overall and per segment"):
            names = item_names(lines)
            rules, item_support, itemsets = _mine(lines, segmenter.assignments_, config, names)
            scopes = rules.table["scope"].n_unique()
            clock.detail = f"{rules.table.height:,} rules in {scopes} scopes"
    return Analysis(features, segmenter, customers, rules, item_support, itemsets, names)


def basket_scopes(
    lines: pl.DataFrame, assignments: pl.DataFrame, *, per_segment: bool
) -> tuple[Any, dict[str, Any]]:
    """Build the basket matrix and the basket rows of each segment scope ("all" is implicit).

    A basket belongs to the segment of its customer (the first unit on the basket when a
    basket key spans several, which only happens with a custom basket definition).
    """
    import numpy as np

    from basketlens.mining import to_basket_matrix

    matrix = to_basket_matrix(lines.select("basket", "item"))
    scopes: dict[str, Any] = {}
    if not per_segment:
        return matrix, scopes
    basket_segment = (
        lines.group_by("basket")
        .agg(pl.col("unit").first())
        .join(assignments.select(pl.col("customer_id").alias("unit"), "segment"), on="unit")
    )
    order = pl.DataFrame({"basket": list(matrix.basket_ids)}).with_row_index("row")
    joined = order.join(basket_segment, on="basket", how="left").sort("row")
    for segment in sorted(joined["segment"].drop_nulls().unique().to_list()):
        rows = joined.filter(pl.col("segment") == segment)["row"].to_numpy().astype(np.int64)
        scopes[str(segment)] = rows
    return matrix, scopes


def _mine(
    lines: pl.DataFrame, assignments: pl.DataFrame, config: RunConfig, names: dict[str, str]
) -> tuple[ScopedRules, pl.DataFrame, pl.DataFrame | None]:
    from basketlens.mining import item_support, mine_scopes

    mine = config.mine
    matrix, scopes = basket_scopes(lines, assignments, per_segment=mine.per_segment)
    support = item_support(matrix, scopes, item_names=names)
    auto = mine.min_support is None and mine.min_count is None
    rules = mine_scopes(
        matrix,
        scopes,
        min_support=mine.min_support,
        min_count=mine.min_count,
        target_rules=mine.target_rules if auto else None,
        min_confidence=mine.min_confidence,
        min_lift=mine.min_lift,
        max_len=mine.max_len,
        measures=list(mine.measures) if mine.measures else None,
        n_jobs=-1,
    )
    rules.table = _with_item_names(rules.table, names)
    itemsets = _scope_itemsets(matrix, scopes, rules.info, mine.max_len) if mine.itemsets else None
    return rules, support, itemsets


def _scope_itemsets(
    matrix: Any, scopes: dict[str, Any], info: dict[str, Any], max_len: int
) -> pl.DataFrame:
    """The frequent itemsets of every scope at the min_count its rules were mined with."""
    from basketlens.mining import mine_itemsets

    tables = []
    for scope, scope_info in info["scopes"].items():
        min_count = (scope_info.get("rules") or {}).get("min_count")
        if min_count is None:  # a scope too small to mine has no itemsets either
            continue
        baskets = matrix if scope == "all" else matrix.subset(scopes[scope])
        found = mine_itemsets(baskets, min_count=min_count, max_len=max_len)
        tables.append(found.table.select(pl.lit(scope).alias("scope"), pl.all()))
    return pl.concat(tables) if tables else pl.DataFrame()


def _with_item_names(table: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """Add ``antecedent_names`` / ``consequent_names`` in the ``RULES_BASE_SCHEMA`` order."""

    def named(column: str) -> pl.Expr:
        return (
            pl.col(column)
            .list.eval(pl.element().replace_strict(names, default=pl.element()))
            .alias(f"{column}_names")
        )

    named_table = table.with_columns(named("antecedent"), named("consequent"))
    base = [c for c in RULES_BASE_SCHEMA.names() if c in named_table.columns]
    return named_table.select(*base, pl.all().exclude(base))


def item_names(lines: pl.DataFrame) -> dict[str, str]:
    """Map each item id to its first non-null name (the id itself when it has none)."""
    named = (
        lines.group_by("item")
        .agg(pl.col("item_name").drop_nulls().first())
        .with_columns(pl.col("item_name").fill_null(pl.col("item")))
    )
    return dict(zip(named["item"].to_list(), named["item_name"].to_list(), strict=True))
