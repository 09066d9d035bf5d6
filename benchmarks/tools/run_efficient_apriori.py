"""Benchmark runner for efficient-apriori (pure Python Apriori).

Uses the library's two public stages, ``itemsets_from_transactions`` and
``generate_rules_apriori`` (what ``apriori()`` calls), so mining and rule generation are
timed separately. ``max_length`` is lifted from its default of 8 so that every frequent
itemset is found; ``min_support`` is passed as ``(min_count - 0.5) / n_baskets``. Only
single-consequent rules are written.

Example::

    python benchmarks/tools/run_efficient_apriori.py ../shared/data/fimi/retail.dat.gz \
        --min-support 0.001 --out /tmp/ea.parquet
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import version

from _common import (
    Report,
    float_support_for,
    min_count_for,
    phase,
    read_transactions,
    run_main,
    write_rules,
)

NO_LENGTH_LIMIT = 1_000


def body(args: argparse.Namespace, report: Report) -> None:
    """Load, mine, derive rules and write them with efficient-apriori."""
    with phase(report, "import"):
        from efficient_apriori.itemsets import itemsets_from_transactions
        from efficient_apriori.rules import generate_rules_apriori

    report.version = version("efficient-apriori")
    with phase(report, "load"):
        tracts = read_transactions(args.path)
    report.n_baskets = len(tracts)
    report.min_count = min_count_for(args.min_support, report.n_baskets)
    with phase(report, "mine"):
        itemsets, _ = itemsets_from_transactions(
            tracts,
            min_support=float_support_for(report.min_count, report.n_baskets),
            max_length=NO_LENGTH_LIMIT,
        )
    report.n_itemsets = sum(len(by_length) for by_length in itemsets.values())
    with phase(report, "rules"):
        rules = list(generate_rules_apriori(itemsets, args.min_confidence, report.n_baskets))
    report.n_rules_generated = len(rules)
    with phase(report, "write"):
        single = [r for r in rules if len(r.rhs) == 1]
        report.n_rules = len(single)
        write_rules(
            args.out,
            antecedents=[list(r.lhs) for r in single],
            consequents=[list(r.rhs) for r in single],
            counts=[r.count_full for r in single],
            confidences=[r.confidence for r in single],
            lifts=[r.lift for r in single],
            n_baskets=report.n_baskets,
        )


if __name__ == "__main__":
    sys.exit(run_main("efficient-apriori", body))
