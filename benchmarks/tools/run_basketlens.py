"""Benchmark runner for basketlens through its public mining API.

``read_fimi`` / ``read_basket_file`` → ``mine_itemsets(min_support=…)`` →
``Itemsets.rules(min_confidence=…)`` (single-item consequents, the default) →
``Rules.table.write_parquet``. Exits with code 3 and a clear message when the API is not
importable yet, which the harness records as "n/a".

Example::

    python benchmarks/tools/run_basketlens.py ../shared/data/fimi/retail.dat.gz \
        --min-support 0.001 --out /tmp/basketlens.parquet
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import version

from _common import Report, is_basket_csv, phase, run_main


def body(args: argparse.Namespace, report: Report) -> None:
    """Load, mine, derive rules and write them with basketlens."""
    with phase(report, "import"):
        from basketlens.mining import mine_itemsets, read_basket_file, read_fimi

    report.version = version("basketlens")
    with phase(report, "load"):
        baskets = read_basket_file(args.path) if is_basket_csv(args.path) else read_fimi(args.path)
    with phase(report, "mine"):
        itemsets = mine_itemsets(baskets, min_support=args.min_support)
    report.n_baskets = itemsets.n_baskets
    report.min_count = itemsets.min_count
    report.n_itemsets = len(itemsets)  # the itemset table itself is built lazily, not needed
    report.notes = f"algorithm={itemsets.info.get('algorithm', '?')}"
    with phase(report, "rules"):
        rules = itemsets.rules(min_confidence=args.min_confidence)
    report.n_rules = report.n_rules_generated = rules.table.height
    with phase(report, "write"):
        args.out.parent.mkdir(parents=True, exist_ok=True)
        rules.table.write_parquet(args.out)


if __name__ == "__main__":
    sys.exit(run_main("basketlens", body))
