"""Shared plumbing for the per-tool benchmark runners.

Every runner does the same end-to-end work so that whole-process numbers are comparable:
load the baskets → frequent itemsets at ``min_support`` → rules at ``min_confidence`` →
write the single-consequent rules to Parquet, then print one JSON line with the phase
timings and result counts on stdout (logging goes to stderr).

Example::

    python benchmarks/tools/run_pyfim.py ../shared/data/fimi/retail.dat.gz \
        --min-support 0.001 --min-confidence 0.5 --out /tmp/rules.parquet
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

#: Exit code of a runner whose tool cannot be imported or lacks the API under test.
EXIT_UNAVAILABLE = 3

log = logging.getLogger("basketlens.bench")


@dataclass
class Report:
    """What a runner prints: one JSON object on one line."""

    tool: str
    version: str = "?"
    n_baskets: int = 0
    min_count: int = 0
    n_itemsets: int = 0
    n_rules: int = 0  # single-consequent rules written to Parquet
    n_rules_generated: int = 0  # rules the tool produced (multi-item consequents included)
    phases: dict[str, float] = field(default_factory=dict)
    notes: str = ""

    def emit(self) -> None:
        """Print the report as one JSON line on stdout."""
        payload = {k: v for k, v in self.__dict__.items()}
        payload["phases"] = {k: round(v, 6) for k, v in self.phases.items()}
        sys.stdout.write(json.dumps(payload) + "\n")
        sys.stdout.flush()


@contextmanager
def phase(report: Report, name: str) -> Iterator[None]:
    """Time a block and store its wall time in ``report.phases[name]`` (seconds)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        report.phases[name] = report.phases.get(name, 0.0) + time.perf_counter() - start


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line shared by every runner."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("path", type=Path, help="FIMI file (.dat[.gz]) or basket CSV (.csv[.gz])")
    parser.add_argument("--min-support", type=float, required=True, help="fraction in (0, 1]")
    parser.add_argument("--min-confidence", type=float, default=0.5, help="fraction in [0, 1]")
    parser.add_argument("--out", type=Path, required=True, help="Parquet file for the rules")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    return args


def min_count_for(min_support: float, n_baskets: int) -> int:
    """Smallest basket count meeting ``min_support`` (``ceil(min_support * n)``, at least 1).

    A tiny tolerance absorbs float noise such as ``0.001 * 1_000_000 = 1000.0000000000001``.

    >>> min_count_for(0.001, 88_162)
    89
    >>> min_count_for(0.001, 1_000_000)
    1000
    """
    return max(1, math.ceil(min_support * n_baskets - 1e-9))


def float_support_for(min_count: int, n_baskets: int) -> float:
    """A fractional ``min_support`` that float-comparing miners turn back into ``min_count``.

    ``min_count / n`` is not safe: mlxtend computes ``ceil(min_support * n)`` and
    ``45 / 88_162 * 88_162 == 45.00000000000001`` becomes 46. Half a basket below the count
    is exact for both ``ceil(s * n)`` and ``count / n >= s``.

    >>> import math
    >>> math.ceil(float_support_for(45, 88_162) * 88_162)
    45
    """
    return (min_count - 0.5) / n_baskets


def is_basket_csv(path: Path) -> bool:
    """True for comma-separated basket files (``*.csv`` / ``*.csv.gz``), else FIMI."""
    return ".csv" in path.name


def _open_text(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_transactions(path: Path) -> list[list[str]]:
    """Read baskets the way a Python user would: one list of item strings per line.

    FIMI lines are split on whitespace; basket-CSV lines on commas (labels may contain
    spaces). Empty lines become empty baskets so every tool sees the same basket count.
    """
    with _open_text(path) as fh:
        if is_basket_csv(path):
            return [line.rstrip("\r\n").split(",") if line.strip() else [] for line in fh]
        return [line.split() for line in fh]


def write_rules(
    path: Path,
    antecedents: list[list[str]],
    consequents: list[list[str]],
    counts: list[int],
    confidences: list[float],
    lifts: list[float],
    n_baskets: int,
) -> None:
    """Write rules to Parquet: sorted ``list<str>`` sides, count, confidence, lift, support."""
    import polars as pl

    table = pl.DataFrame(
        {
            "antecedent": [sorted(a) for a in antecedents],
            "consequent": [sorted(c) for c in consequents],
            "count": counts,
            "confidence": confidences,
            "lift": lifts,
        },
        schema={
            "antecedent": pl.List(pl.String),
            "consequent": pl.List(pl.String),
            "count": pl.Int64,
            "confidence": pl.Float64,
            "lift": pl.Float64,
        },
    )
    table = table.with_columns(support=pl.col("count") / n_baskets)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.write_parquet(path)


def run_main(tool: str, body: Callable[[argparse.Namespace, Report], None]) -> int:
    """Parse arguments, run ``body`` and print the report; a missing tool exits with code 3."""
    start = time.perf_counter()
    args = parse_args(f"Benchmark runner for {tool}: load, itemsets, rules, write Parquet.")
    report = Report(tool=tool)
    try:
        body(args, report)
    except ImportError as exc:
        log.error("%s is not available: %s", tool, exc)
        return EXIT_UNAVAILABLE
    report.phases["runner_total"] = time.perf_counter() - start
    report.emit()
    return 0
