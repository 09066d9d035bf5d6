"""``basketlens recommend``: answer from a saved model, for one customer or one basket.

Example:
    $ basketlens recommend out/ --customer 17850 --top 5
    $ basketlens recommend out/ --basket "22423,85123A"
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from basketlens.cli.console import err_console, handle_errors, out_console


@handle_errors
def recommend_command(
    ctx: typer.Context,
    model_dir: Annotated[
        Path,
        typer.Argument(
            help="Output folder of `basketlens run` (or its model/ folder).", show_default=False
        ),
    ],
    customer: Annotated[
        str | None,
        typer.Option("--customer", help="Customer id to recommend to, e.g. --customer 17850."),
    ] = None,
    basket: Annotated[
        str | None,
        typer.Option(
            "--basket",
            help='Comma-separated item ids or names to complete, e.g. --basket "22423,85123A".',
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", "-n", help="How many items to suggest.")] = 5,
    segment: Annotated[
        int | None,
        typer.Option("--segment", help="With --basket: use this segment's rules first."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Also write the answer to a .csv or .parquet file."),
    ] = None,
) -> None:
    """Recommend never-bought items to a customer, or items to add to a basket.

    Answers from the model saved by `basketlens run` (OUT/model/), without recomputing.

    Example: basketlens recommend out/ --customer 17850 --top 5
    """
    import polars as pl
    from rich.markup import escape
    from rich.table import Table

    from basketlens.errors import ParameterError
    from basketlens.runfolder.model_io import load_model
    from basketlens.textsafe import terminal_text as safe
    from basketlens.textsafe.frames import write_csv

    if (customer is None) == (basket is None):
        raise ParameterError('give exactly one of --customer ID and --basket "ITEM1,ITEM2"')
    if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
        raise ParameterError(f"--out must end in .csv or .parquet; got {out}")
    model = load_model(model_dir)
    if customer is not None:
        answer = model.recommend_customer(customer, top=top)
        row = model.customers.filter(pl.col("customer_id") == customer).row(0, named=True)
        segment_text = (
            f", segment {row['segment']} '{row['segment_name']}'"
            if row["segment"] is not None
            else ""
        )
        name = str(row["customer_name"])
        err_console.print(
            f"customer {escape(safe(customer))} ({escape(safe(name))}{escape(safe(segment_text))})"
        )
        empty = "no rule applies to this customer; nothing to recommend"
    else:
        items = [part for part in (basket or "").split(",") if part.strip()]
        if not items:
            raise ParameterError('--basket needs at least one item, e.g. --basket "22423,85123A"')
        answer = model.complete_basket(items, top=top, segment=segment)
        empty = "no rule's antecedent is inside this basket; nothing to add"
    if answer.height == 0:
        err_console.print(empty)
    else:
        table = Table(show_edge=False, header_style="bold")
        for column in ("rank", "item", "name", "score", "source", "reason"):
            table.add_column(
                column, justify="right" if column in ("rank", "score") else "left", overflow="fold"
            )
        for r in answer.iter_rows(named=True):
            table.add_row(
                str(r["rank"]),
                escape(safe(str(r["item"]))),
                escape(safe(str(r["item_name"]))),
                f"{r['score']:.0%}",
                r["source"],
                escape(safe(r["reason"])),
            )
        out_console.print(table)
    if out is not None:
        if out.suffix.lower() == ".csv":
            write_csv(answer, out, list_separator=";")  # formulas neutralised
        else:
            answer.write_parquet(out)
        err_console.print(f"written to {escape(str(out))}")
