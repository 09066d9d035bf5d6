"""One Altair (Vega-Lite) chart definition per report figure.

Every function takes a :class:`~basketlens.report.load.Analysis` and returns a chart, or
``None`` when the folder lacks the table it needs. Data goes into the spec as data values (never
as expression code); field names are fixed by this module, so names from the ledger can never
be read as Vega field paths. The same spec is embedded in ``report.html`` and saved as PNG.

Example:
    >>> from basketlens.report.charts import CHARTS
    >>> [c.slug for c in CHARTS][:2]
    ['pca_segments', 'feature_boxplots']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import altair as alt

from basketlens.report._chart_base import (
    _DATASETS,
    PALETTE,
    RawSpec,
    plain,
    rule_text,
    rules_frame,
    segment_label,
    truncate,
)
from basketlens.report._charts_baskets import (
    backtest,
    backtest_calibration,
    rule_opportunities,
    rules_matrix,
    rules_scatter,
    top_items,
)
from basketlens.report._charts_customers import (
    cleaning_waterfall,
    feature_boxplots,
    k_selection,
    pca_loadings,
    pca_segments,
    segment_profiles,
)
from basketlens.runfolder.analysis import Analysis

__all__ = [
    "CHARTS", "PALETTE", "ChartDef", "build_spec", "build_specs", "plain", "rule_text",
    "rules_frame", "segment_label", "truncate",
]  # fmt: skip


@dataclass(frozen=True)
class ChartDef:
    """A figure of the report: file/anchor slug, title, section and spec builder.

    ``early``: drawn from the tables that exist before the recommend stage (cleaning,
    customers, segments, rules, opportunities), so a run can draw it while the recommender
    trains (:func:`~basketlens.report.render.start_charts`); False for a chart of a later
    stage's tables (the backtest's).
    """

    slug: str
    title: str
    section: str
    build: Callable[[Analysis], alt.TopLevelMixin | RawSpec | None]
    note: str = ""
    early: bool = True


CHARTS: tuple[ChartDef, ...] = (
    ChartDef("pca_segments", "Customers by segment", "segments", pca_segments),
    ChartDef("feature_boxplots", "Feature distributions by segment", "segments", feature_boxplots),
    ChartDef("segment_profiles", "Segment profiles", "segments", segment_profiles),
    ChartDef("pca_loadings", "Principal component loadings", "method", pca_loadings),
    ChartDef("k_selection", "Choosing the number of segments", "method", k_selection),
    ChartDef("top_items", "Top items", "products", top_items),
    ChartDef(
        "rule_opportunities", "Customers missing the recommended item", "rules", rule_opportunities
    ),
    ChartDef("rules_scatter", "Rules: support × confidence", "rules", rules_scatter),
    ChartDef("rules_matrix", "Rules matrix", "rules", rules_matrix),
    ChartDef("cleaning_waterfall", "Cleaning account", "quality", cleaning_waterfall),
    ChartDef("backtest", "Backtest by method", "opportunities", backtest, early=False),
    ChartDef(
        "backtest_calibration",
        "Backtest: calibration and money",
        "opportunities",
        backtest_calibration,
        early=False,
    ),
)


def build_spec(chart: ChartDef, bundle: Analysis) -> dict[str, Any] | None:
    """The Vega-Lite spec (dict) of one chart with its data attached, or ``None``."""
    token = _DATASETS.set({})
    try:
        built = chart.build(bundle)
        if built is None:
            return None
        spec = built.to_dict(validate=False)
        datasets = _DATASETS.get() or {}
    finally:
        _DATASETS.reset(token)
    if datasets:
        spec["datasets"] = {**spec.get("datasets", {}), **datasets}
    return spec


def build_specs(
    bundle: Analysis, *, charts: tuple[ChartDef, ...] = CHARTS
) -> dict[str, dict[str, Any] | None]:
    """Slug -> Vega-Lite spec (dict) for every chart (of ``charts``); ``None`` when its data
    is absent."""
    return {chart.slug: build_spec(chart, bundle) for chart in charts}
