"""Benchmark and acceptance check of rule kinds, significance and the call list on a ledger.

One command, rerunnable: cleans the ledger, segments it like ``basketlens run`` and then

* **before** — mines with the previous run profile (``MiningOptions(max_len=4)``: about 200
  rules per scope, no pruning, no significance), classifies those rules with the item
  families, and ranks its rule × customer opportunities by expected value, as basketlens 0.1
  did;
* **after** — mines with the run profile of :func:`basketlens.config.run_mining_defaults` and
  builds the call list with the default :class:`RecommendOptions`.

It reports the share of variant rules before and after, the top 50 of each list (how many
pair an item with a variant of itself, how many distinct items and rules), the top 10 calls
in words, and the cost of families, redundancy pruning, significance and the customer count
(wall and CPU seconds, summed over scopes and levels; scopes are mined one at a time).

Example::

    python benchmarks/bench_rules.py                          # Online Retail in ../shared/data
    python benchmarks/bench_rules.py --sales my.parquet --json results.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_info

from basketlens.config import RunConfig, run_mining_defaults
from basketlens.features import build_customer_features
from basketlens.mining import MiningOptions, run_mining
from basketlens.mining.families import rule_kinds
from basketlens.opportunities import find_opportunities, run_opportunities
from basketlens.pipeline import load_and_clean
from basketlens.segment import CustomerSegmenter

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SALES = ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.parquet"


def _linked(families: pl.DataFrame) -> pl.DataFrame:
    """item, other: variant pairs (links and same family)."""
    fam = families.select("item", "family")
    same = fam.join(fam.rename({"item": "other"}), on="family").filter(
        pl.col("item") != pl.col("other")
    )
    links = families.select("item", other="variants").explode("other").drop_nulls()
    return pl.concat([same.select("item", "other"), links]).unique()


def _top(table: pl.DataFrame, item: pl.Expr, linked: pl.DataFrame, n: int = 50) -> dict:
    """Variant pairs, distinct items and distinct rules among the first ``n`` rows."""
    top = table.head(n).with_row_index("row").with_columns(item=item)
    pairs = top.select("row", "item", other="antecedent").explode("other")
    variant = pairs.join(linked, on=["item", "other"], how="semi")["row"].n_unique()
    return {
        "rows": top.height,
        "pair_an_item_with_a_variant": int(variant),
        "distinct_items": top["item"].n_unique(),
        "distinct_rules": top["rule_id"].n_unique(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=Path, default=DEFAULT_SALES)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    if not args.sales.exists():
        sys.exit(f"no ledger at {args.sales}; pass --sales")
    config = RunConfig().override(input={"sales": str(args.sales)})
    _, cleaned = load_and_clean(config)
    lines, items = cleaned.lines, cleaned.items
    features = build_customer_features(lines, config.features)
    segmenter = CustomerSegmenter.from_options(config.segment).fit(features.table)
    customers = features.table.join(segmenter.assignments_, on="customer_id", how="left")

    # ---------------------------------------------------------------- after (run profile)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    # scopes one at a time, so that each step's CPU time is its own
    mined = run_mining(lines, segmenter.assignments_, run_mining_defaults(), items, n_jobs=1)
    mine_cpu, mine_wall = time.process_time() - cpu0, time.perf_counter() - wall0
    families = mined.families.table
    linked = _linked(families)
    rules = mined.rules.table
    cpu0, wall0 = time.process_time(), time.perf_counter()
    stage = run_opportunities(lines, rules, customers, items=items, families=families)
    opp_cpu, opp_wall = time.process_time() - cpu0, time.perf_counter() - wall0
    calls = stage.call_list.table.sort("rank")
    account = mined.info["pruning"]["all_levels"]
    cost = {}
    for timing in ("seconds", "cpu_seconds"):
        steps = {"families": mined.families.info[timing], **account[timing]}
        cost[timing] = {**steps, "total": round(sum(steps.values()), 3)}
    item_rules = rules.filter(pl.col("level") == "item")

    # ---------------------------------------------------------------- before (0.1 profile)
    old = run_mining(lines, segmenter.assignments_, MiningOptions(max_len=4), items)
    old_rules = old.rules.table.filter(pl.col("level") == "item").drop("kind")
    old_kinds = rule_kinds(old_rules, mined.families)
    old_opp = find_opportunities(lines, old_rules, customers, items=items).table.sort(
        "expected_value", descending=True
    )

    result: dict[str, Any] = {
        "ledger": str(args.sales),
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "families": mined.families.info,
        "before": {
            "rules": old_rules.height,
            "variant_share": round(float((old_kinds == "variant").mean()), 4),
            "top50": _top(old_opp, pl.col("consequent").list.first(), linked),
            "top10": [
                f"{r['customer_id']}: {' + '.join(r['antecedent_names'])} → "
                f"{' + '.join(r['consequent_names'])}"
                for r in old_opp.head(10).iter_rows(named=True)
            ],
        },
        "after": {
            "rules": rules.height,
            "item_rules": item_rules.height,
            "variant_share_item_rules": round(float((item_rules["kind"] == "variant").mean()), 4),
            "variant_share_offered": round(float((calls["kind"] == "variant").mean()), 4),
            "pruning": mined.info["pruning"]["all_levels"],
            "top50": _top(calls, pl.col("item"), linked),
            "top10": [
                f"#{r['rank']} customer {r['customer_id']}: offer {r['item_name']} "
                f"(~{r['expected_value']:.2f}/month) — {r['rule']} "
                f"(confidence {r['confidence']:.0%}, {r['n_rules']} rule(s))"
                for r in calls.head(10).iter_rows(named=True)
            ],
        },
        "cost_seconds": cost,
        "mine_stage": {"cpu_s": round(mine_cpu, 3), "wall_s": round(mine_wall, 3)},
        "opportunities_stage": {"cpu_s": round(opp_cpu, 3), "wall_s": round(opp_wall, 3)},
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
