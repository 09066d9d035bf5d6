"""Write an :class:`~basketlens.runfolder.Analysis` to a run folder: its tables (names from
:mod:`~basketlens.runfolder.layout`), the recommender model and ``run.json`` — written last.

Only writes; nothing is computed here. A table the analysis does not have is removed from
the folder, so a folder never mixes tables of two runs.

Example:
    >>> write_run(analysis, "out")      # doctest: +SKIP
    PosixPath('out')
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basketlens.errors import InputError
from basketlens.runfolder.layout import MODEL_DIR, RUN_JSON, TABLES
from basketlens.runfolder.model_io import save_model

if TYPE_CHECKING:
    from basketlens.backtest.stage import BacktestResult
    from basketlens.runfolder.analysis import Analysis

log = logging.getLogger(__name__)

__all__ = ["check_out_dir", "jsonable", "write_backtest", "write_run"]


def check_out_dir(path: Path) -> Path:
    """Create the output folder (and parents) and check it is writable — before any work.

    Raises :class:`InputError` for a path that is an existing file or not writable.
    """
    if path.exists() and not path.is_dir():
        raise InputError(f"output path {path} exists and is not a folder; choose another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(f"output folder {path} is not writable; choose another --out")
    return path


def write_run(analysis: Analysis, out: str | Path) -> Path:
    """Write every table of ``analysis``, its model and ``run.json`` to ``out``; return ``out``."""
    folder = check_out_dir(Path(out))
    written: dict[str, str] = {}
    for key, spec in TABLES.items():
        table = getattr(analysis, key)
        path = folder / spec.file
        if table is None:
            path.unlink(missing_ok=True)  # a table of an earlier run would mislead
            continue
        table.write_parquet(path)
        written[key] = spec.file
    if analysis.model is not None:
        save_model(folder, analysis.model)
        written["model"] = f"{MODEL_DIR}/"
    info = {**analysis.info, "files": {**written, "run": RUN_JSON}}
    (folder / RUN_JSON).write_text(
        json.dumps(jsonable(info), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    log.info("wrote %d tables and %s to %s", len(written), RUN_JSON, folder)
    return folder


def jsonable(value: Any) -> Any:
    """Convert tuples, paths, numpy scalars and dates into JSON-friendly values.

    Example:
        >>> jsonable({"k": (1, 2), "p": Path("a"), "x": float("nan")})
        {'k': [1, 2], 'p': 'a', 'x': None}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def write_backtest(result: BacktestResult, out: str | Path) -> Path:
    """Write a backtest's measures and every recommendation it made; return the measures file."""
    folder = check_out_dir(Path(out))
    result.table.write_parquet(folder / TABLES["backtest"].file)
    result.recommendations.write_parquet(folder / TABLES["backtest_recommendations"].file)
    result.calibration.write_parquet(folder / TABLES["backtest_calibration"].file)
    return folder / TABLES["backtest"].file
