"""The cleaning rules as Polars expressions (private guts of :mod:`basketlens.clean`).

Each rule is a boolean expression that is true for the lines the rule *drops*. Rules are
evaluated on the whole ledger at once; :func:`first_failing_step` turns them into the step
number of the first rule that drops each line (null = the line survives every rule), so the
account can be counted with one ``group_by`` and the lines filtered once.

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"invoice": ["C1", "2"], "quantity": [1.0, -2.0]})
    >>> df.select(returns_expr()).to_series().to_list()
    [True, True]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from basketlens.schema import LEDGER_SCHEMA

#: Ledger fields compared by the duplicate rule (every field but the line number).
DUPLICATE_KEY: tuple[str, ...] = tuple(c for c in LEDGER_SCHEMA.names() if c != "line_no")

#: Column holding the step of the first rule that drops a line (null = kept).
STEP_COL = "__drop_step"

#: The rules in the order applied; a rule's step is its 1-based position here.
RULE_NAMES: tuple[str, ...] = (
    "missing_ids",
    "returns",
    "nonpositive",
    "excluded_brands",
    "excluded_categories",
    "duplicates",
    "single_item_baskets",
)
STEP: dict[str, int] = {name: i for i, name in enumerate(RULE_NAMES, start=1)}


@dataclass(frozen=True)
class Rule:
    """One cleaning rule: its name, what it does in words and whether it is on."""

    name: str
    description: str
    enabled: bool


def _blank(col: str) -> pl.Expr:
    """True when a string column is null or only whitespace."""
    return pl.col(col).is_null() | (pl.col(col).str.strip_chars() == "")


def _positive(expr: pl.Expr) -> pl.Expr:
    """True when ``expr`` is a finite number > 0 (null, NaN and ±inf are not)."""
    return (expr.is_finite() & (expr > 0)).fill_null(False)


def missing_ids_expr() -> pl.Expr:
    """Lines without a customer, invoice, item (null or blank) or date (null)."""
    return _blank("customer") | _blank("invoice") | _blank("item") | pl.col("date").is_null()


def returns_expr() -> pl.Expr:
    """Cancellations (invoice starting with 'C', any case) and returns (quantity < 0)."""
    cancelled = (
        pl.col("invoice").str.strip_chars_start().str.to_uppercase().str.starts_with("C")
    ).fill_null(False)
    return cancelled | (pl.col("quantity") < 0).fill_null(False)


def filled_net_sales() -> pl.Expr:
    """``net_sales``, or ``quantity × unit_price`` when ``net_sales`` is null."""
    return pl.coalesce(pl.col("net_sales"), pl.col("quantity") * pl.col("unit_price"))


def nonpositive_expr() -> pl.Expr:
    """Quantity, price or net sales that is not a finite positive number.

    The price is ``unit_price`` when present, else ``net_sales / quantity``.
    """
    price = pl.coalesce(pl.col("unit_price"), pl.col("net_sales") / pl.col("quantity"))
    ok = _positive(pl.col("quantity")) & _positive(price) & _positive(filled_net_sales())
    return ~ok


def excluded_expr(col: str, values: Sequence[str]) -> pl.Expr:
    """Lines whose ``col`` equals one of ``values`` (case-insensitive, trimmed)."""
    wanted = sorted({v.strip().lower() for v in values})
    return (
        pl.col(col).str.strip_chars().str.to_lowercase().is_in(pl.lit(wanted, pl.List(pl.String)))
    ).fill_null(False)


def first_failing_step(checks: Sequence[pl.Expr | None]) -> pl.Expr:
    """Step (1-based, Int32) of the first true expression; null when none is true.

    ``None`` entries stand for disabled rules and never match.
    """
    expr: pl.Expr | None = None
    chain = None
    for step, check in enumerate(checks, start=1):
        if check is None:
            continue
        chain = pl.when(check) if chain is None else chain.when(check)
        chain = chain.then(pl.lit(step, pl.Int32))
        expr = chain
    if expr is None:
        return pl.lit(None, pl.Int32)
    return expr.otherwise(pl.lit(None, pl.Int32))


def duplicate_expr(alive: pl.Expr) -> pl.Expr:
    """Surviving lines that repeat an earlier surviving line.

    "Earlier" is the row order, so the frame must be sorted by ``line_no`` (the lowest
    ``line_no`` is kept). One hash pass over the row key; much faster than a window.
    """
    return alive & ~pl.struct(alive.alias("__alive"), *DUPLICATE_KEY).is_first_distinct()


def single_item_basket_expr(alive: pl.Expr) -> pl.Expr:
    """Surviving lines of baskets whose surviving lines hold one distinct item."""
    n_items = pl.when(alive).then(pl.col("item")).drop_nulls().n_unique().over("basket")
    return alive & (n_items <= 1)


def basket_expr(basket_by: str) -> pl.Expr:
    """The basket key: the invoice, or ``"<customer>|<YYYY-MM-DD>"`` for ``customer_day``."""
    if basket_by == "invoice":
        return pl.col("invoice").alias("basket")
    return pl.concat_str(
        [pl.col("customer"), pl.lit("|"), pl.col("date").dt.strftime("%Y-%m-%d")]
    ).alias("basket")


def _present(col: str) -> pl.Expr:
    """``col`` with blank strings turned into null."""
    return pl.when(_blank(col)).then(None).otherwise(pl.col(col))


def unit_exprs(segment_level: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """``unit``, ``unit_name`` and a flag for lines whose missing group fell back to customer."""
    if segment_level == "customer":
        unit = pl.col("customer")
        name = pl.coalesce(_present("customer_name"), pl.col("customer"))
        fell_back = pl.lit(False)
    else:
        unit = pl.coalesce(_present("customer_group"), pl.col("customer"))
        fell_back = _blank("customer_group")
        name = pl.when(fell_back).then(pl.coalesce(_present("customer_name"), unit)).otherwise(unit)
    return unit.alias("unit"), name.alias("unit_name"), fell_back.alias("__fell_back")
