"""The cleaning rules as one ordered registry (private guts of :mod:`basketlens.clean`).

Each rule is one :class:`CleaningRule` in :data:`CLEANING_RULES`, in the order applied; its
step is its 1-based position there. An entry carries together the rule's name, its
description (which may depend on the options), its switch, its drop expression (a Polars
boolean expression true for the lines the rule drops), its phase and the config setting that
switches it off. The stage iterates the registry; nothing else lists the rules.

Phases:

* ``"early"`` rules are decided by the line alone. They are evaluated on the whole ledger in
  one pass: :func:`first_failing_step` gives each line the step of the first early rule that
  drops it (null = kept so far), so the account is one ``group_by`` and the lines are
  filtered once.
* ``"late"`` rules compare a line with the other lines still kept (``duplicates``,
  ``single_item_baskets``). They run one after the other once the ``basket`` key exists;
  their expressions read :func:`kept` (no earlier rule drops the line).

The ``returns`` rule drops invoices starting with ``cancel_prefix`` only when the ledger's
layout marks cancellations so (Online Retail's 'C'); the clean stage resolves ``"auto"`` from
the ledger before the rules run. Otherwise returns are negative quantities (credit-note lines
are made negative at ingest), so an ERP's "CMD-40000001" is an ordinary invoice.

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"invoice": ["C1", "2"], "quantity": [1.0, -2.0]})
    >>> rule = CLEANING_RULES["returns"]
    >>> df.select(rule.drops(CleaningOptions(cancel_prefix="C"))).to_series().to_list()
    [True, True]
    >>> df.select(rule.drops(CleaningOptions(cancel_prefix="none"))).to_series().to_list()
    [False, True]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import polars as pl

from basketlens.clean.options import CleaningOptions
from basketlens.schema import LEDGER_SCHEMA

#: Ledger fields compared by the duplicate rule (every field but the line number).
DUPLICATE_KEY: tuple[str, ...] = tuple(c for c in LEDGER_SCHEMA.names() if c != "line_no")

#: Column holding the step of the first rule that drops a line (null = kept).
STEP_COL = "__drop_step"

Phase = Literal["early", "late"]


@dataclass(frozen=True)
class CleaningRule:
    """One cleaning rule: name, description, switch, drop expression, phase and off-switch.

    ``describe(options)`` says what the rule drops; ``enabled(options)`` is the switch;
    ``drops(options)`` is true for the lines the rule drops (a ``"late"`` rule may read
    :func:`kept` and the ``basket`` column); ``switch_off`` is the ``[clean]`` config setting
    that turns the rule off (quoted when every line is dropped).

    Example:
        >>> rule = CLEANING_RULES["excluded_brands"]
        >>> rule.description(CleaningOptions()), rule.phase
        ('disabled: no brands excluded', 'early')
    """

    name: str
    describe: Callable[[CleaningOptions], str]
    enabled: Callable[[CleaningOptions], bool]
    drops: Callable[[CleaningOptions], pl.Expr]
    phase: Phase
    switch_off: str

    def description(self, options: CleaningOptions) -> str:
        """The account's description: what the rule drops, prefixed "disabled: " when off."""
        text = self.describe(options)
        return text if self.enabled(options) else f"disabled: {text}"


def _blank(col: str) -> pl.Expr:
    """True when a string column is null or only whitespace."""
    return pl.col(col).is_null() | (pl.col(col).str.strip_chars() == "")


def _positive(expr: pl.Expr) -> pl.Expr:
    """True when ``expr`` is a finite number > 0 (null, NaN and ±inf are not)."""
    return (expr.is_finite() & (expr > 0)).fill_null(False)


def kept() -> pl.Expr:
    """True for lines that no earlier rule drops (late rules only: reads :data:`STEP_COL`)."""
    return pl.col(STEP_COL).is_null()


def missing_ids_expr(basket_by: str = "invoice") -> pl.Expr:
    """Lines without a customer, invoice, item (null or blank) or date (null).

    Baskets by ``customer_day`` need no invoice, so a missing invoice does not drop a line.
    """
    missing = _blank("customer") | _blank("item") | pl.col("date").is_null()
    return missing | _blank("invoice") if basket_by == "invoice" else missing


