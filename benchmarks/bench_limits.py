"""Measure the bounds of issue 12: the budget error on an exploding basket (time, peak memory),
the memory budget on a search that has to run into it, and how fast a signal stops the kernel.

Run (one command, a few minutes; on an idle machine for numbers worth quoting)::

    python benchmarks/bench_limits.py              # prints a markdown table
    python benchmarks/bench_limits.py --write-doc  # and rewrites the block in docs/mining-limits.md

Each case runs in a fresh process; peak memory is its maximum resident set size
(``ru_maxrss`` from ``os.wait4``), time the wall clock from spawning it to its exit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]
from _machine import machine_info  # noqa: E402
from tests.hostile.test_mining_bounds import SLOW_SEARCH  # noqa: E402 - the same search

DOC = ROOT / "docs" / "mining-limits.md"
BEGIN = "<!-- limits-results:begin (written by benchmarks/bench_limits.py --write-doc) -->"
END = "<!-- limits-results:end -->"
CLI = [sys.executable, "-c", "from basketlens.cli import main; main()"]


def _mine(path: Path, *extra: str) -> dict:
    """``basketlens mine`` in a child process, with its peak memory."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [*CLI, "mine", str(path), *extra, "--out", str(path.with_suffix(".parquet"))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    message = " ".join(err.split())
    budget = re.search(r"max_memory=([\d.]+ \w+)", message)
    return {
        "seconds": round(time.monotonic() - start, 2),
        "exit": os.waitstatus_to_exitcode(status),
        "peak_mib": round(usage.ru_maxrss / 1024),
        "budget": budget.group(1) if budget else "",
        "message": message.split("error: ")[-1][:160],
    }


def _signal_latency(mode: str, signum: int) -> float:
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_SEARCH, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout.readline() == b"started\n"
    time.sleep(1.0)
    start = time.monotonic()
    proc.send_signal(signum)
    proc.communicate()
    return round(time.monotonic() - start, 3)


def measure(folder: Path) -> dict:
    one = folder / "one.csv"
    one.write_text(",".join(f"i{i}" for i in range(20_000)) + "\n")
    two = folder / "two.csv"
    basket = ",".join(f"i{i}" for i in range(20_000))
    two.write_text(f"{basket}\n{basket}\n")
    cases = {
        "one 20,000-item basket, --min-support 0.2 (default budget)": _mine(
            one, "--min-support", "0.2"
        ),
        "two identical 20,000-item baskets, --min-support 1.0 (default budget)": _mine(
            two, "--min-support", "1.0"
        ),
        "two identical 20,000-item baskets, --min-support 1.0 --max-memory 1G": _mine(
            two, "--min-support", "1.0", "--max-memory", "1G"
        ),
    }
    latency = {
        "Ctrl-C, kernel in the main thread": _signal_latency("main", signal.SIGINT),
        "Ctrl-C, kernels in two worker threads": _signal_latency("threads", signal.SIGINT),
        "SIGTERM, kernel in the main thread (CLI handler)": _signal_latency(
            "sigterm", signal.SIGTERM
        ),
    }
    return {"date": date.today().isoformat(), "machine": machine_info(), "cases": cases,
            "signals": latency}  # fmt: skip


def markdown(result: dict) -> str:
    m = result["machine"]
    load = m.get("load_average_start") or ("?",)
    lines = [
        f"Measured {result['date']} on {m['cpu']} ({m['cores']} cores, {m['ram_gib']} GiB), "
        f"1-minute load average {load[0]:.1f} at the start"
        + (" (a shared, busy machine: rerun on an idle one)." if load[0] > m["cores"] else "."),
        "",
        "| case | exit | wall (s) | peak RSS (MiB) | budget | message |",
        "|---|---|---|---|---|---|",
    ]
    for name, c in result["cases"].items():
        lines.append(
            f"| {name} | {c['exit']} | {c['seconds']} | {c['peak_mib']} | {c['budget']} | "
            f"{c['message'].replace('|', '/')} |"
        )
    lines += ["", "| signal | seconds from the signal to the exit of the process |", "|---|---|"]
    lines += [f"| {name} | {s} |" for name, s in result["signals"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-doc", action="store_true", help="rewrite docs/mining-limits.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(Path(tmp))
    text = markdown(result)
    print(text)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / f"limits-{result['date']}.json").write_text(json.dumps(result, indent=2, default=str))
    if args.write_doc:
        doc = DOC.read_text(encoding="utf-8")
        head, rest = doc.split(BEGIN)
        doc = head + BEGIN + "\n" + text + END + rest.split(END)[1]
        DOC.write_text(doc, encoding="utf-8")


if __name__ == "__main__":
    main()
