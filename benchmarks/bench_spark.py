"""Scaling benchmark: the local engine beside the Spark engine on a real standalone cluster.

For each ledger size (synthetic lines from ``basketlens synth``, cached in
``benchmarks/data/``) this runs, one after the other, in fresh processes:

* ``local``: ``basketlens run SALES --no-report`` — wall time and peak RSS of the process;
* ``spark``: the same command with ``--engine spark --spark-master spark://127.0.0.1:7077``
  against a standalone master and two workers started here on loopback from the scripts that
  ship in the pyspark package (``bin/spark-class``), one core each — wall time, and the peak
  RSS of every process: the driver (Python and its JVM), the master, each worker, each
  executor JVM and the Python workers (summed), plus the peak of their total.

Memory is sampled from ``/proc`` every 0.2 s (children of the driver, and every process the
cluster spawns). The cluster is stopped (by the process ids started here) after each size.
Results go to ``benchmarks/results/spark-<date>.json``; ``--write-doc`` rewrites the table
in ``docs/scaling.md``. One command reruns everything:

    python benchmarks/bench_spark.py --sizes 1000000,10000000 --write-doc

Run it on an idle machine: the numbers are only as quiet as the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
RESULTS = HERE / "results"
DOC = ROOT / "docs" / "scaling.md"
START, END = "<!-- scaling:start -->", "<!-- scaling:end -->"
MASTER = "spark://127.0.0.1:7077"

ROLES = (
    ("master", "org.apache.spark.deploy.master.Master"),
    ("worker", "org.apache.spark.deploy.worker.Worker"),
    ("executor", "org.apache.spark.executor.CoarseGrainedExecutorBackend"),
    ("driver JVM", "org.apache.spark.deploy.SparkSubmit"),
    ("python workers", "pyspark.daemon"),
    ("python workers", "pyspark.worker"),
)


def _rss_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(found.group(1)) / 1024 if found else 0.0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        kids: list[str] = []
        for task in Path(f"/proc/{p}/task").glob("*/children"):  # threads spawn children too
            try:
                kids += task.read_text().split()
            except OSError:
                continue
        for k in map(int, kids):
            if k not in out:
                out.add(k)
                todo.append(k)
    return out


@dataclass
class Sampler:
    """Peak RSS per process (and of the sum) of the given roots and their descendants."""

    roots: list[int]
    driver: int
    peaks: dict[int, float] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    total_peak: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _role(self, pid: int) -> str:
        if pid == self.driver:
            return "driver (python)"
        cmd = _cmdline(pid)
        for role, marker in ROLES:
            if marker in cmd:
                return role
        return "other"

    def run(self) -> None:
        while not self._stop.is_set():
            pids = set(self.roots)
            for root in self.roots:
                pids |= _children(root)
            total = 0.0
            for pid in pids:
                rss = _rss_mb(pid)
                total += rss
                if rss > self.peaks.get(pid, 0.0):
                    self.peaks[pid] = rss
                    self.names.setdefault(pid, self._role(pid))
            self.total_peak = max(self.total_peak, total)
            time.sleep(0.2)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def by_role(self) -> dict[str, float]:
        """Peak MB per process, labelled by role (workers and executors numbered)."""
        out: dict[str, float] = {}
        counts: dict[str, int] = {}
        summed = 0.0
        for pid in sorted(self.peaks):
            role = self.names.get(pid, "other")
            if role == "python workers":
                summed += self.peaks[pid]
                continue
            if role in ("worker", "executor"):
                counts[role] = counts.get(role, 0) + 1
                role = f"{role} {counts[role]}"
            out[role] = max(out.get(role, 0.0), round(self.peaks[pid]))
        if summed:
            out["python workers (sum of peaks)"] = round(summed)
        return out


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _wait_port(port: int, seconds: float = 120) -> None:
    end = time.time() + seconds
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


class Cluster:
    """A standalone master and ``n`` workers on loopback, started and stopped by pid."""

    def __init__(self, workers: int, cores: int, memory: str, logs: Path) -> None:
        self.workers, self.cores, self.memory, self.logs = workers, cores, memory, logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def _start(self, name: str, *args: str) -> None:
        home = _spark_home()
        env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
        env["PYSPARK_PYTHON"] = sys.executable
        log = (self.logs / f"{name}.log").open("wb")
        cmd = [str(home / "bin" / "spark-class"), *args]
        self.procs.append(subprocess.Popen(cmd, stdout=log, stderr=log, env=env))

    def __enter__(self) -> Cluster:
        self.logs.mkdir(parents=True, exist_ok=True)
        master = "org.apache.spark.deploy.master.Master"
        self._start(
            "master", master, "--host", "127.0.0.1", "--port", "7077", "--webui-port", "8090"
        )
        _wait_port(7077)
        for i in range(1, self.workers + 1):
            self._start(
                f"worker-{i}",
                "org.apache.spark.deploy.worker.Worker",
                "--host", "127.0.0.1",
                "--webui-port", str(8090 + i),
                "--cores", str(self.cores),
                "--memory", self.memory,
                MASTER,
            )  # fmt: skip
        time.sleep(8)  # workers register with the master
        return self

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def ledger(lines: int) -> Path:
    """The synthetic ledger of ``lines`` lines (one customer per 100 lines), made once."""
    folder = DATA / f"spark_{lines}"
    sales = folder / "sales.parquet"
    if not sales.exists():
        customers = max(600, lines // 100)
        cmd = ["basketlens", "synth", "--lines", str(lines), "--customers", str(customers)]
        subprocess.run([*cmd, "--out", str(folder), "--format", "parquet"], check=True)
    return sales


def timed(cmd: list[str], roots: list[int], timeout: float) -> dict[str, object]:
    """Run ``cmd``; wall time, exit code, and peak memory of it and of ``roots``' trees."""
    t0 = time.perf_counter()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    sampler = Sampler([proc.pid, *roots], driver=proc.pid)
    sampler.start()
    try:
        _, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        code = "timeout"
    sampler.stop()
    seconds = round(time.perf_counter() - t0, 1)
    tail = err.decode(errors="replace").strip().splitlines()[-3:]
    return {
        "seconds": seconds,
        "exit": code,
        "peak_mb": sampler.by_role(),
        "total_peak_mb": round(sampler.total_peak),
        "stderr_tail": tail if code != 0 else [],
    }


