"""Read a run folder back into an :class:`~basketlens.runfolder.Analysis` — the one reader used
by ``basketlens report``, ``basketlens recommend`` and :func:`basketlens.load_run`.

Example:
    >>> analysis = read_run("demo-out")            # doctest: +SKIP
    >>> analysis.segment_names[0]                  # doctest: +SKIP
    'Frequent high-volume buyers'
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import polars as pl

from basketlens.errors import ModelError
from basketlens.runfolder.analysis import Analysis
from basketlens.runfolder.layout import MODEL_DIR, MODEL_JSON, RUN_JSON, TABLES
from basketlens.runfolder.model_io import load_model

log = logging.getLogger(__name__)

__all__ = ["read_run"]


def read_run(out_dir: str | Path, *, model: bool = True) -> Analysis:
    """Read ``out_dir``; raise :class:`ModelError` naming the first missing file or column.

    ``model=False`` skips the recommender model (the report does not need it).

    Example:
        >>> read_run("not-an-output")            # doctest: +SKIP
        Traceback (most recent call last):
        basketlens.errors.ModelError: not-an-output is not a basketlens output folder: ...
    """
    folder = Path(out_dir)
    if not folder.is_dir():
        raise ModelError(
            f"output folder {folder} does not exist; pass the --out folder of `basketlens run`"
        )
    for name in (RUN_JSON, *(t.file for t in TABLES.values() if t.always)):
        if not (folder / name).is_file():
            raise ModelError(
                f"{folder} is not a basketlens output folder: {name} is missing; "
                "run `basketlens run ... --out FOLDER` first"
            )
    info = _read_json(folder / RUN_JSON)
    tables = {key: _read_table(folder, key) for key in TABLES}
    recommender = None
    if model and (folder / MODEL_DIR / MODEL_JSON).is_file():
        recommender = load_model(folder)
    log.info("read run folder %s", folder)
    return Analysis(**tables, info=info, model=recommender, out_dir=folder)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path} cannot be read as JSON: {exc}") from exc
    if not isinstance(run, dict):
        raise ModelError(f"{path} must hold a JSON object; got {type(run).__name__}")
    return run


def _read_table(folder: Path, key: str) -> pl.DataFrame | None:
    spec = TABLES[key]
    path = folder / spec.file
    if not path.is_file():
        log.debug("%s not present", spec.file)
        return None
    try:
        table = pl.read_parquet(path)
    except Exception as exc:  # polars raises several error types for a corrupt file
        raise ModelError(f"{path} cannot be read as Parquet: {exc}") from exc
    missing = [c for c in spec.columns if c not in table.columns]
    if missing:
        raise ModelError(
            f"{path} lacks column(s) {', '.join(missing)}; it was not written by this "
            "basketlens version — run `basketlens run` again"
        )
    return table