def _missing_ids_text(options: CleaningOptions) -> str:
    ids = (
        "a customer, invoice, item or date"
        if options.basket_by == "invoice"
        else ("a customer, item or date (baskets by customer and day need no invoice)")
    )
    return (
        f"lines without {ids} (null, blank, or a placeholder such as 'NaN', 'null', 'N/A', "
        "'#N/A', '-')"
    )


def cancel_prefix(options: CleaningOptions) -> str | None:
    """The invoice prefix marking cancellations, or None ("auto" unresolved counts as none)."""
    prefix = options.cancel_prefix.strip()
    return None if prefix.lower() in ("auto", "none", "") else prefix


def returns_expr(prefix: str | None = None) -> pl.Expr:
    """Returns (quantity < 0) and cancellations (invoice starting with ``prefix``, any case)."""
    negative = (pl.col("quantity") < 0).fill_null(False)
    if prefix is None:
        return negative
    cancelled = (
        pl.col("invoice").str.strip_chars_start().str.to_uppercase().str.starts_with(prefix.upper())
    ).fill_null(False)
    return cancelled | negative


def _returns_text(options: CleaningOptions) -> str:
    prefix = cancel_prefix(options)
    if prefix is None:
        return "returns (negative quantity, credit notes); no invoice prefix marks cancellations"
    return f"cancellations ({prefix!r} invoices) and returns (negative quantity)"


def date_window(options: CleaningOptions, today: date | None = None) -> tuple[datetime, datetime]:
    """``[earliest, latest)`` of plausible line dates: ``min_date``, and the end of the day
    ``max_future_days`` after ``today`` (the run date).

    Example:
        >>> date_window(CleaningOptions(), today=date(2026, 1, 1))[1]
        datetime.datetime(2026, 1, 3, 0, 0)
    """
    today = today or date.today()
    latest = today + timedelta(days=options.max_future_days + 1)
    return datetime.combine(options.earliest_date, datetime.min.time()), datetime.combine(
        latest, datetime.min.time()
    )


def implausible_dates_expr(options: CleaningOptions) -> pl.Expr:
    """Lines dated before ``min_date`` or after the run date + ``max_future_days``."""
    earliest, latest = date_window(options)
    d = pl.col("date")
    return ((d < earliest) | (d >= latest)).fill_null(False)


def plausible_days(options: CleaningOptions) -> tuple[date, date]:
    """The first and the last plausible day of a line (see :func:`date_window`)."""
    earliest, latest = date_window(options)
    return earliest.date(), (latest - timedelta(days=1)).date()


def _dates_text(options: CleaningOptions) -> str:
    first, last = plausible_days(options)
    return (
        f"lines dated before {first} or after {last} (the run date + "
        f"{options.max_future_days} day(s)): typing errors and placeholder dates"
    )


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


def excluded_expr(col: str | Sequence[str], values: Sequence[str]) -> pl.Expr:
    """Lines whose ``col`` (or any of several columns) equals one of ``values``
    (case-insensitive, trimmed)."""
    wanted = pl.lit(sorted({v.strip().lower() for v in values}), pl.List(pl.String))
    columns = [col] if isinstance(col, str) else list(col)
    hits = [
        pl.col(c).str.strip_chars().str.to_lowercase().is_in(wanted).fill_null(False)
        for c in columns
    ]
    return pl.any_horizontal(hits) if len(hits) > 1 else hits[0]


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


def _excluded_text(kind: str, values: Sequence[str]) -> str:
    if not values:
        return f"no {kind} excluded"
    listed = ", ".join(repr(v) for v in values)
    return f"lines of excluded {kind} ({listed}; case-insensitive)"


def _basket_unit(options: CleaningOptions) -> str:
    return "invoice" if options.basket_by == "invoice" else "customer and day"


def _registry(*entries: CleaningRule) -> dict[str, CleaningRule]:
    """Rules by name, in order; early rules must precede late ones (steps = order applied)."""
    phases = [rule.phase for rule in entries]
    if phases != sorted(phases, key=("early", "late").index):
        raise ValueError(f"early cleaning rules must precede late ones; got {phases}")
    return {rule.name: rule for rule in entries}


