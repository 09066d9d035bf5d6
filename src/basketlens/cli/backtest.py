"""``basketlens backtest``: fit before a date, measure the recommendations after it.

Takes every input and analysis option ``run`` takes (``--config``, ``--map``, ``--items``,
``--basket-by``, …), generated from the same declarations.

Example:
    $ basketlens backtest sales.parquet --split 2011-09-01 --top 5 --out backtest-out/
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from basketlens.backtest.options import BacktestOptions
from basketlens.cli.console import RichProgress, err_console, handle_errors, out_console
from basketlens.cli.options import ConfigOpt, Flags, MapOpt, SalesArg, stage_flags
from basketlens.cli.run import ANALYSIS_SECTIONS, RUN_DEFAULTS, build_config
from basketlens.ingest.options import InputOptions
from basketlens.spark.options import EngineOptions

if TYPE_CHECKING:
    from basketlens.backtest.stage import BacktestResult


@stage_flags(
    BacktestOptions,
    InputOptions,
    *ANALYSIS_SECTIONS,
    EngineOptions,
    defaults=RUN_DEFAULTS,
    exclude=("mine.enabled", "mine.itemsets", "recommend.top_n"),
)
@handle_errors
def backtest_command(
    ctx: typer.Context,
    sales: SalesArg = None,
    config: ConfigOpt = None,
    column_map: MapOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created).")] = Path(
        "backtest-out"
    ),
    *,
    flags: Flags,
) -> None:
    """Backtest the recommendations: fit before --split, count what customers bought after.

    Compares segment rules, global rules, both (segment first), the segment's most popular
    items and random items: hit rate, precision and recall at --top, revenue of the hits.
    Writes backtest.parquet (and every recommendation made) to --out.

    Example: basketlens backtest online_retail.parquet --split 2011-09-01 --top 5
    """
    cfg = build_config(config, sales, column_map, flags)  # refused here before any work

    from basketlens.pipeline import run_backtest
    from basketlens.runfolder.write import check_out_dir, write_backtest

    out_dir = check_out_dir(out)
    result = run_backtest(cfg, progress=RichProgress())
    written = write_backtest(result, out_dir)
    print_backtest(result)
    err_console.print(f"written to {written}")


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
