"""Read a basketlens output folder into a typed, read-only bundle for rendering.

Only the files written by ``basketlens run`` / ``demo`` are read; nothing is recomputed.

Example:
    >>> from basketlens.report.load import load_bundle
    >>> bundle = load_bundle("demo-out")            # doctest: +SKIP
    >>> bundle.segment_names[0]                     # doctest: +SKIP
    'Frequent high-volume buyers'
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from basketlens.errors import ModelError

log = logging.getLogger(__name__)

#: Files every output folder holds; a folder without them is not a basketlens output.
REQUIRED_FILES: tuple[str, ...] = ("run.json", "customers.parquet", "segments.parquet")

#: Files rendered when present (other stages, options or issues may not have written them).
OPTIONAL_FILES: tuple[str, ...] = (
    "k_selection.parquet",
    "pca_loadings.parquet",
    "cleaning.parquet",
    "rules.parquet",
    "item_support.parquet",
    "opportunities.parquet",
    "recommendations.parquet",
    "backtest.parquet",
)

#: Columns the renderer relies on, per file.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers.parquet": ("customer_id", "customer_name", "segment", "segment_name"),
    "segments.parquet": (
        "segment",
        "segment_name",
        "customers",
        "customer_share",
        "net_sales",
        "revenue_share",
    ),
    "k_selection.parquet": ("k", "inertia", "silhouette", "chosen"),
    "pca_loadings.parquet": ("feature", "pc_1", "pc_2"),
    "cleaning.parquet": ("step", "rule", "description", "rows_in", "rows_dropped", "rows_out"),
    "rules.parquet": (
        "rule_id",
        "scope",
        "antecedent",
        "consequent",
        "support",
        "confidence",
        "lift",
    ),
    "item_support.parquet": ("scope", "item", "item_name", "baskets", "support", "rank"),
    "opportunities.parquet": ("scope", "rule_id", "customer_id", "customer_name"),
    "recommendations.parquet": ("customer_id", "customer_name", "rank", "item"),
}


@dataclass(frozen=True)
class ReportBundle:
    """The tables of one output folder; ``None`` for a file the folder does not hold."""

    out_dir: Path
    run: dict[str, Any]
    customers: pl.DataFrame
    segments: pl.DataFrame
    k_selection: pl.DataFrame | None
    pca_loadings: pl.DataFrame | None
    cleaning: pl.DataFrame | None
    rules: pl.DataFrame | None
    item_support: pl.DataFrame | None
    opportunities: pl.DataFrame | None
    recommendations: pl.DataFrame | None
    backtest: pl.DataFrame | None

    @property
    def segment_names(self) -> dict[int, str]:
        """Segment id -> persona name, in segment order."""
        seg = self.segments.sort("segment")
        return dict(zip(seg["segment"].to_list(), seg["segment_name"].to_list(), strict=True))

    @property
    def features(self) -> list[str]:
        """Features the segmentation used (from run.json, else the ``z__`` profile columns)."""
        listed = self.run.get("segmentation", {}).get("features")
        if listed:
            return [f for f in listed if f in self.customers.columns]
        return [c[3:] for c in self.segments.columns if c.startswith("z__")]

    @property
    def feature_definitions(self) -> dict[str, str]:
        """Feature -> one-line definition recorded in run.json (may be empty)."""
        return dict(self.run.get("features", {}) or {})

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


def load_bundle(out_dir: str | Path) -> ReportBundle:
    """Read ``out_dir``; raise :class:`ModelError` naming the first missing file or column.

    Example:
        >>> load_bundle("not-an-output")            # doctest: +SKIP
        Traceback (most recent call last):
        basketlens.errors.ModelError: not-an-output is not a basketlens output folder: ...
    """
    folder = Path(out_dir)
    if not folder.is_dir():
        raise ModelError(
            f"output folder {folder} does not exist; pass the --out folder of `basketlens run`"
        )
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            raise ModelError(
                f"{folder} is not a basketlens output folder: {name} is missing; "
                "run `basketlens run ... --out FOLDER` first"
            )
    try:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{folder / 'run.json'} cannot be read as JSON: {exc}") from exc
    if not isinstance(run, dict):
        raise ModelError(f"{folder / 'run.json'} must hold a JSON object; got {type(run).__name__}")
    tables = {name: _read(folder, name, required=True) for name in REQUIRED_FILES[1:]}
    tables.update({name: _read(folder, name, required=False) for name in OPTIONAL_FILES})
    log.info("loaded output folder %s", folder)
    return ReportBundle(
        out_dir=folder,
        run=run,
        **{name.removesuffix(".parquet"): table for name, table in tables.items()},  # type: ignore[arg-type]
    )


def _read(folder: Path, name: str, *, required: bool) -> pl.DataFrame | None:
    path = folder / name
    if not path.is_file():
        if required:
            raise ModelError(f"{path} is missing; run `basketlens run` again")
        log.debug("%s not present; its report section says so", name)
        return None
    try:
        table = pl.read_parquet(path)
    except Exception as exc:  # polars raises several error types for a corrupt file
        raise ModelError(f"{path} cannot be read as Parquet: {exc}") from exc
    missing = [c for c in REQUIRED_COLUMNS.get(name, ()) if c not in table.columns]
    if missing:
        raise ModelError(
            f"{path} lacks column(s) {', '.join(missing)}; it was not written by this "
            "basketlens version — run `basketlens run` again"
        )
    return table
