"""``Analysis``: everything a run produced, as Polars tables — in memory after
:func:`basketlens.analyse`, or read back from a folder by :func:`basketlens.load_run`.

Example:
    >>> import basketlens
    >>> analysis = basketlens.analyse("online_retail.parquet")   # doctest: +SKIP
    >>> analysis.segments.select("segment", "segment_name")      # doctest: +SKIP
    >>> analysis.write("out")                                    # doctest: +SKIP
    >>> basketlens.load_run("out").rules.height == analysis.rules.height  # doctest: +SKIP
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from basketlens.runfolder.layout import TABLES
from basketlens.runfolder.write import write_run

if TYPE_CHECKING:
    from basketlens.opportunities.model import RecommenderModel
    from basketlens.segment.estimator import CustomerSegmenter

__all__ = ["Analysis"]


@dataclass(frozen=True, eq=False)
class Analysis:
    """The tables of one run (``None`` for a table its options did not produce), the run
    record ``info`` (what ``run.json`` holds) and, when available, the fitted segmenter and
    the recommender model.

    The table attributes are exactly the keys of :data:`basketlens.runfolder.layout.TABLES`.
    """

    cleaning: pl.DataFrame
    items: pl.DataFrame
    customers: pl.DataFrame
    segments: pl.DataFrame
    k_selection: pl.DataFrame
    pca_loadings: pl.DataFrame
    rules: pl.DataFrame | None = None
    item_support: pl.DataFrame | None = None
    itemsets: pl.DataFrame | None = None
    families: pl.DataFrame | None = None
    opportunities: pl.DataFrame | None = None
    recommendations: pl.DataFrame | None = None
    backtest: pl.DataFrame | None = None
    backtest_recommendations: pl.DataFrame | None = None
    backtest_calibration: pl.DataFrame | None = None
    info: dict[str, Any] = field(default_factory=dict)
    model: RecommenderModel | None = None
    segmenter: CustomerSegmenter | None = None
    out_dir: Path | None = None

    def __post_init__(self) -> None:
        names = [f.name for f in fields(self)][: len(TABLES)]
        assert names == list(TABLES), "Analysis fields must follow the run-folder layout"

    def __repr__(self) -> str:
        present = ", ".join(f"{k}={t.height:,}" for k, t in self.tables().items())
        return f"Analysis({present})"

    def tables(self) -> dict[str, pl.DataFrame]:
        """The tables present, by layout key, in layout order."""
        return {key: table for key in TABLES if (table := getattr(self, key)) is not None}

    def write(self, out: str | Path) -> Path:
        """Write every table, the model and ``run.json`` to the folder ``out``; return it."""
        return write_run(self, out)

    # ---------------------------------------------------------------- reading helpers
    @property
    def segment_names(self) -> dict[int, str]:
        """Segment id -> persona name, in segment order."""
        seg = self.segments.sort("segment")
        return dict(zip(seg["segment"].to_list(), seg["segment_name"].to_list(), strict=True))

    @property
    def features(self) -> list[str]:
        """Features the segmentation used (from ``info``, else the ``z__`` profile columns)."""
        listed = self.info.get("segmentation", {}).get("features")
        if listed:
            return [f for f in listed if f in self.customers.columns]
        return [c[3:] for c in self.segments.columns if c.startswith("z__")]

    @property
    def feature_definitions(self) -> dict[str, str]:
        """Feature -> one-line definition recorded in the run (may be empty)."""
        return dict(self.info.get("features", {}) or {})

    def scope_label(self, scope: str) -> str:
        """Human label of a mining scope: "All customers" or the segment's persona."""
        if scope == "all":
            return "All customers"
        try:
            seg = int(scope)
        except ValueError:
            return scope
        name = self.segment_names.get(seg)
        return f"Segment {seg}: {name}" if name else f"Segment {seg}"
