"""``basketlens recommend``: answer from a saved model, for one customer or one basket.

Example:
    $ basketlens recommend out/ --customer 17850 --top 5
    $ basketlens recommend out/ --basket "22423,85123A"
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from basketlens.cli.console import err_console, handle_errors, out_console

if TYPE_CHECKING:
    import polars as pl


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
    top: Annotated[
        int,
        typer.Option(
            "--top", "-n", help="How many items to suggest (up to the model's depth, 10)."
        ),
    ] = 5,
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

    Answers from the model saved by `basketlens run` (OUT/model/), without recomputing: for a
    customer, the chance of buying each item within the run's horizon, its expected value
    with currency and period, and the evidence behind it; for a basket, the rules.

    Example: basketlens recommend out/ --customer 17850 --top 5
    """
    import polars as pl
    from rich.markup import escape

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
        empty = "no candidate item for this customer; nothing to recommend"
        if answer.height:
            first = answer.row(0, named=True)
            name, seg, seg_name = first["customer_name"], first["segment"], first["segment_name"]
        else:
            row = model.customers.filter(pl.col("customer_id") == customer).row(0, named=True)
            name, seg, seg_name = row["customer_name"], row["segment"], row["segment_name"]
        segment_text = f", segment {seg} '{seg_name}'" if seg is not None else ""
        err_console.print(
            f"customer {escape(safe(customer))} ({escape(safe(str(name)))}"
            f"{escape(safe(segment_text))})"
        )
    else:
        items = [part for part in (basket or "").split(",") if part.strip()]
        if not items:
            raise ParameterError('--basket needs at least one item, e.g. --basket "22423,85123A"')
        answer = model.complete_basket(items, top=top, segment=segment)
        empty = "no rule's antecedent is inside this basket; nothing to add"
    if answer.height == 0:
        err_console.print(empty)
    elif "probability" in answer.columns:
        _print_ranked(answer)
    else:
        _print_rules(answer)
    if out is not None:
        if out.suffix.lower() == ".csv":
            write_csv(answer, out, list_separator=";")  # formulas neutralised, lists joined
        else:
            answer.write_parquet(out)
        err_console.print(f"written to {escape(str(out))}")


def _print_ranked(answer: pl.DataFrame) -> None:
    """The recommender's answer: chance, money with currency and period, and the reason."""
    from rich.markup import escape
    from rich.table import Table

    from basketlens.recommender.reasons import period_text
    from basketlens.textsafe import terminal_text as safe

    first = answer.row(0, named=True)
    currency = first["currency"] or "the ledger's currency"
    err_console.print(
        f"chance of buying within {period_text(first['period_months'])}; amounts in "
        f"{escape(currency)}"
    )
    table = Table(show_edge=False, header_style="bold")
    for column in ("rank", "item", "name", "chance", "expected value", "why"):
        table.add_column(
            column,
            justify="right" if column in ("rank", "chance") else "left",
            overflow="fold",
        )
    for r in answer.iter_rows(named=True):
        table.add_row(
            str(r["rank"]),
            escape(safe(str(r["item"]))),
            escape(safe(str(r["item_name"]))),
            f"{r['probability']:.0%}",
            escape(safe(r["value_text"])),
            escape(safe(r["reason"])),
        )
    out_console.print(table)


def _print_rules(answer: pl.DataFrame) -> None:
    """A rules-only answer (basket completion, or a model without ranked lists)."""
    from rich.markup import escape
    from rich.table import Table

    from basketlens.textsafe import terminal_text as safe

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
