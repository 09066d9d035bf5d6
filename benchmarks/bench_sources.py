"""Read a large ledger from PostgreSQL and from Parquet: time and peak memory, side by side.

    .ci/services start /tmp/bl-services && . /tmp/bl-services/env   # or --uri postgresql://…
    python benchmarks/bench_sources.py --lines 10000000 --customers 50000

Generates the synthetic ledger once (``basketlens synth``, Parquet, cached in
``benchmarks/data/``), loads its sales into table ``bench.sales_<lines>`` once (streamed with
ADBC), then measures in a fresh Python process per run:

* ``open``: the source opened — for PostgreSQL the query streamed batch by batch into the
  Parquet spool file (one pass, one batch in memory), for Parquet the file's metadata;
* ``load``: ``load_ledger`` — layout, mapping, the pass that counts rows and parses values;
* ``collect``: the canonical lines collected into memory (what cleaning starts from);
* peak RSS of the process (``VmHWM``), imports included.

Prints a Markdown table; the repeats of the two sources are interleaved.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from basketlens.ingest import load_ledger
from basketlens.ingest.sources import open_source
t1 = time.perf_counter()
source, stage = sys.argv[1], sys.argv[2]
out = {"import": t1 - t0}
if stage == "open":
    table = open_source(source, role="sales")
    out.update(open=time.perf_counter() - t1, rows=table.rows)
else:
    ledger = load_ledger(source)
    t2 = time.perf_counter()
    lines = ledger.lines.collect()
    t3 = time.perf_counter()
    out.update(load=t2 - t1, collect=t3 - t2, rows=lines.height, mb=lines.estimated_size() / 2**20)
# the high-water mark of this process image (ru_maxrss would include the parent's at fork)
status = open("/proc/self/status").read()
out["peak_mb"] = int(status.split("VmHWM:")[1].split()[0]) / 1024
print(json.dumps(out))
"""


def ensure_data(lines: int, customers: int) -> Path:
    folder = ROOT / "data" / f"sources-{lines}-{customers}"
    if not (folder / "sales.parquet").exists():
        subprocess.run(
            ["basketlens", "synth", "--lines", str(lines), "--customers", str(customers),
             "--out", str(folder), "--format", "parquet"],
            check=True,
        )  # fmt: skip
    return folder / "sales.parquet"


def ensure_table(uri: str, parquet: Path, table: str) -> None:
    import adbc_driver_postgresql.dbapi as adbc_pg
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(parquet).metadata.num_rows
    with adbc_pg.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT to_regclass('bench.{table}') IS NOT NULL")
        if cur.fetchone()[0]:
            cur.execute(f"SELECT count(*) FROM bench.{table}")
            if cur.fetchone()[0] == rows:
                return
        cur.execute("CREATE SCHEMA IF NOT EXISTS bench")
        reader = ds.dataset(parquet).scanner(batch_size=200_000).to_reader()
        start = time.perf_counter()
        cur.adbc_ingest(table, reader, mode="replace", db_schema_name="bench")
        conn.commit()
        print(f"loaded {rows:,} rows into bench.{table} in {time.perf_counter() - start:.1f}s",
              file=sys.stderr)  # fmt: skip


def measure(source: str, stage: str) -> dict:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, source, stage], stdout=subprocess.PIPE)
    start = time.perf_counter()
    _, status, _ = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    assert proc.stdout is not None
    out = json.loads(proc.stdout.read())
    if status:
        raise SystemExit(f"{source}: child failed ({status})")
    out["wall"] = wall
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--uri", default=os.environ.get("BASKETLENS_TEST_PG"))
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    if not args.uri:
        raise SystemExit("give --uri postgresql://… or start .ci/services and source its env")
    parquet = ensure_data(args.lines, args.customers)
    table = f"sales_{args.lines}"
    ensure_table(args.uri, parquet, table)
    sources = {"Parquet file": str(parquet), "PostgreSQL table": f"{args.uri}?table=bench.{table}"}
    results: dict[tuple[str, str], list[dict]] = {}
    for _ in range(args.repeats):
        for stage in ("open", "collect"):
            for name, source in sources.items():
                results.setdefault((name, stage), []).append(measure(source, stage))
    print(f"\n{args.lines:,} lines requested; load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| source | run | rows | open s | load_ledger s | collect s | process s | peak RSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (name, stage), runs in results.items():
        best = min(runs, key=lambda r: r["wall"])
        what = "open only" if stage == "open" else "load_ledger + collect lines"
        cells = [f"{best[k]:.1f}" if k in best else "–" for k in ("open", "load", "collect")]
        print(f"| {name} | {what} | {best['rows']:,} | {' | '.join(cells)} "
              f"| {best['wall']:.1f} | {best['peak_mb']:,.0f} |")  # fmt: skip
        if "mb" in best:
            print(f"|  | (canonical lines in memory: {best['mb']:,.0f} MB) | | | | | | |")


if __name__ == "__main__":
    main()
