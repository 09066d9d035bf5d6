"""Write a run's tables and its ``run.json`` record to the output folder.

Only writes what the stages computed; no computation of results happens here.

Example:
    >>> from basketlens.outputs import OUTPUT_FILES
    >>> OUTPUT_FILES["customers"]
    'customers.parquet'
"""

from __future__ import annotations

import json
import logging
import platform
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from basketlens import __version__
from basketlens.errors import InputError

if TYPE_CHECKING:
    from basketlens.pipeline import RunResult

log = logging.getLogger(__name__)

OUTPUT_FILES: dict[str, str] = {
    "customers": "customers.parquet",
    "segments": "segments.parquet",
    "k_selection": "k_selection.parquet",
    "pca_loadings": "pca_loadings.parquet",
    "cleaning": "cleaning.parquet",
    "rules": "rules.parquet",
    "item_support": "item_support.parquet",
    "itemsets": "itemsets.parquet",
    "opportunities": "opportunities.parquet",
    "recommendations": "recommendations.parquet",
    "run": "run.json",
}

_PACKAGES = ("polars", "pyarrow", "numpy", "scipy", "scikit-learn", "typer", "rich")


def package_versions() -> dict[str, str]:
    """Versions of Python, basketlens and the packages that shape the results."""
    versions = {"python": sys.version.split()[0], "basketlens": __version__}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def prepare_out_dir(path: Path) -> Path:
    """Create the output folder (and parents); refuse a path that is an existing file."""
    if path.exists() and not path.is_dir():
        raise InputError(f"output path {path} exists and is not a folder; choose another --out")
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_outputs(result: RunResult, *, started_at: float) -> dict[str, Any]:
    """Write every table of ``result`` and ``run.json``; return the run.json content."""
    out = prepare_out_dir(result.out_dir)
    seg = result.segmenter
    tables: dict[str, pl.DataFrame] = {
        "customers": result.customers,
        "segments": seg.segments_,
        "k_selection": seg.k_selection_,
        "pca_loadings": seg.loadings_,
        "cleaning": result.cleaned.account,
    }
    mining: dict[str, Any] = {"enabled": result.rules is not None}
    if result.rules is not None and result.item_support is not None:
        rules_table = result.rules.table
        if result.opportunities is not None:
            rules_table = result.opportunities.with_rule_counts(rules_table)
            tables["opportunities"] = result.opportunities.opportunities.table
            tables["recommendations"] = result.opportunities.recommendations
        tables["rules"] = rules_table
        if result.itemsets is not None:
            tables["itemsets"] = result.itemsets
        tables["item_support"] = result.item_support
        mining["rules"] = result.rules.info
        mining["n_rules"] = result.rules.table.height
    for key, table in tables.items():
        table.write_parquet(out / OUTPUT_FILES[key])
    files = {k: OUTPUT_FILES[k] for k in [*tables, "run"]}
    if result.opportunities is not None:
        from basketlens.runfolder.model_io import save_model

        save_model(out, result.opportunities.model)
        files["model"] = "model/"

    lines = result.cleaned.lines
    info: dict[str, Any] = {
        "basketlens_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": _jsonable(asdict(result.config)),
        "inputs": [asdict(s) for s in result.ledger.sources],
        "layout": result.ledger.layout,
        "column_map": dict(result.ledger.column_map),
        "rows": {
            "lines_read": result.ledger.n_lines,
            "lines_kept": lines.height,
            "customers": result.customers.height,
            "baskets": lines["basket"].n_unique(),
            "items": lines["item"].n_unique(),
            "first_date": str(lines["date"].min()),
            "last_date": str(lines["date"].max()),
        },
        "cleaning": result.cleaned.account.to_dicts(),
        "features": dict(result.features.definitions),
        "segmentation": {
            "k": seg.k_,
            "silhouette": seg.silhouette_,
            "features": list(seg.features_),
            "pca_explained": list(seg.pca_explained_),
            "k_selection": seg.k_selection_.to_dicts(),
        },
        "mining": mining,
        "opportunities": result.opportunities.summary() if result.opportunities else None,
        "timings_s": {**result.timings, "total": round(time.time() - started_at, 3)},
        "versions": package_versions(),
        "platform": platform.platform(),
        "files": files,
    }
    (out / OUTPUT_FILES["run"]).write_text(
        json.dumps(_jsonable(info), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    log.info("wrote %d tables and run.json to %s", len(tables), out)
    return info


def _jsonable(value: Any) -> Any:
    """Convert tuples, paths, numpy scalars and dates into JSON-friendly values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)
