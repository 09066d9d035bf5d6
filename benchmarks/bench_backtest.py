"""Benchmark: the backtest of every method on every ledger we have, and the recommender's cost.

For each ledger — Online Retail and the Complete Journey sample (``../shared/data``, skipped
when absent), the demo ledger and generated ledgers (:func:`basketlens.synth.generate_ledger`)
— it runs ``basketlens backtest`` through the library (the same code as the command, default
settings, nothing tuned on the test period) and records every method's measures, the default
recommender's calibration by decile, and three costs:

* ``recommend_s`` — the recommend stage of ``basketlens run`` on the whole ledger (what
  training the default recommender adds to ``run``);
* ``answer_ms`` — ``load_model(out)`` + ``recommend_customer(id)`` from the saved model for
  50 random customers (median and 95th percentile), in this process;
* ``cli_s`` — one ``basketlens recommend OUT --customer ID`` as a new process (interpreter
  start and imports included).

``--write-doc`` replaces the results block of ``docs/backtest.md``; ``--json`` keeps the raw
numbers. Timings depend on the machine's load: the block records it.

Example::

    python benchmarks/bench_backtest.py --write-doc                 # every ledger, ~5 min
    python benchmarks/bench_backtest.py --ledgers demo,synthetic-small --json bt.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_info

from basketlens import pipeline
from basketlens.clean import CleanResult, clean_ledger
from basketlens.config import RunConfig
from basketlens.ingest import load_ledger
from basketlens.runfolder.model_io import load_model, save_model
from basketlens.synth import generate_ledger

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DOC = ROOT / "docs" / "backtest.md"
BEGIN = "<!-- backtest-results:begin (written by benchmarks/bench_backtest.py --write-doc) -->"
END = "<!-- backtest-results:end -->"
TOP_N = 5


@dataclass(frozen=True)
class Ledger:
    name: str
    title: str
    load: Callable[[Path], CleanResult]
    backtest: dict[str, Any]  # [backtest] options
    currency: str | None = None


def _online_retail(_: Path) -> CleanResult:
    return clean_ledger(load_ledger(DATA / "online_retail" / "online_retail.parquet"))


def _complete_journey(_: Path) -> CleanResult:
    folder = DATA / "completejourney_sample"
    return clean_ledger(
        load_ledger(
            folder / "transactions_sample.parquet",
            items=folder / "products.parquet",
            customers=folder / "demographics.parquet",
        )
    )


def _generated(n_customers: int, n_lines: int | None, seed: int) -> Callable[[Path], CleanResult]:
    def load(tmp: Path) -> CleanResult:
        paths = generate_ledger(n_customers=n_customers, n_lines=n_lines, seed=seed).write(
            tmp / f"synth-{seed}", format="parquet"
        )
        return clean_ledger(
            load_ledger(paths["sales"], items=paths["items"], customers=paths["customers"])
        )

    return load


LEDGERS: dict[str, Ledger] = {
    led.name: led
    for led in (
        Ledger(
            "online-retail",
            "Online Retail (UCI, 2010-12 – 2011-12), split 2011-09-01",
            _online_retail,
            {"split": "2011-09-01"},
            "£",
        ),
        Ledger(
            "complete-journey",
            "Complete Journey sample (75,000 lines of 2017), last 3 months held out",
            _complete_journey,
            {"holdout_months": 3},
            "$",
        ),
        Ledger(
            "demo",
            "Demo ledger (`basketlens demo`: 600 customers, seed 0), last 3 months held out",
            _generated(600, None, 0),
            {"holdout_months": 3},
            "€",
        ),
        Ledger(
            "synthetic-small",
            "Generated: 200 customers, 20,000 lines (seed 7), last 3 months held out",
            _generated(200, 20_000, 7),
            {"holdout_months": 3},
            "€",
        ),
        Ledger(
            "synthetic-large",
            "Generated: 5,000 customers, 500,000 lines (seed 1), last 3 months held out",
            _generated(5_000, 500_000, 1),
            {"holdout_months": 3},
            "€",
        ),
    )
}


def _answer_times(out: Path, customers: list[str], seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    picked = rng.sample(customers, min(50, len(customers)))
    times = []
    for customer in picked:
        t0 = time.perf_counter()
        answer = load_model(out).recommend_customer(customer, top=TOP_N)
        times.append((time.perf_counter() - t0) * 1000)
        assert answer.height > 0 and answer["reason"].null_count() == 0
    t0 = time.perf_counter()
    command = shutil.which("basketlens") or str(Path(sys.executable).parent / "basketlens")
    done = subprocess.run(
        [command, "recommend", str(out), "--customer", picked[0]],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    cli = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    times.sort()
    return {
        "answer_ms_median": round(statistics.median(times), 1),
        "answer_ms_p95": round(times[int(0.95 * (len(times) - 1))], 1),
        "cli_s": round(cli, 2),
    }


def run_ledger(ledger: Ledger, tmp: Path, *, rolling: int, bootstrap: int) -> dict[str, Any]:
    """Backtest one ledger and time the recommender on all of it."""
    t0 = time.perf_counter()
    cleaned = ledger.load(tmp)
    load_s = time.perf_counter() - t0
    config = RunConfig().override(
        backtest={**ledger.backtest, "top_n": TOP_N, "rolling": rolling, "bootstrap": bootstrap}
    )
    clock = pipeline.Clock()
    t0 = time.perf_counter()
    result = pipeline.backtest_lines(
        cleaned.lines, cleaned.items, config, clock=clock, currency=ledger.currency
    )
    backtest_s = time.perf_counter() - t0
    full = pipeline.Clock()
    fitted = pipeline.fit_stages(
        cleaned.lines, cleaned.items, config, clock=full, currency=ledger.currency
    )
    assert fitted.recommender is not None and fitted.opportunities is not None
    out = tmp / f"out-{ledger.name}"
    save_model(out, fitted.recommender.model(fitted.opportunities.model))
    timing = _answer_times(out, fitted.recommender.recommendations["customer_id"].to_list(), 0)
    summary = fitted.recommender.summary()
    return {
        "ledger": ledger.name,
        "title": ledger.title,
        "lines": cleaned.lines.height,
        "customers": cleaned.lines["unit"].n_unique(),
        "items": cleaned.lines["item"].n_unique(),
        "splits": [str(s) for s in result.splits],
        "train_lines": result.train_lines,
        "test_lines": result.test_lines,
        "table": result.table.with_columns(pl.col("split", "test_end").cast(pl.String)).to_dicts(),
        "calibration": result.calibration.with_columns(pl.col("split").cast(pl.String)).to_dicts(),
        "seconds": {
            "load_and_clean": round(load_s, 2),
            "backtest": round(backtest_s, 2),
            "backtest_stages": clock.timings,
            "run_stages": full.timings,
            "recommend": full.timings.get("recommend"),
            **timing,
        },
        "recommender": {
            k: summary[k]
            for k in ("ranker", "ease_lambda", "model_items", "items", "training", "weights")
        },
    }


# ---------------------------------------------------------------------- markdown
def _pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None or x != x else f"{x:.{digits}%}"


def ledger_markdown(r: dict[str, Any]) -> list[str]:
    table = pl.DataFrame(r["table"])
    latest = table.filter(pl.col("split") == table["split"].max())
    out = [
        f"### {r['title']}",
        "",
        f"{r['lines']:,} cleaned lines, {r['customers']:,} customers, {r['items']:,} items; "
        f"split {', '.join(s[:10] for s in r['splits'])}: {r['train_lines']:,} training lines, "
        f"{r['test_lines']:,} test lines; {latest['customers'][0]:,} customers active before "
        f"the split, {latest['customers_with_new_items'][0]:,} bought an item new to them "
        "after it.",
        "",
        "| method | coverage | hit@5 | 95% interval | precision@5 | recall@5 | NDCG@5 | hits "
        "| hit revenue | Brier |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in latest.sort("hit_rate", descending=True).iter_rows(named=True):
        name = f"**{row['method']}** (default)" if row["default"] else row["method"]
        brier = "–" if row["brier"] is None else f"{row['brier']:.3f}"
        out.append(
            f"| {name} | {_pct(row['coverage'], 0)} | {_pct(row['hit_rate'])} "
            f"| {_pct(row['hit_rate_low'])}–{_pct(row['hit_rate_high'])} "
            f"| {_pct(row['precision'])} | {_pct(row['recall'], 2)} | {row['ndcg']:.3f} "
            f"| {row['hits']:,} | {row['hit_revenue']:,.0f} "
            f"| {brier} |"
        )
    rates = dict(zip(latest["method"].to_list(), latest["hit_rate"].to_list(), strict=True))
    best_cf = max(rates["ease"], rates["item_knn"])
    best_all = max(v for k, v in rates.items() if k != "recommender")
    out += [
        "",
        f"Default ÷ best of item_knn and ease: **{rates['recommender'] / best_cf:.3f}×**; "
        f"÷ popularity: **{rates['recommender'] / max(rates['popularity'], 1e-12):.2f}×**; "
        f"÷ best of every other method: {rates['recommender'] / best_all:.3f}×.",
    ]
    if len(r["splits"]) > 1:
        mean = (
            table.group_by("method")
            .agg(pl.col("hit_rate").mean())
            .sort("hit_rate", descending=True)
        )
        out += [
            "",
            "Mean hit@5 over the rolling origins: "
            + ", ".join(f"{m} {_pct(v)}" for m, v in mean.iter_rows())
            + ".",
        ]
    s = r["seconds"]
    rec = r["recommender"]
    out += [
        "",
        f"Recommend stage of `run` on the whole ledger: {s['recommend']:.2f} s (ranker "
        f"{rec['ranker']}, EASE λ {rec['ease_lambda']:g}, {rec['model_items']:,} of "
        f"{rec['items']:,} items in the item–item models). Answer from the saved model: median "
        f"{s['answer_ms_median']:.0f} ms, 95th percentile {s['answer_ms_p95']:.0f} ms "
        f"(`load_model` + `recommend_customer`); `basketlens recommend --customer` as a new "
        f"process {s['cli_s']:.2f} s. Backtest {s['backtest']:.1f} s.",
        "",
    ]
    return out


def calibration_markdown(r: dict[str, Any]) -> list[str]:
    cal = pl.DataFrame(r["calibration"])
    cal = cal.filter(pl.col("split") == cal["split"].max())
    table = pl.DataFrame(r["table"])
    brier = table.filter(pl.col("default") & (pl.col("split") == table["split"].max()))["brier"][0]
    out = [
        f"#### Calibration — {r['title'].split(' (')[0]} (Brier score {brier:.3f})",
        "",
        "| decile | recommendations | mean probability | share bought | expected revenue "
        "| realised revenue |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for by, label in (("probability", "by probability"), ("expected_value", "by expected value")):
        out.append(f"| *{label}* | | | | | |")
        for row in cal.filter(pl.col("by") == by).sort("decile").iter_rows(named=True):
            out.append(
                f"| {row['decile']} | {row['recommendations']:,} | {_pct(row['mean_probability'])} "
                f"| {_pct(row['hit_share'])} | {row['expected_revenue']:,.0f} "
                f"| {row['realised_revenue']:,.0f} |"
            )
    return [*out, ""]


def results_markdown(results: list[dict[str, Any]], machine: dict[str, Any], when: str) -> str:
    load = machine["load_average_start"][0]
    lines = [
        BEGIN,
        "",
        f"Run {when} with `python benchmarks/bench_backtest.py --write-doc` on "
        f"{machine['cpu']} ({machine['cores']} cores), {machine['ram_gib']} GiB, Python "
        f"{machine['python']}; load average {load:.1f} at the start (shared machine: the "
        "timings are upper bounds). Top 5, default settings, nothing tuned on a test period.",
        "",
    ]
    for r in results:
        lines += ledger_markdown(r)
    lines += ["### Calibration of the default recommender", ""]
    for r in results:
        if r["ledger"] in ("online-retail", "demo"):
            lines += calibration_markdown(r)
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_doc(block: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC} lacks the results markers {BEGIN!r} … {END!r}")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(head + block.rstrip("\n") + tail, encoding="utf-8")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ledgers", default=",".join(LEDGERS), help="comma-separated names")
    parser.add_argument("--rolling", type=int, default=1, help="rolling-origin splits")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--write-doc", action="store_true", help="update docs/backtest.md")
    args = parser.parse_args(argv)
    machine = machine_info()
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.ledgers.split(","):
            ledger = LEDGERS[name.strip()]
            if ledger.name in ("online-retail", "complete-journey") and not DATA.exists():
                print(f"skipped {ledger.name}: {DATA} not found", file=sys.stderr)
                continue
            print(f"{ledger.name} …", file=sys.stderr, flush=True)
            r = run_ledger(ledger, Path(tmp), rolling=args.rolling, bootstrap=args.bootstrap)
            results.append(r)
            print("\n".join(ledger_markdown(r)), file=sys.stderr, flush=True)
    block = results_markdown(results, machine, when)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2,
                                        default=str))  # fmt: skip
    if args.write_doc:
        write_doc(block)
    else:
        print(block)
    return results


if __name__ == "__main__":
    main()
