"""The run id: one per written run, in ``run.json``, ``model/model.json`` and the key-value
metadata of every Parquet table of the folder, so a reader can tell when files of two runs
sit side by side and refuse them.

Example:
    >>> import polars as pl, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> _ = write_table(pl.DataFrame({"a": [1]}), path, run_id="20260101T000000Z-abc")
    >>> table_run_id(path)
    '20260101T000000Z-abc'
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from basketlens.errors import ModelError
from basketlens.runfolder.layout import (
    MODEL_DIR,
    MODEL_FILES,
    RANKED_FILE,
    RUN_JSON,
    SEGMENTER_FILE,
)

__all__ = [
    "RUN_ID_KEY",
    "check_model_files",
    "file_digest",
    "mixed_runs_message",
    "new_run_id",
    "table_run_id",
    "write_table",
]

#: Key of the run id in a Parquet file's key-value metadata and in the JSON records.
RUN_ID_KEY = "basketlens.run_id"


def new_run_id() -> str:
    """A new run id: UTC time to the second plus 48 random bits (sortable, unique).

    Example:
        >>> len(new_run_id().split("-")[1])
        12
    """
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(6)}"


def write_table(frame: pl.DataFrame, path: Path, run_id: str | None, **parquet: Any) -> Path:
    """Write ``frame`` as Parquet to ``path`` with the run id in its metadata; return ``path``.

    ``parquet`` are further options of ``DataFrame.write_parquet`` (row groups, statistics).
    """
    metadata = {RUN_ID_KEY: run_id} if run_id else None
    frame.write_parquet(path, metadata=metadata, **parquet)
    return path


def table_run_id(path: Path) -> str | None:
    """The run id stored in a Parquet file (None for a file written without one).

    Raises :class:`ModelError` naming the file when it is not readable Parquet.
    """
    try:
        return pl.read_parquet_metadata(path).get(RUN_ID_KEY)
    except Exception as exc:  # polars raises several error types for a corrupt file
        raise ModelError(f"{path} cannot be read as Parquet: {exc}") from exc


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of a file's bytes (the model's pickled segmenter has no metadata)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def mixed_runs_message(folder: Path, expected: str | None, where: str, found: str | None) -> str:
    """The error text for a folder holding files of two runs.

    Example:
        >>> mixed_runs_message(Path("out"), "A", "rules.parquet", "B")  # doctest: +ELLIPSIS
        'out mixes two runs: run.json is run A but rules.parquet belongs to run B; ...'
    """

    def name(run: str | None) -> str:
        return f"run {run}" if run else "a run without an id (an older basketlens)"

    return (
        f"{folder} mixes two runs: run.json is {name(expected)} but {where} belongs to "
        f"{name(found)}; it was interrupted or written by two runs at once — run "
        f"`basketlens run ... --out {folder}` again"
    )


def check_model_files(folder: Path, meta: dict) -> None:
    """Refuse a model folder whose files are not all of the run named in ``model.json``.

    Checks each table's run id, the pickled segmenter's digest and, when the folder is the
    ``model/`` of a run folder, the run id of that folder's ``run.json``. A model written
    without run ids (an older basketlens) passes when none of its files has one either.
    """
    run_id = meta.get("run_id")
    for name in [*MODEL_FILES.values(), RANKED_FILE]:
        path = folder / name
        if path.is_file() and (found := table_run_id(path)) != run_id:
            raise ModelError(mixed_runs_message(folder, run_id, f"{MODEL_DIR}/{name}", found))
    segmenter = folder / SEGMENTER_FILE
    digest = meta.get("segmenter_sha256")
    if segmenter.is_file() and run_id and file_digest(segmenter) != digest:
        raise ModelError(
            mixed_runs_message(folder, run_id, f"{MODEL_DIR}/{SEGMENTER_FILE}", "another run")
        )
    run_json = folder.parent / RUN_JSON
    if folder.name == MODEL_DIR and run_json.is_file():
        try:
            outer = json.loads(run_json.read_text(encoding="utf-8")).get("run_id")
        except (OSError, ValueError, AttributeError):
            return  # the run folder's own reader reports an unreadable run.json
        if outer != run_id:
            raise ModelError(
                mixed_runs_message(folder.parent, outer, f"{MODEL_DIR}/model.json", run_id)
            )
