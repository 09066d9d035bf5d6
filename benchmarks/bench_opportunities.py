"""Benchmark: opportunities for 10,000 rules × 100,000 customers on a sparse purchase matrix.

Synthetic, seeded: customers buy ``--items-per-customer`` items on average from ``--items``
items with Zipf-like popularity (so popular items sit in many antecedents, the hard case);
rules have 1–3 antecedent items and one consequent, drawn by popularity; half the rules are
scoped "all", the other half spread over 5 segments. Reported separately:

* ``matrix``   – building :class:`CustomerItems` from the long customer × item table;
* ``match``    – the matching kernel alone (:func:`match_rules`, every scope);
* ``find``     – :func:`find_opportunities` end to end (values, antecedent history, ranked
  table with names) for the first ``--table-customers`` customers (the full table of the
  default case has ~19M rows of list columns: many GB, of no use to anyone);
* ``recommend``– top-5 recommendations from those opportunities.

A sample of rules is checked against a brute-force set computation.

Example::

    python benchmarks/bench_opportunities.py                 # 100k customers, 10k rules
    python benchmarks/bench_opportunities.py --customers 20000 --rules 2000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_info

from basketlens.opportunities import CustomerItems, find_opportunities, recommend
from basketlens.opportunities.opportunities import RuleCodes, match_rules


def synthetic(
    n_customers: int, n_items: int, per_customer: int, n_rules: int, seed: int
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(customer-item long table, rules, customers with 5 segments)."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.8
    weights /= weights.sum()
    sizes = np.maximum(1, rng.poisson(per_customer, n_customers))
    rows = np.repeat(np.arange(n_customers), sizes)
    cols = rng.choice(n_items, size=rows.size, p=weights)
    pairs = np.unique(rows.astype(np.int64) * n_items + cols)
    rows, cols = pairs // n_items, pairs % n_items
    customer_ids = np.array([f"C{i:06d}" for i in range(n_customers)])
    item_ids = np.array([f"I{i:05d}" for i in range(n_items)])
    day = np.datetime64("2024-01-01") + rng.integers(0, 365, rows.size).astype("timedelta64[D]")
    long = pl.DataFrame(
        {
            "customer_id": customer_ids[rows],
            "item": item_ids[cols],
            "orders": rng.integers(1, 6, rows.size).astype(np.int32),
            "quantity": rng.gamma(2.0, 2.0, rows.size),
            "net_sales": rng.gamma(2.0, 10.0, rows.size),
            "first_date": day.astype("datetime64[us]"),
            "last_date": day.astype("datetime64[us]"),
        }
    )
    ante_len = rng.integers(1, 4, n_rules)
    antecedents, consequents = [], []
    for n in ante_len:
        picked = rng.choice(n_items, size=n + 1, replace=False, p=weights)
        antecedents.append(sorted(item_ids[picked[:n]].tolist()))
        consequents.append([item_ids[picked[n]]])
    index = np.arange(n_rules)
    scope = np.where(index < n_rules // 2, "all", (index % 5).astype(str))
    rules = pl.DataFrame(
        {
            "rule_id": [f"{s}-r{i:06d}" for i, s in enumerate(scope)],
            "scope": scope,
            "antecedent": antecedents,
            "consequent": consequents,
            "support": rng.uniform(0.001, 0.05, n_rules),
            "confidence": rng.uniform(0.2, 0.9, n_rules),
            "lift": rng.uniform(1.0, 20.0, n_rules),
        }
    )
    customers = pl.DataFrame(
        {"customer_id": customer_ids, "segment": rng.integers(0, 5, n_customers)},
        schema_overrides={"segment": pl.Int32},
    ).with_columns(segment_name=pl.format("Segment {}", "segment"))
    return long, rules, customers


def brute_force_check(
    matrix: CustomerItems,
    opp_table: pl.DataFrame,
    rules: pl.DataFrame,
    customers: pl.DataFrame,
    n_check: int,
    seed: int,
    subset: set[str],
) -> int:
    """Compare ``n_check`` random rules with a set computation; return the rules checked."""
    rng = np.random.default_rng(seed)
    long = matrix.to_table().select("customer_id", "item")
    owned = long.group_by("customer_id").agg(pl.col("item"))
    bought = {c: set(items) for c, items in owned.iter_rows() if c in subset}
    seg = dict(customers.select("customer_id", pl.col("segment").cast(pl.String)).iter_rows())
    for i in rng.choice(rules.height, size=min(n_check, rules.height), replace=False):
        rule = rules.row(int(i), named=True)
        ante, cons = set(rule["antecedent"]), set(rule["consequent"])
        expected = {
            c
            for c, items in bought.items()
            if (rule["scope"] == "all" or seg.get(c) == rule["scope"])
            and ante <= items
            and not cons <= items
        }
        got = set(opp_table.filter(pl.col("rule_id") == rule["rule_id"])["customer_id"].to_list())
        if got != expected:
            raise AssertionError(f"rule {rule['rule_id']}: {len(got)} != {len(expected)}")
    return min(n_check, rules.height)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=4_000)
    parser.add_argument("--items-per-customer", type=int, default=30)
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--table-customers",
        type=int,
        default=20_000,
        help="customers in the end-to-end find/recommend timing",
    )
    parser.add_argument("--check", type=int, default=20, help="rules checked by brute force")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)

    long, rules, customers = synthetic(
        args.customers, args.items, args.items_per_customer, args.rules, args.seed
    )
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    matrix = CustomerItems.from_table(long)
    timings["matrix"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    seg = customers["segment"].cast(pl.String).to_numpy()
    csr = matrix.csr()
    matched = 0
    for scope in rules["scope"].unique().to_list():
        sub = rules.filter(pl.col("scope") == scope)
        rows = np.arange(matrix.n_customers) if scope == "all" else np.flatnonzero(seg == scope)
        r_idx, _ = match_rules(matrix, RuleCodes.encode(sub, matrix), rows, csr=csr)
        matched += r_idx.size
    timings["match"] = time.perf_counter() - t0

    subset = list(matrix.customers[: args.table_customers])
    t0 = time.perf_counter()
    opp = find_opportunities(matrix, rules, customers, customer_ids=subset)
    timings["find"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    recs = recommend(opp, top_n=5)
    timings["recommend"] = time.perf_counter() - t0

    checked = brute_force_check(
        matrix, opp.table, rules, customers, args.check, args.seed, set(subset)
    )
    result = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "customers": matrix.n_customers,
        "items": matrix.n_items,
        "purchases_nnz": matrix.nnz,
        "rules": rules.height,
        "opportunities": matched,
        "table_customers": len(subset),
        "table_opportunities": opp.table.height,
        "recommendations": recs.height,
        "rules_checked_by_brute_force": checked,
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
