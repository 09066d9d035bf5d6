"""``basketlens mine``: standalone rule mining on a basket file.

Thin: the flags (generated from :class:`MiningOptions`, plus ``--exclude-item`` from
:class:`CleaningOptions`) become options, then :func:`read_baskets` → :func:`mine_rules` → a
file in the format of ``--out``'s extension (:func:`~basketlens.report.export.write_table`)
→ a summary line and the top rules (:func:`mine_file`). ``mine`` keeps the library defaults:
exact and unpruned.

Example:
    $ basketlens mine retail.dat.gz --format fimi --min-support 0.001 --out rules.csv
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from basketlens.clean.options import CleaningOptions
from basketlens.cli.console import err_console, handle_errors, out_console, print_rows
from basketlens.cli.options import Flags, stage_flags
from basketlens.mining.options import MiningOptions

#: Cleaning options ``mine`` offers: only the item exclusion applies to a basket file.
_CLEAN_EXCLUDED = tuple(
    f"clean.{s.name}" for s in CleaningOptions.specs() if s.name != "exclude_items"
)
#: Rules printed to the terminal by default.
SHOW_RULES = 10


@stage_flags(
    MiningOptions,
    CleaningOptions,
    exclude=(
        "enabled",
        "per_segment",
        "itemsets",
        "min_scope_baskets",
        "min_customers",  # a basket file names no customers
        "generalised",  # nor item families or categories
        *_CLEAN_EXCLUDED,
    ),
    rename={"top": ("--top", "--top-rules")},
)
@handle_errors
def mine_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Basket file.", show_default=False)],
    file_format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="'basket': one basket a line, items separated by "
            "--sep; 'fimi': space-separated ids; 'long': a CSV/Parquet table with "
            "--basket-col and --item-col.",
        ),
    ] = "basket",
    sep: Annotated[str, typer.Option("--sep", help="Item separator for --format basket.")] = ",",
    basket_col: Annotated[
        str, typer.Option("--basket-col", help="Basket column (long).")
    ] = "basket",
    item_col: Annotated[str, typer.Option("--item-col", help="Item column (long).")] = "item",
    target: Annotated[
        str,
        typer.Option("--target", help="Itemsets written with --itemsets: all, closed or maximal."),
    ] = "all",
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Rules file; its extension chooses the format: .parquet, .csv, .xlsx, .json.",
        ),
    ] = Path("rules.parquet"),
    show: Annotated[
        int,
        typer.Option("--show", min=0, help="Rules printed to the terminal, by lift (0: none)."),
    ] = SHOW_RULES,
    itemsets_out: Annotated[
        Path | None,
        typer.Option(
            "--itemsets", help="Also write the itemsets (of --target) to this Parquet file."
        ),
    ] = None,
    *,
    flags: Flags,
) -> None:
    """Mine association rules from a basket file; write them to --out and show the top ones.

    Example: basketlens mine groceries.csv --min-support 0.001 --min-confidence 0.5 --out rules.csv
    """
    exclude = tuple(flags.section("clean").get("exclude_items", ()))
    mine_file(
        path,
        MiningOptions().updated(flags.section("mine")),
        exclude_items=exclude,
        show=show,
        file_format=file_format,
        sep=sep,
        basket_col=basket_col,
        item_col=item_col,
        out=out,
        itemsets_out=itemsets_out,
        target=target,
    )


def mine_file(
    path: Path,
    options: MiningOptions,
    *,
    file_format: str = "basket",
    sep: str = ",",
    basket_col: str = "basket",
    item_col: str = "item",
    out: Path = Path("rules.parquet"),
    itemsets_out: Path | None = None,
    target: str = "all",
    exclude_items: tuple[str, ...] = (),
    show: int = SHOW_RULES,
) -> None:
    """The body of ``basketlens mine``: read, mine, write, print a summary and the top rules."""
    from basketlens._validation import check_option
    from basketlens.mining import mine_itemsets, mine_rules, read_baskets
    from basketlens.report.export import table_format, write_table

    options.validate()  # every flag is checked before the file is read
    CleaningOptions(exclude_items=exclude_items).validate()
    check_option("--format", file_format, ("basket", "fimi", "long"))
    check_option("--target", target, ("all", "closed", "maximal"))
    table_format(out, option="--out")
    if itemsets_out is not None:
        table_format(itemsets_out, option="--itemsets")
    start = time.perf_counter()
    matrix = read_baskets(
        path,
        format=file_format,
        sep=sep,
        basket_col=basket_col,
        item_col=item_col,
        exclude_items=exclude_items,
    )
    loaded = time.perf_counter()
    rules = mine_rules(matrix, options)
    search: dict[str, Any] | None = rules.info["threshold_search"]
    if search is not None:
        err_console.print(
            f"threshold help: min_count {search['min_count']} "
            f"(support {search['min_support']:.5f}) for {search['goal']}"
        )
    mined = time.perf_counter()
    write_table(rules.table, out, sheet="Rules")
    if itemsets_out is not None:
        itemsets = mine_itemsets(
            matrix,
            min_count=rules.info["min_count"],
            max_len=options.max_len,
            max_itemsets=options.max_itemsets,
            max_memory=options.max_memory,
            target=target,
        )
        write_table(itemsets.table, itemsets_out, sheet="Itemsets")
    err_console.print(
        f"{matrix.n_baskets:,} baskets, {matrix.n_items:,} items · min_count "
        f"{rules.info['min_count']} · {rules.info['itemsets']['n_itemsets']:,} itemsets · "
        f"{rules.table.height:,} rules → {out}  (load {loaded - start:.2f}s, mine+rules "
        f"{mined - loaded:.2f}s)",
        highlight=False,
    )
    if show:
        print_top_rules(rules.table, show)


def print_top_rules(table: Any, top: int) -> None:
    """The ``top`` rules by lift as a table: left side → right side, baskets, support,
    confidence, lift (numbers in the environment's locale)."""
    from basketlens.report import formats

    if table.height == 0:
        out_console.print("no rules at these thresholds; lower --min-support or --min-confidence")
        return
    fmt = formats.active()
    best = table.sort(["lift", "both_count"], descending=True).head(top)
    rows = [
        [
            " + ".join(r["antecedent"]),
            " + ".join(r["consequent"]),
            fmt.integer(r["both_count"]),
            fmt.share(r["support"], 2),
            fmt.share(r["confidence"], 1),
            fmt.number(r["lift"], 2),
        ]
        for r in best.iter_rows(named=True)
    ]
    shown = "all" if best.height == table.height else f"the {best.height:,} strongest"
    out_console.print(
        f"{shown} of {table.height:,} rules, by lift (baskets = baskets holding both sides):",
        highlight=False,
    )
    columns = ["if a basket holds", "it also holds", "baskets", "support", "confidence", "lift"]
    print_rows(out_console, columns, rows, left=(0, 1))
