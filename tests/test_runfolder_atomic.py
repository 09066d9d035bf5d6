"""The run folder's primitives: the lock, the swap, input checks, relocating paths, run ids."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import polars as pl
import pytest

from basketlens.errors import InputError
from basketlens.runfolder.atomic import FolderLock, OutputLockedError, exchange, leftovers
from basketlens.runfolder.runid import new_run_id, table_run_id, write_table
from basketlens.runfolder.write import check_inputs, open_run_folder


def test_the_lock_is_exclusive_names_its_holder_and_is_released(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = FolderLock(out, where=tmp_path).acquire()
    with pytest.raises(OutputLockedError, match=rf"being written by .*pid {os.getpid()}"):
        FolderLock(out, where=tmp_path).acquire()
    first.release()
    assert not first.path.exists()
    FolderLock(out, where=tmp_path).acquire().release()
    first.release()  # idempotent


def test_exchange_swaps_two_folders(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "new").write_text("1")
    (b / "old").write_text("2")
    exchange(a, b, tmp_path / "aside")
    assert [p.name for p in b.iterdir()] == ["new"]
    old = a if a.exists() else tmp_path / "aside"
    assert [p.name for p in old.iterdir()] == ["old"]


def test_inputs_are_checked_against_the_outputs(tmp_path: Path) -> None:
    (tmp_path / "customers.parquet").write_text("x")
    (tmp_path / "ledger.csv").write_text("x")
    with pytest.raises(InputError, match=r"customers\.parquet would be overwritten"):
        check_inputs(tmp_path, [tmp_path / "customers.parquet"])
    with pytest.raises(InputError, match=r"holds the input file .*ledger\.csv.*customers"):
        check_inputs(tmp_path, [tmp_path / "ledger.csv"])
    check_inputs(tmp_path / "elsewhere", [tmp_path / "ledger.csv"])  # out inside: fine
    check_inputs(tmp_path, ["s3://bucket/sales.parquet", None, pl.DataFrame()])  # not files
    (tmp_path / "run.json").write_text(json.dumps({"run_id": "r1"}))  # an earlier run's outputs
    check_inputs(tmp_path, [tmp_path / "ledger.csv"])


def test_an_error_inside_the_block_leaves_the_previous_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text("{}")
    with pytest.raises(RuntimeError), open_run_folder(out) as folder:
        (folder.staging / "rules.parquet").write_text("partial")
        raise RuntimeError("disk full")
    assert [p.name for p in out.iterdir()] == ["run.json"]
    assert leftovers(out.parent, out.name) == []
    assert not (tmp_path / ".out.basketlens.lock").exists()


def test_a_folder_with_other_files_is_merged_run_json_last(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep")
    (tmp_path / "report.html").write_text("stale")
    with open_run_folder(tmp_path) as folder:
        assert not folder.atomic
        (folder.staging / "cleaning.parquet").write_text("new")
        (folder.staging / "run.json").write_text("{}")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["cleaning.parquet", "mine.txt", "run.json"]


def test_relocate_maps_staged_paths_to_the_output_folder(tmp_path: Path) -> None:
    @dataclasses.dataclass(frozen=True)
    class Files:
        html: Path | None
        charts: tuple[Path, ...]
        seconds: dict[str, float]

    with open_run_folder(tmp_path / "out") as folder:
        staged = Files(folder.staging / "report.html", (folder.staging / "c" / "a.png",), {"x": 1})
        (folder.staging / "run.json").write_text("{}")
        moved = folder.relocate(staged)
    assert moved == Files(tmp_path / "out" / "report.html", (tmp_path / "out" / "c" / "a.png",),
                          {"x": 1})  # fmt: skip


def test_run_ids_are_unique_and_stored_in_parquet(tmp_path: Path) -> None:
    assert new_run_id() != new_run_id()
    path = write_table(pl.DataFrame({"a": [1]}), tmp_path / "t.parquet", "r-1")
    assert table_run_id(path) == "r-1"
    assert table_run_id(write_table(pl.DataFrame({"a": [1]}), tmp_path / "u.parquet", None)) is None