def run_size(lines: int, args: argparse.Namespace) -> dict[str, object]:
    sales = ledger(lines)
    out = DATA / "out"
    base = ["basketlens", "run", str(sales), "--no-report"]
    result: dict[str, object] = {"lines": lines}
    if "local" in args.engines:
        print(f"[{lines:,}] local engine ...", flush=True)
        result["local"] = timed([*base, "--out", str(out / f"local_{lines}")], [], args.timeout)
        print(f"    {result['local']}", flush=True)
    if "spark" in args.engines:
        print(f"[{lines:,}] Spark standalone: master + {args.workers} workers ...", flush=True)
        with Cluster(args.workers, args.worker_cores, args.worker_memory, out / "logs") as cluster:
            conf = [
                "spark.driver.host=127.0.0.1",  # loopback only
                "spark.driver.bindAddress=127.0.0.1",
                f"spark.executor.memory={args.executor_memory}",
                f"spark.driver.memory={args.driver_memory}",
                f"spark.pyspark.python={sys.executable}",
                "spark.sql.shuffle.partitions=8",
            ]
            cmd = [*base, "--engine", "spark", "--spark-master", MASTER]
            for entry in conf:
                cmd += ["--spark-conf", entry]
            result["spark"] = timed(
                [*cmd, "--out", str(out / f"spark_{lines}")], cluster.pids, args.timeout
            )
        print(f"    {result['spark']}", flush=True)
    return result


def table(results: list[dict[str, object]], machine: str) -> str:
    """The Markdown table of ``docs/scaling.md``."""
    rows = [
        f"Measured {machine}.",
        "",
        "| lines | engine | wall time | peak memory (per process, MB) | peak of the total |",
        "|---:|---|---:|---|---:|",
    ]
    for r in results:
        for engine in ("local", "spark"):
            m = r.get(engine)
            if not isinstance(m, dict):
                continue
            peaks = ", ".join(f"{k} {v:,}" for k, v in m["peak_mb"].items())
            status = "" if m["exit"] == 0 else f" ({m['exit']})"
            rows.append(
                f"| {r['lines']:,} | {engine} | {m['seconds']:,.1f} s{status} | {peaks} "
                f"| {m['total_peak_mb']:,} MB |"
            )
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="ledger sizes in lines")
    parser.add_argument("--engines", default="local,spark")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-cores", type=int, default=1)
    parser.add_argument("--worker-memory", default="9g")
    parser.add_argument("--executor-memory", default="8g")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--note", default="", help="what else ran on the machine")
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args()
    args.engines = args.engines.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    load = os.getloadavg()[0]
    machine = (
        f"on {date.today():%Y-%m-%d}, {platform.platform()}, {os.cpu_count()} cores, "
        f"load average {load:.1f} at the start{'; ' + args.note if args.note else ''}"
    )
    results = []
    for n in sizes:  # written after each size, so a long run leaves what it measured
        results.append(run_size(n, args))
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"spark-{date.today():%Y-%m-%d}.json"
        path.write_text(json.dumps({"machine": machine, "results": results}, indent=2))
        text = table(results, machine)
        print(text, flush=True)
        if args.write_doc:
            doc = DOC.read_text(encoding="utf-8")
            head, rest = doc.split(START, 1)
            tail = rest.split(END, 1)[1]
            DOC.write_text(f"{head}{START}\n{text}{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
