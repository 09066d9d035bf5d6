"""Run folders never mix two runs: stale outputs, mixed files, inputs as --out, an unwritable
--out, SIGKILL / SIGTERM during the write stage and two runs at once (issue 12)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
from pathlib import Path

import polars as pl
import pytest

import basketlens
from basketlens.errors import ModelError
from basketlens.runfolder import load_model
from basketlens.runfolder.layout import MODEL_DIR, RUN_JSON, TABLES
from basketlens.runfolder.runid import table_run_id


def run_ids(folder: Path) -> set[str | None]:
    """The run ids of run.json, every table, model.json and every model table."""
    ids = {json.loads((folder / RUN_JSON).read_text())["run_id"]}
    tables = [folder / t.file for t in TABLES.values() if (folder / t.file).exists()]
    for path in [*tables, *(folder / MODEL_DIR).glob("*.parquet")]:
        ids.add(table_run_id(path))
    if (folder / MODEL_DIR / "model.json").exists():
        ids.add(json.loads((folder / MODEL_DIR / "model.json").read_text())["run_id"])
    return ids


def assert_complete(folder: Path) -> str:
    """One run, complete and readable (tables, model); returns its run id."""
    ids = run_ids(folder)
    assert len(ids) == 1 and None not in ids, ids
    analysis = basketlens.load_run(folder)
    assert analysis.info["run_id"] in ids
    for key in analysis.info["files"]:
        assert key in ("run", "model") or getattr(analysis, key) is not None
    return ids.pop()


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------ stale / mixed
def test_a_second_run_with_fewer_outputs_leaves_nothing_of_the_first(tmp_path, run_cli, run_args):
    out = tmp_path / "out"
    code, text = run_cli(*run_args(out, "--csv"))
    assert code == 0, text
    first = assert_complete(out)
    assert (out / "report.html").exists() and (out / "bi").is_dir() and (out / "model").is_dir()

    code, text = run_cli(*run_args(out, "--no-rules", "--no-report"))
    assert code == 0, text
    second = assert_complete(out)
    assert second != first
    for stale in ("rules.parquet", "report.html", "insights.xlsx", "charts", "bi"):
        assert not (out / stale).exists(), stale
    second_run = basketlens.load_run(out)
    assert second_run.rules is None
    # without rules the recommender still answers (item-item models): from run B's model only
    model_json = json.loads((out / "model" / "model.json").read_text(encoding="utf-8"))
    assert model_json["run_id"] == second and model_json["rules"] == 0
    customer = second_run.customers["customer_id"][0]
    code, text = run_cli("recommend", out, "--customer", customer)
    assert code == 0 and customer in text, text
    assert leftovers(out) == []


def test_a_folder_holding_files_of_two_runs_is_refused(tmp_path, run_cli, run_args):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        code, text = run_cli(*run_args(out, "--no-report"))
        assert code == 0, text
    own = tmp_path / "own-rules.parquet"
    shutil.copy(a / "rules.parquet", own)
    shutil.copy(b / "rules.parquet", a / "rules.parquet")  # a table of run b in run a
    with pytest.raises(ModelError, match=r"mixes two runs: run.json is run .* rules\.parquet"):
        basketlens.load_run(a)
    code, text = run_cli("report", a)
    assert code == 1 and "mixes two runs" in text and "Traceback" not in text

    shutil.copy(own, a / "rules.parquet")  # the tables agree again; the model does not
    shutil.copy(b / "model" / "rules.parquet", a / "model" / "rules.parquet")
    with pytest.raises(ModelError, match=r"mixes two runs"):
        load_model(a)
    code, text = run_cli("recommend", a, "--customer", "x")
    assert code == 1 and "mixes two runs" in text

    shutil.rmtree(a / "model")  # run.json lists model/: an incomplete folder
    with pytest.raises(ModelError, match=r"incomplete: run.json lists model/"):
        basketlens.load_run(a)


# ------------------------------------------------------------------------------ inputs and --out
def test_out_equal_to_the_input_folder_never_overwrites_an_input(tmp_path, ledger, run_cli):
    folder = tmp_path / "d"
    shutil.copytree(ledger["sales"].parent, folder)
    before = {p.name: digest(p) for p in folder.iterdir()}
    sales, items, customers = (folder / f"{t}.parquet" for t in ("sales", "items", "customers"))
    code, text = run_cli("run", sales, "--items", items, "--customers", customers, "--out", folder)
    assert code == 1 and "would be overwritten" in text and "customers.parquet" in text
    code, text = run_cli("run", sales, "--out", folder, "--no-report")  # items.parquet is taken
    assert code == 1 and "which the run would overwrite" in text
    assert {p.name: digest(p) for p in folder.iterdir()} == before  # nothing written or moved
    assert leftovers(folder) == []


def test_out_beside_an_input_with_free_names_keeps_the_input(tmp_path, ledger, run_cli):
    folder = tmp_path / "d"
    folder.mkdir()
    sales = folder / "ledger.parquet"
    shutil.copy(ledger["sales"], sales)
    for _ in range(2):  # the second run replaces the first one's outputs, never the input
        code, text = run_cli("run", sales, "--out", folder, "--no-report")
        assert code == 0, text
        assert digest(sales) == digest(ledger["sales"])
        assert_complete(folder)


def test_unwritable_out_fails_before_any_input_is_read(tmp_path, run_cli):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, text = run_cli("run", tmp_path / "missing.csv", "--out", blocker / "out")
    assert code == 1 and "cannot create output folder" in text
    assert "missing.csv" not in text  # the output folder was checked first
    code, text = run_cli("run", tmp_path / "missing.csv", "--out", blocker)
    assert code == 1 and "is not a folder" in text


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_read_only_out_fails_before_any_input_is_read(tmp_path, run_cli):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        code, text = run_cli("run", tmp_path / "missing.csv", "--out", out)
    finally:
        out.chmod(0o755)
    assert code == 1 and "not writable" in text and "missing.csv" not in text


# ------------------------------------------------------------------------------ faults
@pytest.mark.parametrize(
    ("module", "n"),
    [("basketlens.runfolder.write", 3), ("basketlens.runfolder.model_io", 2)],
    ids=["tables", "model"],
)
def test_sigkill_during_the_write_stage_leaves_the_complete_old_run(
    tmp_path, run_cli, run_args, paused_run, module, n
):
    out = tmp_path / "out"
    code, text = run_cli(*run_args(out, "--no-report"))
    assert code == 0, text
    old = assert_complete(out)
    run = paused_run(run_args(out, "--no-segment-rules", "--no-report"), module=module, n=n)
    run.wait_paused()
    code, _, _ = run.signal(signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert assert_complete(out) == old  # untouched: the new run was staged beside it
    assert leftovers(out)  # the staging folder of the killed run
    code, text = run_cli(*run_args(out, "--no-report"))  # the next run cleans up
    assert code == 0, text
    assert assert_complete(out) != old
    assert leftovers(out) == []


def test_sigterm_removes_the_staging_folder_the_lock_and_the_transcoded_copy(
    tmp_path, run_cli, run_args, paused_run, ledger
):
    out = tmp_path / "out"
    code, text = run_cli(*run_args(out, "--no-report"))
    assert code == 0, text
    old = assert_complete(out)
    # a cp1252 copy of the sales lines: ingest reads it through a repaired UTF-8 copy in TMPDIR
    sales = tmp_path / "sales.csv"
    frame = pl.read_parquet(ledger["sales"]).with_columns(note=pl.lit("café crème"))
    sales.write_bytes(frame.write_csv().encode("cp1252"))
    temp = tmp_path / "tmp"
    temp.mkdir()
    args = [
        "run",
        sales,
        "--items",
        ledger["items"],
        "--customers",
        ledger["customers"],
        "--out",
        out,
        "--no-report",
    ]
    run = paused_run(args, env={"TMPDIR": str(temp)})
    run.wait_paused()
    assert list(temp.glob("basketlens-ingest-*/*.csv"))  # the transcoded copy exists
    code, err, seconds = run.signal(signal.SIGTERM)
    assert code == 143, err
    assert seconds < 5
    assert "Traceback" not in err
    assert list(temp.iterdir()) == []
    assert leftovers(out) == []  # no staging folder, no lock file
    assert assert_complete(out) == old


def test_two_runs_into_one_folder_at_once(tmp_path, run_cli, run_args, paused_run):
    out = tmp_path / "out"
    code, text = run_cli(*run_args(out, "--no-report"))
    assert code == 0, text
    old = assert_complete(out)
    first = paused_run(run_args(out, "--no-report", "--no-segment-rules"))
    first.wait_paused()
    start = time.monotonic()
    code, text = run_cli(*run_args(out, "--no-report"))
    assert code == 1, text
    assert "being written by another basketlens run" in text and "pid" in text
    assert time.monotonic() - start < 5  # fails at once, before reading the ledger
    code, text = run_cli("report", out)  # nor can a report be rendered into it meanwhile
    assert code == 1 and "being written by another basketlens run" in text
    assert assert_complete(out) == old
    code, err = first.resume()
    assert code == 0, err
    assert assert_complete(out) != old
    assert leftovers(out) == []
