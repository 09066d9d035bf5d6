"""Fixtures of the hostile-input suite: one small synthetic ledger, runs through the real CLI,
and a run of ``basketlens`` in a child process that pauses inside the write stage (to kill it
there, or to run a second command while it holds the output folder).

Each test builds its case from the synthetic ledger (issue 12's corpus: files, values, CLI
misuse, faults, output safety) and checks the outcome: a clear error, or a correct result.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from basketlens.cli import app
from basketlens.synth import generate_ledger

runner = CliRunner()

#: A child process running ``basketlens ARGS``: after its ``n``-th Parquet file written by
#: ``module`` (runfolder.write: the tables; runfolder.model_io: model/) it writes its pid to
#: READY and waits until GO exists.
PAUSED_RUN = r"""
import os, sys, time, pathlib
ready, go = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
module, n = sys.argv[3], int(sys.argv[4])
import importlib
target = importlib.import_module(module)
original, calls = target.write_table, [0]
def paused(frame, path, run_id):
    original(frame, path, run_id)
    calls[0] += 1
    if calls[0] == n:
        ready.write_text(str(os.getpid()))
        while not go.exists():
            time.sleep(0.02)
target.write_table = paused
from basketlens.cli import main
sys.argv = ["basketlens", *sys.argv[5:]]
main()
"""


@pytest.fixture(scope="session")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """sales / items / customers of a small synthetic ERP ledger (Parquet), ~1,500 lines."""
    folder = tmp_path_factory.mktemp("ledger")
    return generate_ledger(n_customers=80, n_lines=1500, seed=3).write(folder, format="parquet")


@pytest.fixture(scope="session")
def sales_frame(ledger: dict[str, Path]) -> pl.DataFrame:
    return pl.read_parquet(ledger["sales"])


def cli(*args: str | Path) -> tuple[int, str]:
    """``basketlens ARGS`` in process: (exit code, output)."""
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., tuple[int, str]]:
    """``run_cli(*args)`` → (exit code, output) of ``basketlens ARGS`` in process."""
    return cli


@pytest.fixture
def run_args(ledger: dict[str, Path]) -> Callable[..., list[str | Path]]:
    """``run_args(out, *extra)``: the arguments of ``basketlens run`` on the ledger."""

    def make(out: Path, *extra: str | Path) -> list[str | Path]:
        files = ["--items", ledger["items"], "--customers", ledger["customers"]]
        return ["run", ledger["sales"], *files, "--out", out, *extra]

    return make


class PausedRun:
    """A ``basketlens`` child process paused inside its write stage."""

    def __init__(self, tmp: Path, args: list[str | Path], module: str, n: int, env: dict) -> None:
        self.ready, self.go = tmp / "ready", tmp / "go"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PAUSED_RUN, self.ready, self.go, module, str(n), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def wait_paused(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"the run ended before pausing: {self.proc.communicate()}")
            if time.monotonic() > deadline:
                raise AssertionError("the run did not reach the write stage in time")
            time.sleep(0.05)

    def resume(self, timeout: float = 120) -> tuple[int, str]:
        self.go.write_text("go")
        _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err

    def signal(self, signum: int, timeout: float = 30) -> tuple[int, str, float]:
        start = time.monotonic()
        self.proc.send_signal(signum)
        _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err, time.monotonic() - start


@pytest.fixture
def paused_run(tmp_path: Path) -> Iterator[Callable[..., PausedRun]]:
    """Start ``basketlens ARGS`` paused after its ``n``-th Parquet file (see PAUSED_RUN)."""
    started: list[PausedRun] = []

    def start(
        args: list[str | Path],
        *,
        module: str = "basketlens.runfolder.write",
        n: int = 3,
        env: dict | None = None,
    ) -> PausedRun:
        run = PausedRun(tmp_path, args, module, n, {**os.environ, **(env or {})})
        started.append(run)
        return run

    yield start
    for run in started:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.communicate()