#: Every cleaning rule, in the order applied (a rule's step is its 1-based position).
CLEANING_RULES: dict[str, CleaningRule] = _registry(
    CleaningRule(
        name="missing_ids",
        describe=_missing_ids_text,
        enabled=lambda o: o.drop_missing_ids,
        drops=lambda o: missing_ids_expr(o.basket_by),
        phase="early",
        switch_off="drop_missing_ids = false",
    ),
    CleaningRule(
        name="implausible_dates",
        describe=_dates_text,
        enabled=lambda o: o.drop_implausible_dates,
        drops=implausible_dates_expr,
        phase="early",
        switch_off="drop_implausible_dates = false (or widen min_date / max_future_days)",
    ),
    CleaningRule(
        name="returns",
        describe=_returns_text,
        enabled=lambda o: o.drop_returns,
        drops=lambda o: returns_expr(cancel_prefix(o)),
        phase="early",
        switch_off="drop_returns = false",
    ),
    CleaningRule(
        name="nonpositive",
        describe=lambda o: (
            "zero or missing quantity, or zero, negative or missing price "
            "(unit_price, else net_sales/quantity) or net sales"
        ),
        enabled=lambda o: o.drop_nonpositive,
        drops=lambda o: nonpositive_expr(),
        phase="early",
        switch_off="drop_nonpositive = false",
    ),
    CleaningRule(
        name="excluded_brands",
        describe=lambda o: _excluded_text("brands", o.exclude_brands),
        enabled=lambda o: bool(o.exclude_brands),
        drops=lambda o: excluded_expr("brand", o.exclude_brands),
        phase="early",
        switch_off="exclude_brands = []",
    ),
    CleaningRule(
        name="excluded_categories",
        describe=lambda o: _excluded_text("categories", o.exclude_categories),
        enabled=lambda o: bool(o.exclude_categories),
        drops=lambda o: excluded_expr("category", o.exclude_categories),
        phase="early",
        switch_off="exclude_categories = []",
    ),
    CleaningRule(
        name="excluded_items",
        describe=lambda o: (
            _excluded_text("items", o.exclude_items) + (" by id or name" if o.exclude_items else "")
        ),
        enabled=lambda o: bool(o.exclude_items),
        drops=lambda o: excluded_expr(("item", "item_name"), o.exclude_items),
        phase="early",
        switch_off="exclude_items = []",
    ),
    CleaningRule(
        name="service_items",
        describe=lambda o: (
            f"lines of service items, not goods ({', '.join(map(repr, o.service_items))}; by id, "
            "case-insensitive)"
            if o.service_items
            else "no service items known (the layout names none; see --service-item)"
        ),
        enabled=lambda o: o.drop_service_items and bool(o.service_items),
        drops=lambda o: excluded_expr("item", o.service_items),
        phase="early",
        switch_off="drop_service_items = false (--keep-service-items)",
    ),
    CleaningRule(
        name="duplicates",
        describe=lambda o: (
            "exact duplicate lines (every field but line_no equal); the first occurrence is kept"
        ),
        enabled=lambda o: o.drop_duplicates,
        drops=lambda o: duplicate_expr(kept()),
        phase="late",
        switch_off="drop_duplicates = false (--keep-duplicates)",
    ),
    CleaningRule(
        name="single_item_baskets",
        describe=lambda o: f"baskets (by {_basket_unit(o)}) with a single distinct item",
        enabled=lambda o: o.drop_single_item_baskets,
        drops=lambda o: single_item_basket_expr(kept()),
        phase="late",
        switch_off="drop_single_item_baskets = false",
    ),
)


def first_failing_step(checks: Sequence[tuple[int, pl.Expr]]) -> pl.Expr:
    """Step (Int32) of the first ``(step, drops)`` pair whose expression is true; else null.

    Example:
        >>> df = pl.DataFrame({"q": [-1.0, 0.0, 2.0]})
        >>> checks = [(2, pl.col("q") < 0), (3, pl.col("q") <= 0)]
        >>> df.select(first_failing_step(checks)).to_series().to_list()
        [2, 3, None]
    """
    chain = None
    for step, drops in checks:
        chain = pl.when(drops) if chain is None else chain.when(drops)
        chain = chain.then(pl.lit(step, pl.Int32))
    if chain is None:
        return pl.lit(None, pl.Int32)
    return chain.otherwise(pl.lit(None, pl.Int32))


def mark_step(step: int, drops: pl.Expr) -> pl.Expr:
    """:data:`STEP_COL` with ``step`` given to the still-kept lines for which ``drops`` holds."""
    return pl.coalesce(pl.col(STEP_COL), pl.when(drops).then(pl.lit(step, pl.Int32))).alias(
        STEP_COL
    )


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
