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
    # the backtest has its own --top, and its horizon is the test period
    exclude=("mine.enabled", "mine.itemsets", "recommend.top_n", "recommend.horizon_months"),
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

    Compares the default recommender of `run` with EASE, item-kNN, the rules of 0.1 (segment
    first, then global), the most popular items (overall and in the segment) and random
    items: coverage, hit rate with a 95% interval, precision, recall and NDCG at --top,
    revenue of the hits, and the default's calibration (Brier, deciles). --rolling N repeats
    it at N splits. Writes backtest.parquet, backtest_calibration.parquet and every
    recommendation made to --out.

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
    """The measures as a Rich table per split, with the split and line counts above it."""
    import polars as pl
    from rich.table import Table

    out_console.print(
        f"[bold]Split[/] {result.split:%Y-%m-%d %H:%M} · training lines {result.train_lines:,}"
        f" · test lines {result.test_lines:,} · {result.seconds:.1f}s"
    )
    table = result.table
    first = table.row(0, named=True)
    top = first["top_n"]
    for (split,), part in table.group_by("split", maintain_order=True):
        head = part.row(0, named=True)
        out_console.print(
            f"[bold]{split:%Y-%m-%d}[/]: {head['customers']:,} customers active before the "
            f"split, {head['customers_with_new_items']:,} bought an item new to them after it"
        )
        grid = Table(box=None, header_style="bold", padding=(0, 1))
        for column in ("method", "coverage", f"hit@{top}", "95% interval", f"prec@{top}",
                       f"recall@{top}", f"ndcg@{top}", "hits", "revenue"):  # fmt: skip
            grid.add_column(column, justify="left" if column == "method" else "right",
                            no_wrap=True)  # fmt: skip
        for r in part.iter_rows(named=True):
            low, high = r["hit_rate_low"], r["hit_rate_high"]
            interval = "–" if low is None or low != low else f"{low:.1%}–{high:.1%}"
            grid.add_row(
                f"[bold]{r['method']}[/] (default)" if r["default"] else r["method"],
                f"{r['coverage']:.0%}",
                f"{r['hit_rate']:.1%}",
                interval,
                f"{r['precision']:.1%}",
                f"{r['recall']:.1%}",
                f"{r['ndcg']:.3f}",
                f"{r['hits']:,}",
                f"{r['hit_revenue']:,.2f}",
            )
        out_console.print(grid)
    if len(result.splits) > 1:
        mean = table.group_by("method", maintain_order=True).agg(
            pl.col("hit_rate").mean(), pl.col("hit_rate").std().alias("sd")
        )
        out_console.print("[bold]Rolling origin[/]: mean hit rate over the splits")
        for r in mean.iter_rows(named=True):
            out_console.print(f"  {r['method']:<20} {r['hit_rate']:.1%} ± {r['sd']:.1%}")
    default = table.filter(pl.col("default") & (pl.col("split") == result.split))
    if default.height and default["brier"][0] is not None:
        d = default.row(0, named=True)
        out_console.print(
            f"default recommender: Brier score {d['brier']:.3f}; expected revenue "
            f"{d['expected_revenue']:,.2f} against {d['hit_revenue']:,.2f} realised "
            "(backtest_calibration.parquet: by decile)"
        )
    out_console.print(
        f"coverage = customers given at least one item; hit@{top} = share of the customers who "
        f"bought a recommended item after the split (interval: 95% bootstrap over customers); "
        f"revenue = their net sales of those items",
        style="dim",
    )
