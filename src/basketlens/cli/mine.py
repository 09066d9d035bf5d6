"""``basketlens mine``: standalone rule mining on a basket file.

Thin: the flags (generated from :class:`MiningOptions`) become a :class:`MiningOptions`,
then :func:`read_baskets` → :func:`mine_rules` → Parquet → one summary line
(:func:`mine_file`). ``mine`` keeps the library defaults: exact and unpruned.

Example:
    $ basketlens mine retail.dat.gz --format fimi --min-support 0.001 --out rules.parquet
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from basketlens.cli.console import err_console, handle_errors
from basketlens.cli.options import Flags, stage_flags
from basketlens.mining.options import MiningOptions


@stage_flags(
    MiningOptions,
    exclude=(
        "enabled",
        "per_segment",
        "itemsets",
        "min_scope_baskets",
        "min_customers",  # a basket file names no customers
        "generalised",  # nor item families or categories
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
    out: Annotated[Path, typer.Option("--out", "-o", help="Rules Parquet file.")] = Path(
        "rules.parquet"
    ),
    itemsets_out: Annotated[
        Path | None,
        typer.Option(
            "--itemsets", help="Also write the itemsets (of --target) to this Parquet file."
        ),
    ] = None,
    *,
    flags: Flags,
) -> None:
    """Mine association rules from a basket file and write them to Parquet.

    Example: basketlens mine groceries.csv --min-support 0.001 --min-confidence 0.5
    """
    mine_file(
        path,
        MiningOptions().updated(flags.section("mine")),
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
) -> None:
    """The body of ``basketlens mine``: read, mine, write, print one summary line."""
    from basketlens._validation import check_option
    from basketlens.mining import mine_itemsets, mine_rules, read_baskets

    options.validate()  # every flag is checked before the file is read
    check_option("--format", file_format, ("basket", "fimi", "long"))
    check_option("--target", target, ("all", "closed", "maximal"))
    start = time.perf_counter()
    matrix = read_baskets(
        path, format=file_format, sep=sep, basket_col=basket_col, item_col=item_col
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
    out.parent.mkdir(parents=True, exist_ok=True)
    rules.table.write_parquet(out)
    if itemsets_out is not None:
        itemsets = mine_itemsets(
            matrix,
            min_count=rules.info["min_count"],
            max_len=options.max_len,
            max_itemsets=options.max_itemsets,
            target=target,
        )
        itemsets_out.parent.mkdir(parents=True, exist_ok=True)
        itemsets.table.write_parquet(itemsets_out)
    err_console.print(
        f"{matrix.n_baskets:,} baskets, {matrix.n_items:,} items · min_count "
        f"{rules.info['min_count']} · {rules.info['itemsets']['n_itemsets']:,} itemsets · "
        f"{rules.table.height:,} rules → {out}  (load {loaded - start:.2f}s, mine+rules "
        f"{mined - loaded:.2f}s)",
        highlight=False,
    )
