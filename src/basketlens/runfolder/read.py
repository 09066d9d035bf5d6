"""Read a run folder back into an :class:`~basketlens.runfolder.Analysis` — the one reader used
by ``basketlens report``, ``basketlens recommend`` and :func:`basketlens.load_run`.

A folder is read only when it holds one complete run: every table (and ``model/``) must carry
the run id of ``run.json`` and every file ``run.json`` lists must be there; otherwise a
:class:`ModelError` names the first file that disagrees. A folder written by an older
basketlens (no run ids at all) is read with a warning.

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
from basketlens.runfolder.runid import mixed_runs_message, table_run_id

log = logging.getLogger(__name__)

__all__ = ["check_run", "read_run"]


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
    check_run(folder, info)
    tables = {key: _read_table(folder, key) for key in TABLES}
    recommender = None
    if model and (folder / MODEL_DIR / MODEL_JSON).is_file():
        recommender = load_model(folder)
    log.info("read run folder %s", folder)
    return Analysis(**tables, info=info, model=recommender, out_dir=folder)


def check_run(folder: Path, info: dict[str, Any]) -> None:
    """Refuse ``folder`` unless its tables and model are all of the run of ``info`` (run.json).

    Example:
        >>> check_run(Path("out"), {"run_id": "A"})   # doctest: +SKIP
        Traceback (most recent call last):
        basketlens.errors.ModelError: out mixes two runs: run.json is run A but ...
    """
    run_id = info.get("run_id")
    for spec in TABLES.values():
        path = folder / spec.file
        if path.is_file() and (found := table_run_id(path)) != run_id:
            raise ModelError(mixed_runs_message(folder, run_id, spec.file, found))
    listed = info.get("files") if run_id else None
    for key, name in (listed or {}).items():
        if (key in TABLES or key == "model") and not (folder / str(name)).exists():
            raise ModelError(
                f"{folder} is incomplete: run.json lists {name} but it is missing; run "
                f"`basketlens run ... --out {folder}` again"
            )
    model_json = folder / MODEL_DIR / MODEL_JSON
    if model_json.is_file():
        found = _read_json(model_json).get("run_id")
        if found != run_id:
            raise ModelError(mixed_runs_message(folder, run_id, f"{MODEL_DIR}/{MODEL_JSON}", found))
    if run_id is None:
        log.warning(
            "%s was written without run ids (an older basketlens): its files cannot be checked "
            "to belong to one run",
            folder,
        )


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
