"""The run record: every stage's tables and ``run.json`` assembled as one
:class:`~basketlens.runfolder.Analysis` (called by :mod:`basketlens.pipeline` for both engines).

Example:
    >>> from basketlens.pipeline import run_pipeline
    >>> analysis = run_pipeline(cfg).analysis           # doctest: +SKIP
    >>> analysis.info["rows"]["customers"]              # doctest: +SKIP
    300
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import polars as pl

from basketlens import __version__
from basketlens.backtest.stage import BacktestResult
from basketlens.clean import CleanResult
from basketlens.config import RunConfig
from basketlens.features import CustomerFeatures
from basketlens.ingest import Ledger
from basketlens.ingest.layouts import layout_currency
from basketlens.mining import MiningResult
from basketlens.opportunities import OpportunityResult
from basketlens.recommender import RecommenderResult
from basketlens.runfolder import Analysis
from basketlens.segment import CustomerSegmenter, rfm_summary

__all__ = ["Fitted", "assemble", "package_versions", "run_currency", "summarise_lines"]

#: Packages whose versions shape the results (recorded in run.json).
_PACKAGES = ("polars", "pyarrow", "numpy", "scipy", "scikit-learn", "typer", "rich", "pyspark")


@dataclass(frozen=True, eq=False)
class Fitted:
    """What the stages after cleaning produce from a set of cleaned lines (typed, in memory)."""

    features: CustomerFeatures
    segmenter: CustomerSegmenter
    customers: pl.DataFrame  # features + assignments
    mining: MiningResult | None
    opportunities: OpportunityResult | None
    recommender: RecommenderResult | None = None


def run_currency(config: RunConfig, ledger: Ledger | None = None) -> str | None:
    """The currency the run's amounts are in: ``[report] currency`` (``--currency``), else
    the ledger layout's when it is a known public dataset, else None."""
    if config.report.currency:
        return config.report.currency
    return layout_currency(ledger.layout) if ledger is not None else None


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
