"""``basketlens backtest``: fit before a date, measure the recommendations after it.

Example:
    $ basketlens backtest sales.parquet --split 2011-09-01 --top 5 --out backtest-out/
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from basketlens.cli.console import err_console, handle_errors, out_console, parse_pairs
from basketlens.cli.run import (
    ConfigOpt,
    CustomersOpt,
    ItemsOpt,
    KOpt,
    MapOpt,
    MaxLenOpt,
    MinConfidenceOpt,
    MinSupportOpt,
    OutOpt,
    TargetRulesOpt,
)

if TYPE_CHECKING:
    from basketlens.backtest import BacktestResult

BACKTEST_FILE = "backtest.parquet"
BACKTEST_RECOMMENDATIONS_FILE = "backtest_recommendations.parquet"


@handle_errors
def backtest_command(
    sales: Annotated[
        Path,
        typer.Argument(
            help="Sales lines: CSV (any delimiter, .gz ok), Parquet, Excel or JSON lines.",
            show_default=False,
        ),
    ],
    split: Annotated[
        str | None,
        typer.Option("--split", help="Fit on lines before this date, e.g. --split 2011-09-01."),
    ] = None,
    holdout_months: Annotated[
        int | None,
        typer.Option("--holdout-months", help="Or: hold out the last N months, e.g. 3."),
    ] = None,
    top: Annotated[int, typer.Option("--top", "-n", help="Items recommended per customer.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random baseline.")] = 0,
    items: ItemsOpt = None,
    customers: CustomersOpt = None,
    column_map: MapOpt = None,
    config: ConfigOpt = None,
    out: OutOpt = None,
    k: KOpt = None,
    min_support: MinSupportOpt = None,
    min_confidence: MinConfidenceOpt = None,
    max_len: MaxLenOpt = None,
    target_rules: TargetRulesOpt = None,
) -> None:
    """Backtest the recommendations: fit before --split, count what customers bought after.

    Compares segment rules, global rules, both (segment first), the segment's most popular
    items and random items: hit rate, precision and recall at --top, revenue of the hits.
    Writes backtest.parquet (and every recommendation made) to --out.

    Example: basketlens backtest sales.parquet --split 2011-09-01 --top 5 --out backtest-out/
    """
    from basketlens.backtest import run_backtest
    from basketlens.config import RunConfig
    from basketlens.pipeline import load_and_clean
    from basketlens.runfolder.write import prepare_out_dir

    cfg = RunConfig.from_toml(config) if config else RunConfig()
    cfg = cfg.override(
        input={
            "sales": str(sales),
            "items": str(items) if items else None,
            "customers": str(customers) if customers else None,
        },
        columns=parse_pairs(column_map, "--map"),
        segment={"k": k},
        mine={
            "min_support": min_support,
            "min_confidence": min_confidence,
            "max_len": max_len,
            "target_rules": target_rules,
            "enabled": True,
        },
    )
    with err_console.status("loading and cleaning the ledger…"):
        _, cleaned = load_and_clean(cfg)
    with err_console.status("fitting before the split and measuring after it…"):
        result = run_backtest(
            cleaned.lines,
            split=split,
            holdout_months=holdout_months,
            config=cfg,
            top_n=top,
            seed=seed,
        )
    out_dir = prepare_out_dir(out or Path("backtest-out"))
    result.table.write_parquet(out_dir / BACKTEST_FILE)
    result.recommendations.write_parquet(out_dir / BACKTEST_RECOMMENDATIONS_FILE)
    print_backtest(result)
    err_console.print(f"written to {out_dir / BACKTEST_FILE}")


def print_backtest(result: BacktestResult) -> None:
    """The measures as a Rich table, with the split and line counts above it."""
    from rich.table import Table

    out_console.print(
        f"[bold]Split[/] {result.split:%Y-%m-%d %H:%M} · training lines {result.train_lines:,}"
        f" · test lines {result.test_lines:,} · {result.seconds:.1f}s"
    )
    first = result.table.row(0, named=True)
    out_console.print(
        f"{first['customers']:,} customers active before the split, "
        f"{first['customers_with_new_items']:,} bought an item new to them after it"
    )
    table = Table(box=None, header_style="bold", padding=(0, 1))
    top = first["top_n"]
    for column in (
        "method",
        "recs",
        f"hit@{top}",
        f"prec@{top}",
        f"recall@{top}",
        "hits",
        "revenue",
    ):
        table.add_column(column, justify="left" if column == "method" else "right", no_wrap=True)
    for r in result.table.iter_rows(named=True):
        table.add_row(
            r["method"],
            f"{r['customers_with_recs']:,}",
            f"{r['hit_rate']:.1%}",
            f"{r['precision']:.1%}",
            f"{r['recall']:.1%}",
            f"{r['hits']:,}",
            f"{r['hit_revenue']:,.2f}",
        )
    out_console.print(table)
    out_console.print(
        f"recs = customers given at least one item; hit@{top} = share of the customers who "
        f"bought a recommended item after the split; revenue = their net sales of those items",
        style="dim",
    )
