"""``basketlens mine``: standalone rule mining on a basket file.

Thin: the flags become a :class:`MiningOptions`, then :func:`read_baskets` →
:func:`mine_rules` → Parquet → one summary line (:func:`mine_file`). Flag defaults are the
options' defaults.

Example:
    $ basketlens mine retail.dat.gz --format fimi --min-support 0.001 --out rules.parquet
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from basketlens.cli.console import err_console, handle_errors
from basketlens.mining.options import MiningOptions

_DEFAULTS = MiningOptions()


@handle_errors
def mine_command(
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
    min_support: Annotated[
        float | None,
        typer.Option(
            "--min-support",
            help="Minimum share of baskets, e.g. 0.001. Default: threshold help (--target-rules).",
        ),
    ] = None,
    min_count: Annotated[
        int | None,
        typer.Option("--min-count", help="Minimum number of baskets instead of a share, e.g. 10."),
    ] = None,
    min_confidence: Annotated[
        float,
        typer.Option("--min-confidence", help="Minimum confidence (rules exactly at it are kept)."),
    ] = _DEFAULTS.min_confidence,
    min_lift: Annotated[
        float | None, typer.Option("--min-lift", help="Minimum lift, e.g. 1.")
    ] = None,
    max_len: Annotated[
        int | None, typer.Option("--max-len", help="Longest itemset, e.g. 5.")
    ] = None,
    min_len: Annotated[
        int, typer.Option("--min-len", help="Shortest rule (1 allows {} → Y).")
    ] = _DEFAULTS.min_len,
    multi_consequent: Annotated[
        bool, typer.Option("--multi-consequent", help="Allow several items on the right-hand side.")
    ] = False,
    target: Annotated[
        str,
        typer.Option("--target", help="Itemsets written with --itemsets: all, closed or maximal."),
    ] = "all",
    target_rules: Annotated[
        int | None,
        typer.Option("--target-rules", help="Without a support: aim for about this many rules."),
    ] = _DEFAULTS.target_rules,
    measures: Annotated[
        str | None,
        typer.Option(
            "--measures",
            help="Comma-separated measures, "
            "e.g. support,confidence,lift,fisher_p. See docs/measures.md.",
        ),
    ] = None,
    prune_redundant: Annotated[
        bool,
        typer.Option(
            "--prune-redundant",
            help="Drop rules with a more general rule of at least the same confidence.",
        ),
    ] = False,
    significant: Annotated[
        float | None,
        typer.Option(
            "--significant",
            help="Keep rules whose Fisher exact test is significant at this level, e.g. 0.05.",
        ),
    ] = None,
    adjust: Annotated[
        str,
        typer.Option("--adjust", help="Multiple-testing correction: holm, bonferroni, bh, none."),
    ] = _DEFAULTS.adjust,
    top: Annotated[
        int | None, typer.Option("--top", help="Keep the best N rules by --sort-by.")
    ] = None,
    sort_by: Annotated[
        str, typer.Option("--sort-by", help="Measure that orders the rules, e.g. lift.")
    ] = _DEFAULTS.sort_by,
    out: Annotated[Path, typer.Option("--out", "-o", help="Rules Parquet file.")] = Path(
        "rules.parquet"
    ),
    itemsets_out: Annotated[
        Path | None,
        typer.Option(
            "--itemsets", help="Also write the itemsets (of --target) to this Parquet file."
        ),
    ] = None,
) -> None:
    """Mine association rules from a basket file and write them to Parquet.

    Example: basketlens mine groceries.csv --min-support 0.001 --min-confidence 0.5
    """
    given = {
        "min_support": min_support,
        "min_count": min_count,
        "target_rules": target_rules,
        "min_confidence": min_confidence,
        "min_lift": min_lift,
        "max_len": max_len,
        "min_len": min_len,
        "consequent_max_len": None if multi_consequent else 1,
        "measures": [m.strip() for m in measures.split(",")] if measures else None,
        "prune_redundant": prune_redundant,
        "significant": significant,
        "adjust": adjust,
        "top": top,
        "sort_by": sort_by,
    }
    mine_file(
        path,
        _DEFAULTS.updated(given),
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
            f"(support {search['min_support']:.5f}) for about {search['target_rules']} rules"
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
