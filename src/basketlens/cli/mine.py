"""``basketlens mine``: standalone rule mining on a basket file.

Example:
    $ basketlens mine retail.dat.gz --format fimi --min-support 0.001 --out rules.parquet
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from basketlens.cli.console import err_console, handle_errors


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
    ] = 0.5,
    min_lift: Annotated[
        float | None, typer.Option("--min-lift", help="Minimum lift, e.g. 1.")
    ] = None,
    max_len: Annotated[
        int | None, typer.Option("--max-len", help="Longest itemset, e.g. 5.")
    ] = None,
    min_len: Annotated[int, typer.Option("--min-len", help="Shortest rule (1 allows {} → Y).")] = 2,
    multi_consequent: Annotated[
        bool, typer.Option("--multi-consequent", help="Allow several items on the right-hand side.")
    ] = False,
    target: Annotated[
        str,
        typer.Option("--target", help="Itemsets written with --itemsets: all, closed or maximal."),
    ] = "all",
    target_rules: Annotated[
        int,
        typer.Option("--target-rules", help="Without a support: aim for about this many rules."),
    ] = 200,
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
    ] = "holm",
    top: Annotated[
        int | None, typer.Option("--top", help="Keep the best N rules by --sort-by.")
    ] = None,
    sort_by: Annotated[
        str, typer.Option("--sort-by", help="Measure that orders the rules, e.g. lift.")
    ] = "lift",
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
    from basketlens._validation import check_option
    from basketlens.mining import mine_itemsets
    from basketlens.mining.thresholds import suggest_min_count

    check_option("--format", file_format, ("basket", "fimi", "long"))
    start = time.perf_counter()
    matrix = _load(path, file_format, sep=sep, basket_col=basket_col, item_col=item_col)
    loaded = time.perf_counter()
    if min_support is None and min_count is None:
        search = suggest_min_count(
            matrix, target_rules=target_rules, min_confidence=min_confidence, max_len=max_len
        )
        min_count = search.min_count
        err_console.print(
            f"threshold help: min_count {min_count} "
            f"(support {min_count / max(matrix.n_baskets, 1):.5f}) for about "
            f"{target_rules} rules"
        )
    itemsets = mine_itemsets(matrix, min_support=min_support, min_count=min_count, max_len=max_len)
    rules = itemsets.rules(
        min_confidence=min_confidence,
        min_lift=min_lift,
        min_len=min_len,
        consequent_max_len=None if multi_consequent else 1,
        measures=[m.strip() for m in measures.split(",")] if measures else None,
        sort_by=sort_by,
    )
    if prune_redundant:
        rules = rules.prune_redundant()
    if significant is not None:
        rules = rules.significant(alpha=significant, adjust=adjust)
    if top is not None:
        rules = rules.top(top, by=sort_by)
    mined = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    rules.table.write_parquet(out)
    if itemsets_out is not None:
        wanted = (
            itemsets
            if target == "all"
            else mine_itemsets(matrix, min_count=itemsets.min_count, max_len=max_len, target=target)
        )
        wanted.table.write_parquet(itemsets_out)
    err_console.print(
        f"{matrix.n_baskets:,} baskets, {matrix.n_items:,} items · min_count "
        f"{itemsets.min_count} · {itemsets.table.height:,} itemsets · {rules.table.height:,} rules"
        f" → {out}  (load {loaded - start:.2f}s, mine+rules {mined - loaded:.2f}s)",
        highlight=False,
    )


def _load(path: Path, file_format: str, *, sep: str, basket_col: str, item_col: str):
    from basketlens.mining import read_basket_file, read_fimi, to_basket_matrix

    if file_format == "fimi":
        return read_fimi(path)
    if file_format == "basket":
        return read_basket_file(path, sep=sep)
    from basketlens.errors import SchemaError
    from basketlens.ingest.readers import read_table

    table = read_table(path, role="baskets")
    missing = [c for c in (basket_col, item_col) if c not in table.columns]
    if missing:
        raise SchemaError(
            f"{path}: no column {', '.join(map(repr, missing))}; columns are "
            f"{', '.join(table.columns)} (choose with --basket-col / --item-col)"
        )
    long = table.frame.select(basket_col, item_col).collect()
    return to_basket_matrix(long, basket_col=basket_col, item_col=item_col)
