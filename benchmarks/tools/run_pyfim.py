"""Benchmark runner for pyfim (Christian Borgelt's C miners): ``fim.fpgrowth`` then ``fim.arules``.

pyfim cannot derive rules from already mined itemsets, so the rules phase mines again
(``fim.arules`` with FP-growth inside); rule support is the support of body ∪ head (``mode='o'``).

Example::

    python benchmarks/tools/run_pyfim.py ../shared/data/fimi/retail.dat.gz \
        --min-support 0.001 --out /tmp/pyfim.parquet
"""

from __future__ import annotations

import argparse
import sys

from _common import Report, min_count_for, phase, read_transactions, run_main, write_rules


def body(args: argparse.Namespace, report: Report) -> None:
    """Load, mine, derive rules and write them with pyfim."""
    with phase(report, "import"):
        import fim

    report.version = getattr(fim, "__version__", None) or _dist_version("pyfim")
    with phase(report, "load"):
        tracts = read_transactions(args.path)
    report.n_baskets = len(tracts)
    report.min_count = min_count_for(args.min_support, report.n_baskets)
    with phase(report, "mine"):
        itemsets = fim.fpgrowth(tracts, target="s", supp=-report.min_count, zmin=1, report="a")
    report.n_itemsets = len(itemsets)
    with phase(report, "rules"):
        rules = fim.arules(
            tracts,
            supp=-report.min_count,
            conf=100.0 * args.min_confidence,
            zmin=2,
            report="acl",
            mode="o",
        )
    report.n_rules = report.n_rules_generated = len(rules)
    with phase(report, "write"):
        write_rules(
            args.out,
            antecedents=[list(r[1]) for r in rules],
            consequents=[[r[0]] for r in rules],
            counts=[r[2] for r in rules],
            confidences=[r[3] for r in rules],
            lifts=[r[4] for r in rules],
            n_baskets=report.n_baskets,
        )


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    sys.exit(run_main("pyfim", body))
