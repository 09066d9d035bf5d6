"""Mining is bounded and interruptible: a basket whose subsets explode ends with the budget
error at once, the memory budget (bytes) bounds the process, and Ctrl-C stops the compiled
kernel — in the main thread and in worker threads — within a second (issue 12)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from basketlens.mining._kernel import core

pytestmark = pytest.mark.skipif(core is None, reason="the compiled kernel is not built")

#: A CPU-bound search with a tiny output: 200,000 random baskets of ~24 of 300 items, every
#: pair frequent and no triple, mined by tid-list merges (~1e10 steps: many seconds).
SLOW_SEARCH = r"""
import sys, time
import numpy as np
from basketlens.mining import _core
rng = np.random.default_rng(0)
rows = rng.random((200_000, 300), dtype=np.float32) < 0.08
indptr = np.concatenate([[0], np.cumsum(rows.sum(axis=1))]).astype(np.int64)
indices = np.nonzero(rows)[1].astype(np.int32)
del rows

def search():
    return _core.mine(indptr, indices, 300, 1000, 0, -1, 1, max_memory=1 << 30)

if sys.argv[1] == "sigterm":  # as the CLI runs: SIGTERM raises SystemExit(143)
    from basketlens._signals import terminate_as_exit
    with terminate_as_exit():
        print("started", flush=True)
        search()
elif sys.argv[1] == "threads":
    from concurrent.futures import ThreadPoolExecutor
    from basketlens.mining._budget import interruptible_map
    with ThreadPoolExecutor(2) as pool:
        print("started", flush=True)
        interruptible_map(pool, lambda _: search(), range(2))
else:
    print("started", flush=True)
    search()
print("finished", flush=True)
"""


#: Runs its arguments as a child and prints the child's peak resident memory (KiB). A child
#: forked straight from pytest inherits pytest's own peak in ``ru_maxrss`` (Linux carries the
#: pre-exec high-water mark over), so the command is started from this small process instead.
PEAK_OF_CHILD = (
    "import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "_, status, usage = os.wait4(p.pid, 0); print(usage.ru_maxrss); "
    "sys.exit(os.waitstatus_to_exitcode(status))"
)


def _run_measured(cmd: list[str]) -> tuple[int, int, str]:
    """(exit status, peak resident memory in bytes, stderr) of ``cmd``."""
    proc = subprocess.run(
        [sys.executable, "-c", PEAK_OF_CHILD, *cmd], capture_output=True, text=True, check=False
    )
    return proc.returncode, int(proc.stdout.split()[-1]) * 1024, proc.stderr


def test_one_basket_of_20000_items_ends_with_the_budget_error_at_once(tmp_path, run_cli):
    path = tmp_path / "one.csv"
    path.write_text(",".join(f"i{i}" for i in range(20_000)) + "\n")
    start = time.monotonic()
    code, text = run_cli("mine", path, "--min-support", "0.2", "--out", tmp_path / "r.parquet")
    seconds = time.monotonic() - start
    assert code == 1, text
    assert "max_itemsets" in text and "20,000 items" in text and "max_len" in text
    assert seconds < 10


def test_memory_budget_bounds_the_process_and_names_what_to_change(tmp_path):
    path = tmp_path / "two.csv"
    basket = ",".join(f"i{i}" for i in range(5_000))
    path.write_text(f"{basket}\n{basket}\n")  # min_count 2: the shortcut does not apply
    budget = 400 << 20
    start = time.monotonic()
    code, peak, err = _run_measured(
        [sys.executable, "-c", "from basketlens.cli import main; main()", "mine", str(path),
         "--min-support", "1.0", "--max-memory", "400M", "--out", str(tmp_path / "r.parquet")]
    )  # fmt: skip
    assert code == 1, err
    assert "max_memory=400.0MiB" in "".join(err.split()) and "max_len" in err, err
    assert peak < budget, f"peak {peak / 2**20:.0f} MiB over the 400 MiB budget"
    assert time.monotonic() - start < 10


@pytest.mark.parametrize(
    ("mode", "signum", "expected"),
    [
        ("main", signal.SIGINT, b"KeyboardInterrupt"),
        ("threads", signal.SIGINT, b"KeyboardInterrupt"),
        ("sigterm", signal.SIGTERM, b""),
    ],
)
def test_a_signal_stops_the_kernel_within_a_second(mode: str, signum: int, expected: bytes):
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_SEARCH, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout.readline() == b"started\n"
    time.sleep(1.0)  # well inside the search
    assert proc.poll() is None, "the search ended before it could be interrupted"
    start = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    seconds = time.monotonic() - start
    assert expected in err, err
    assert b"finished" not in out
    if signum == signal.SIGTERM:
        assert proc.returncode == 143  # unwound as an exit: finally blocks and atexit ran
    assert seconds < 1.0, f"stopped {seconds:.2f}s after the signal"
