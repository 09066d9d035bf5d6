"""The command line, in process: help texts, clean errors without tracebacks, exit codes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from basketlens.cli import app

runner = CliRunner()
COMMANDS = ("run", "demo", "synth", "mine")


def test_top_level_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented_with_an_example(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    assert "--out" in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("basketlens ")


def test_help_starts_fast_without_heavy_imports() -> None:
    code = (
        "import sys, time; t=time.perf_counter(); "
        "from basketlens.cli import app; "
        "heavy=[m for m in ('polars','sklearn','numpy','scipy','pyarrow') if m in sys.modules]; "
        "print(heavy)"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"heavy modules imported at start-up: {out.stdout}"
    assert time.perf_counter() - start < 5  # generous: a cold CI disk; locally ~0.2 s


def test_missing_sales_file_is_one_line_error_without_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "error:" in result.output and "nope.csv" in result.output
    assert "Traceback" not in result.output


def test_bad_map_entry_names_the_option(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "x.csv", "--map", "invoice", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "--map expects FIELD=COLUMN" in result.output


def test_unknown_canonical_field_in_map_is_reported(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "x.csv", "--map", "invoce=Doc", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "'invoce'" in result.output and "did you mean 'invoice'" in result.output


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["--debug", "run", "x.csv", "--map", "invoice"])
    assert result.exit_code != 0
    assert result.exception is not None and not isinstance(result.exception, SystemExit)
