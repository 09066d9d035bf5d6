"""Time ``basketlens run`` with the report, stage by stage, on a real ledger.

Each repeat runs the real command line in a fresh process into a fresh output folder
(nothing is reused from an earlier run: every chart is drawn), and records the wall time from
spawning the interpreter to its exit, plus the time of each stage as the command prints it
(``✓ stage  1.23s  …`` lines; piped, they are plain), each stage's CPU time (the ``-v`` log
line ``stage NAME: …s, …s of CPU``: every thread of the main process, so a stage using two
cores shows more CPU than wall time) and the report's parts (HTML, workbook, charts, BI
tables — the charts render beside the others). With ``--reference CMD`` a second
command (e.g. the seed notebook exported as a script) is timed in the same repeats, alternating
with basketlens, so that both see the same machine load.

Run (one command; ``--write-doc`` rewrites the results block of ``docs/benchmarks.md``)::

    python benchmarks/bench_run.py --write-doc
    python benchmarks/bench_run.py --repeats 5 --reference "python seed_pipeline.py" --write-doc

Example::

    >>> parse_stages("✓ clean            1.61s  392,692 of 541,909 lines kept")
    {'clean': 1.61}
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _machine import machine_info

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
LEDGER = ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.parquet"
BEGIN = "<!-- run-benchmark:begin (written by benchmarks/bench_run.py --write-doc) -->"
END = "<!-- run-benchmark:end -->"
#: The seed notebook's whole pipeline on Online Retail (issue 13), for the comparison.
SEED_SECONDS = 7.6
STAGE_LINE = re.compile(r"^✓ (\w+)\s+([\d.]+)s\s*(.*)$")
#: The log line of a finished stage with ``-v`` (basketlens.clock.STAGE_CPU_LOG).
STAGE_CPU = re.compile(r"stage (\w+): ([\d.]+)s, ([\d.]+)s of CPU")
PART = re.compile(r"(html|workbook|charts|bi|specs) ([\d.]+)s")


def parse_stages(text: str) -> dict[str, float]:
    """Stage → seconds from the ``✓`` lines the command prints."""
    out = {}
    for line in text.splitlines():
        found = STAGE_LINE.match(line.strip())
        if found:
            out[found.group(1)] = float(found.group(2))
    return out


def parse_stage_cpu(text: str) -> dict[str, float]:
    """Stage → CPU seconds of the main process (every thread) from the ``-v`` log lines.

    Example::

        >>> parse_stage_cpu("INFO     stage mine: 0.93s, 1.40s of CPU")
        {'mine': 1.4}
    """
    return {m.group(1): float(m.group(3)) for m in STAGE_CPU.finditer(text)}


def parse_report_parts(text: str) -> dict[str, float]:
    """The report's parts from the report stage's line ("… html 0.52s, workbook 2.10s …")."""
    for line in text.splitlines():
        if line.strip().startswith("✓ report"):
            return {name: float(value) for name, value in PART.findall(line)}
    return {}


def time_command(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds and CPU seconds (user + system, every thread) of one fresh process, and
    what it printed (stdout + stderr). CPU time is less sensitive than wall time to other
    work on the machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{shlex.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, cpu, done.stdout + done.stderr


def user_env() -> dict[str, str]:
    """This environment as a user's shell has it: Python caches compiled modules.

    Sandboxes and CI images often set ``PYTHONDONTWRITEBYTECODE``; every run then compiles
    basketlens' modules again (an editable install has no ``.pyc`` files), about 0.5 s that a
    user's second run never pays.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def warm_bytecode(env: dict[str, str]) -> None:
    """Import what a run imports once, untimed, so that the timed runs find the ``.pyc``."""
    code = "import basketlens.cli, basketlens.pipeline, basketlens.report.render"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def run_once(ledger: Path, folder: Path, env: dict[str, str]) -> dict[str, Any]:
    argv = [sys.executable, "-c", "from basketlens.cli import main; main()", "-v", "run"]
    argv += [str(ledger), "--out", str(folder)]
    wall, cpu, text = time_command(argv, env)
    stages = parse_stages(text)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "stages": stages,
        "stage_cpu": parse_stage_cpu(text),
        "report_parts": parse_report_parts(text),
        "start_up_s": wall - sum(stages.values()),
    }


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(runs: list[dict[str, Any]], reference: list[float]) -> dict[str, Any]:
    stages: dict[str, list[float]] = {}
    stage_cpu: dict[str, list[float]] = {}
    parts: dict[str, list[float]] = {}
    for r in runs:
        for name, value in r["stages"].items():
            stages.setdefault(name, []).append(value)
        for name, value in r.get("stage_cpu", {}).items():
            stage_cpu.setdefault(name, []).append(value)
        for name, value in r["report_parts"].items():
            parts.setdefault(name, []).append(value)
    return {
        "wall_s": median([r["wall_s"] for r in runs]),
        "wall_runs": [round(r["wall_s"], 2) for r in runs],
        "cpu_s": median([r["cpu_s"] for r in runs]),
        "start_up_s": median([r["start_up_s"] for r in runs]),
        "stages": {k: median(v) for k, v in stages.items()},
        "stage_cpu": {k: median(v) for k, v in stage_cpu.items()},
        "report_parts": {k: median(v) for k, v in parts.items()},
        "reference_s": median(reference),
        "reference_runs": [round(x, 2) for x in reference],
    }


