"""Mining benchmark: basketlens against pyfim, mlxtend and efficient-apriori.

Every (case, tool) pair is run ``--repeats`` times, each time in a fresh Python process
(``benchmarks/tools/run_<tool>.py``) that loads the file, mines the frequent itemsets, derives
the rules and writes them to Parquet. The harness records the wall time of the whole process
(interpreter start-up included), the phase timings the runner reports (import, load, mine,
rules, write) and the child's peak resident memory (``ru_maxrss`` from ``os.wait4``), and
takes medians. Repeats are interleaved across tools so that machine noise hits all alike.

Example::

    python benchmarks/run_mining.py                   # everything, 3 repeats
    python benchmarks/run_mining.py --quick           # 1 repeat, small cases only
    python benchmarks/run_mining.py --cases retail_0.001 --tools basketlens,pyfim --repeats 5
    python benchmarks/run_mining.py --write-doc       # also refresh docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _machine import machine_info
from _report import render_results, replace_doc_block

log = logging.getLogger("basketlens.bench")

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DATA = ROOT.parent / "shared" / "data"
TOOLS = ("basketlens", "pyfim", "mlxtend", "efficient-apriori")
RUNNERS = {tool: BENCH_DIR / "tools" / f"run_{tool.replace('-', '_')}.py" for tool in TOOLS}
EXIT_UNAVAILABLE = 3
POLL_S = 0.2  # watchdog polling interval


def _synthetic() -> Path:
    from make_synthetic import ensure

    return ensure()


@dataclass(frozen=True)
class Case:
    """One benchmark input and its thresholds."""

    name: str
    path: Callable[[], Path]
    min_support: float
    min_confidence: float = 0.5
    expected_itemsets: int | None = None  # published / independently agreed count
    expected_rules: int | None = None  # single-consequent rules, where published
    small: bool = True  # part of --quick
    default: bool = True  # run when --cases is not given


CASES: dict[str, Case] = {
    c.name: c
    for c in (
        Case(
            "retail_0.001", lambda: DATA / "fimi" / "retail.dat.gz", 0.001, expected_itemsets=7_589
        ),
        Case(
            "retail_0.0005",
            lambda: DATA / "fimi" / "retail.dat.gz",
            0.0005,
            expected_itemsets=19_242,
        ),
        Case("chess_0.7", lambda: DATA / "fimi" / "chess.dat.gz", 0.7, expected_itemsets=48_731),
        Case("mushroom_0.2", lambda: DATA / "fimi" / "mushroom.dat.gz", 0.2),
        # 574,430 itemsets and 4.5 million rules: a test of output handling rather than of
        # mining (pyfim needs > 6 GB to hold the rules as Python tuples); opt-in only.
        Case(
            "mushroom_0.1",
            lambda: DATA / "fimi" / "mushroom.dat.gz",
            0.1,
            small=False,
            default=False,
        ),
        Case(
            "groceries_0.001",
            lambda: DATA / "groceries" / "groceries.csv.gz",
            0.001,
            expected_itemsets=13_492,
            expected_rules=5_668,
        ),
        Case("synthetic_1m_0.001", _synthetic, 0.001, small=False),
    )
}

#: Pairs known to need far more than the default timeout or the RAM of a small machine;
#: run them anyway with --no-skip.
EXPECTED_TOO_COSTLY: dict[tuple[str, str], str] = {
    ("synthetic_1m_0.001", "mlxtend"): "skipped: expected > timeout",
    ("synthetic_1m_0.001", "efficient-apriori"): "skipped: expected > timeout",
    ("mushroom_0.2", "mlxtend"): "skipped: needs > 18 GB RAM",
    ("mushroom_0.1", "mlxtend"): "skipped: expected > RAM",
    ("mushroom_0.1", "efficient-apriori"): "skipped: expected > RAM",
}


@dataclass
class Run:
    """One fresh-process run of one tool on one case."""

    status: str  # ok | timeout | memory | n/a | error
    wall_s: float
    peak_mb: float
    report: dict[str, Any] = field(default_factory=dict)
    message: str = ""


@dataclass
class Result:
    """Medians over the repeats of one (case, tool) pair."""

    case: str
    tool: str
    status: str
    repeats: int = 0
    wall_s: float | None = None
    peak_mb: float | None = None
    phases: dict[str, float] = field(default_factory=dict)
    n_baskets: int | None = None
    min_count: int | None = None
    n_itemsets: int | None = None
    n_rules: int | None = None
    n_rules_generated: int | None = None
    version: str | None = None
    agree: str = ""
    message: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)


class Watchdog(threading.Thread):
    """Kill a child that runs past ``timeout`` seconds or grows above ``max_rss_mb``."""

    def __init__(self, pid: int, start: float, timeout: float, max_rss_mb: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.start_time, self.timeout, self.max_rss_mb = pid, start, timeout, max_rss_mb
        self.done = threading.Event()
        self.reason = ""

    def run(self) -> None:
        while not self.done.wait(POLL_S):
            if time.perf_counter() - self.start_time > self.timeout:
                self.reason = "timeout"
            elif _rss_mb(self.pid) > self.max_rss_mb:
                self.reason = "memory"
            else:
                continue
            if self.done.is_set():  # exited (and reaped) meanwhile: the pid may be reused
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            return


def _rss_mb(pid: int) -> float:
    """Current resident set size of ``pid`` in MB (0 when unknown)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def run_once(
    tool: str, case: Case, path: Path, timeout: float, max_rss_mb: float, workdir: Path
) -> Run:
    """Run one tool on one case in a fresh process; measure wall time and peak RSS."""
    out = workdir / f"{case.name}.{tool}.parquet"
    cmd = [
        sys.executable,
        str(RUNNERS[tool]),
        str(path),
        "--min-support",
        str(case.min_support),
        "--min-confidence",
        str(case.min_confidence),
        "--out",
        str(out),
    ]
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, cwd=ROOT)
        watchdog = Watchdog(proc.pid, start, timeout, max_rss_mb)
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.done.set()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        text, err = stdout.read().decode(), stderr.read().decode(errors="replace")
    out.unlink(missing_ok=True)
    peak_mb = usage.ru_maxrss / 1024  # Linux reports KiB
    if watchdog.reason == "timeout":
        return Run("timeout", wall, peak_mb, message=f"killed after {timeout:g} s")
    if watchdog.reason == "memory":
        return Run("memory", wall, peak_mb, message=f"killed above {max_rss_mb:,.0f} MB RSS")
    if proc.returncode == EXIT_UNAVAILABLE:
        return Run("n/a", wall, peak_mb, message=_last_line(err))
    if proc.returncode != 0:
        return Run("error", wall, peak_mb, message=_last_line(err))
    try:
        report = json.loads(text.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return Run("error", wall, peak_mb, message=f"no JSON report: {_last_line(err)}")
    return Run("ok", wall, peak_mb, report=report)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def summarise(case: Case, tool: str, runs: list[Run]) -> Result:
    """Medians of the successful runs (or the failure status of the first run)."""
    ok = [r for r in runs if r.status == "ok"]
    result = Result(
        case.name,
        tool,
        "ok" if ok else runs[0].status,
        repeats=len(ok),
        message="" if ok else runs[0].message,
        runs=[asdict(r) for r in runs],
    )
    if not ok:
        if result.status in ("timeout", "memory"):
            result.wall_s = runs[0].wall_s
        return result
    result.wall_s = statistics.median(r.wall_s for r in ok)
    result.peak_mb = statistics.median(r.peak_mb for r in ok)
    names = {name for r in ok for name in r.report["phases"]}
    result.phases = {
        n: statistics.median(r.report["phases"].get(n, 0.0) for r in ok) for n in sorted(names)
    }
    last = ok[-1].report
    for key in ("n_baskets", "min_count", "n_itemsets", "n_rules", "n_rules_generated", "version"):
        setattr(result, key, last.get(key))
    counts = {(r.report["n_itemsets"], r.report["n_rules"]) for r in ok}
    if len(counts) > 1:
        result.message = f"counts differ between repeats: {sorted(counts)}"
    return result


def check_agreement(case: Case, results: list[Result]) -> None:
    """Fill ``agree``: itemset and rule counts against the published or majority reference."""
    ok = [r for r in results if r.status == "ok"]
    if not ok:
        return
    ref_sets = case.expected_itemsets or statistics.mode(r.n_itemsets for r in ok)
    ref_rules = case.expected_rules or statistics.mode(r.n_rules for r in ok)
    for r in ok:
        problems = []
        if r.n_itemsets != ref_sets:
            problems.append(f"itemsets {r.n_itemsets:,} ≠ {ref_sets:,}")
        if r.n_rules != ref_rules:
            problems.append(f"rules {r.n_rules:,} ≠ {ref_rules:,}")
        r.agree = "yes" if not problems else "NO: " + "; ".join(problems)
        if problems:
            log.warning("%s / %s disagrees: %s", case.name, r.tool, "; ".join(problems))


def run_case(
    case: Case,
    tools: list[str],
    repeats: int,
    timeout: float,
    max_rss_mb: float,
    no_skip: bool,
    workdir: Path,
) -> list[Result]:
    """All repeats of all tools on one case, interleaved round-robin."""
    path = case.path()
    if not path.exists():
        log.warning("%s: %s is missing; skipped", case.name, path)
        return [Result(case.name, t, "n/a", message=f"missing {path}") for t in tools]
    runs: dict[str, list[Run]] = {t: [] for t in tools}
    skipped: dict[str, str] = {}
    for tool in tools:
        if not no_skip and (case.name, tool) in EXPECTED_TOO_COSTLY:
            skipped[tool] = EXPECTED_TOO_COSTLY[(case.name, tool)]
    for rep in range(repeats):
        for tool in tools:
            if tool in skipped:
                continue
            run = run_once(tool, case, path, timeout, max_rss_mb, workdir)
            log.info(
                "%s / %s #%d: %s %.2f s %.0f MB %s",
                case.name,
                tool,
                rep + 1,
                run.status,
                run.wall_s,
                run.peak_mb,
                run.message,
            )
            runs[tool].append(run)
            if run.status != "ok":  # no point repeating a timeout or a missing tool
                skipped[tool] = run.status
    results = []
    for tool in tools:
        if runs[tool]:
            results.append(summarise(case, tool, runs[tool]))
        else:
            results.append(Result(case.name, tool, "skipped", message=skipped[tool]))
    check_agreement(case, results)
    return results


def _half_ram_gb() -> float:
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return round(pages * page_size / 2**30 / 2, 1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line of the harness."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cases",
        default=",".join(name for name, case in CASES.items() if case.default),
        help=f"comma-separated subset of: {', '.join(CASES)}",
    )
    parser.add_argument(
        "--tools", default=",".join(TOOLS), help=f"comma-separated subset of: {', '.join(TOOLS)}"
    )
    parser.add_argument("--repeats", type=int, default=3, help="fresh-process runs per pair")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    parser.add_argument(
        "--max-memory-gb",
        type=float,
        default=_half_ram_gb(),
        help="kill a run whose resident memory exceeds this (default: half the RAM)",
    )
    parser.add_argument("--quick", action="store_true", help="1 repeat, small cases only")
    parser.add_argument(
        "--no-skip", action="store_true", help="also run pairs known to exceed the timeout"
    )
    parser.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    parser.add_argument(
        "--write-doc", action="store_true", help="replace the results block of docs/benchmarks.md"
    )
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    args.cases = [c for c in args.cases.split(",") if c]
    args.tools = [t for t in args.tools.split(",") if t]
    unknown = [c for c in args.cases if c not in CASES] + [t for t in args.tools if t not in TOOLS]
    if unknown:
        parser.error(f"unknown case or tool: {', '.join(unknown)}")
    if args.quick:
        args.repeats = 1
        args.cases = [c for c in args.cases if CASES[c].small]
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1; got {args.repeats}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the markdown tables, save JSON and optionally the doc."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    started = dt.datetime.now(dt.UTC)
    machine = machine_info()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="basketlens-bench-") as tmp:
        for name in args.cases:
            results.extend(
                run_case(
                    CASES[name],
                    args.tools,
                    args.repeats,
                    args.timeout,
                    args.max_memory_gb * 1024,
                    args.no_skip,
                    Path(tmp),
                )
            )
    machine["load_average_end"] = os.getloadavg()
    settings = {
        "repeats": args.repeats,
        "timeout_s": args.timeout,
        "max_memory_gb": args.max_memory_gb,
        "tools": args.tools,
        "cases": {
            n: {"min_support": CASES[n].min_support, "min_confidence": CASES[n].min_confidence}
            for n in args.cases
        },
    }
    meta = {"date": started.isoformat(timespec="seconds"), "machine": machine, "settings": settings}
    markdown = render_results(meta, [asdict(r) for r in results])
    sys.stdout.write(markdown + "\n")

    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"{started:%Y-%m-%d}.json"
    out.write_text(json.dumps({**meta, "results": [asdict(r) for r in results]}, indent=1) + "\n")
    log.warning("results written to %s", out)
    if args.write_doc:
        replace_doc_block(args.doc, markdown)
        log.warning("updated %s", args.doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