def markdown(summary: dict[str, Any], info: dict[str, Any], args: argparse.Namespace) -> str:
    s = summary
    lines = [
        BEGIN,
        "",
        f"- Date (UTC): {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"- Machine: {info['cpu']}, {info['cores']} usable cores, {info['ram_gib']} GiB RAM; "
        f"{info['os']}; load average at start "
        + ", ".join(f"{x:.2f}" for x in info["load_average_start"])
        + ", at end "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        f"- Ledger: `{args.ledger}`; median of {args.repeats} fresh-process run(s), each into a "
        "new output folder; chart library bundle "
        + ("rebuilt every run (`--cold`)" if args.cold else "from the user cache (built once)"),
        f"- Software: Python {info['python']}; "
        + ", ".join(f"{k} {v}" for k, v in info["packages"].items() if v != "not installed"),
        "",
        "| step | seconds (median) | CPU seconds of the main process (median) |",
        "|---|---|---|",
        f"| interpreter start-up, imports and exit (wall − stages) | {s['start_up_s']:.2f} | |",
    ]
    cpu = s.get("stage_cpu", {})
    for name, value in s["stages"].items():
        lines.append(f"| {name} | {value:.2f} | {_cell(cpu.get(name))} |")
    for name, value in s["report_parts"].items():
        lines.append(f"| ↳ report: {name} | {value:.2f} | |")
    lines += [
        f"| **`basketlens run` with the report, whole process (wall)** | **{s['wall_s']:.2f}** "
        f"(runs: {', '.join(map(str, s['wall_runs']))}) | |",
        f"| CPU time of that process and its chart workers (user + system, all threads) | | "
        f"{s['cpu_s']:.2f} |",
    ]
    if s["reference_s"] is not None:
        lines.append(
            f"| reference `{args.reference}`, same repeats (wall) | {s['reference_s']:.2f} "
            f"(runs: {', '.join(map(str, s['reference_runs']))}) | |"
        )
        lines.append(f"| CPU time of the reference | | {s['reference_cpu_s']:.2f} |")
    else:
        seed = "seed notebook, whole pipeline (issue 13's figure, not rerun here)"
        lines.append(f"| {seed} | {SEED_SECONDS} | |")
    lines += ["", END]
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def write_doc(block: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    if BEGIN in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text += "\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ledger", type=Path, default=LEDGER)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference", help="a command timed alternately with basketlens")
    parser.add_argument(
        "--cold", action="store_true", help="rebuild the chart library bundle every run"
    )
    parser.add_argument("--write-doc", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    if not args.ledger.exists():
        raise SystemExit(f"ledger not found: {args.ledger}")
    info = machine_info()
    runs, reference, reference_cpu = [], [], []
    with tempfile.TemporaryDirectory(prefix="basketlens-bench-") as tmp:
        env = user_env()
        warm_bytecode(env)
        for i in range(args.repeats):
            if args.cold:
                env["XDG_CACHE_HOME"] = str(Path(tmp) / f"cache{i}")
            runs.append(run_once(args.ledger, Path(tmp) / f"out{i}", env))
            last = runs[-1]
            print(f"run {i + 1}: {last['wall_s']:.2f}s (CPU {last['cpu_s']:.2f}s)", flush=True)
            if args.reference:
                seconds, cpu, _ = time_command(shlex.split(args.reference), user_env())
                reference.append(seconds)
                reference_cpu.append(cpu)
                print(f"reference {i + 1}: {seconds:.2f}s (CPU {cpu:.2f}s)", flush=True)
    summary = summarise(runs, reference)
    summary["reference_cpu_s"] = median(reference_cpu)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    raw = {"machine": info, "runs": runs, "reference": reference, "summary": summary}
    (results / f"run-{stamp}.json").write_text(json.dumps(raw, indent=2, default=str))
    block = markdown(summary, info, args)
    print(block)
    if args.write_doc:
        write_doc(block)
    return summary


if __name__ == "__main__":
    main()
