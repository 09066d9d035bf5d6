"""The clean stage: drop unusable ledger lines, account for every one, add basket and unit keys.

Rules run in a fixed order; each one sees only the lines that survived the rules before it,
and every rule appears in the account (a disabled rule drops 0 and says "disabled"):

1. ``missing_ids`` – no customer, invoice, item (null or blank) or date.
2. ``returns`` – cancellations (invoice starting with "C") and returns (quantity < 0).
3. ``nonpositive`` – quantity, price or net sales not a finite positive number.
4. ``excluded_brands`` / 5. ``excluded_categories`` – brands / categories the user excludes.
6. ``duplicates`` – exact duplicate lines; the first (lowest ``line_no``) is kept.
7. ``single_item_baskets`` – baskets with one distinct item (off by default).

Kept lines get ``net_sales = quantity × unit_price`` where ``net_sales`` is null, a ``basket``
key (the invoice, or ``"<customer>|<YYYY-MM-DD>"``) and the segmentation ``unit`` /
``unit_name`` (customer, or customer_group falling back to the customer when it is missing).
Lines come out in ``line_no`` order.

Example:
    >>> from basketlens.clean import CleaningOptions, clean_ledger
    >>> options = CleaningOptions(basket_by="customer_day")
    >>> result = clean_ledger(ledger, options=options)  # doctest: +SKIP
    >>> result.account.select("rule", "rows_dropped")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import polars as pl

from basketlens.clean import rules
from basketlens.clean.options import CleaningOptions
from basketlens.errors import EmptyInputError, InputError, ParameterError, SchemaError
from basketlens.schema import CLEAN_SCHEMA, CLEANING_SCHEMA, LEDGER_SCHEMA

logger = logging.getLogger(__name__)

__all__ = ["CleanResult", "CleaningOptions", "LedgerLike", "clean_ledger"]


@runtime_checkable
class LedgerLike(Protocol):
    """What the clean stage needs from a ledger (``basketlens.ingest.Ledger`` fits)."""

    @property
    def lines(self) -> pl.LazyFrame: ...  # LEDGER_SCHEMA

    @property
    def n_lines(self) -> int: ...  # lines in the sales file


@dataclass(frozen=True)
class CleanResult:
    """Cleaned lines (``CLEAN_SCHEMA``) and the account of dropped lines (``CLEANING_SCHEMA``).

    The first ``rows_in`` of the account equals ``ledger.n_lines`` and the last ``rows_out``
    equals ``lines.height``.
    """

    lines: pl.DataFrame
    account: pl.DataFrame


def clean_ledger(ledger: LedgerLike, options: CleaningOptions | None = None) -> CleanResult:
    """Apply the cleaning rules to ``ledger.lines`` and account for every dropped line.

    Args:
        ledger: any object with ``lines`` (LazyFrame in ``LEDGER_SCHEMA``) and ``n_lines``.
        options: the rules to apply; defaults to :class:`CleaningOptions()`.

    Returns:
        A :class:`CleanResult`; ``lines`` adds ``basket``, ``unit`` and ``unit_name``.

    Raises:
        ParameterError: an option has the wrong type or value.
        SchemaError: ``ledger.lines`` lacks a ledger column or has the wrong type.
        InputError: ``ledger.n_lines`` disagrees with the lines actually present.
        EmptyInputError: every line was dropped (the message shows the account).

    Example:
        >>> result = clean_ledger(ledger)  # doctest: +SKIP
        >>> result.account["rows_out"][-1] == result.lines.height  # doctest: +SKIP
        True
    """
    options = CleaningOptions() if options is None else options
    _check_options(options)
    lf = _ledger_frame(ledger)
    n_lines = _check_n_lines(ledger)
    plan = _rules(options)

    checks: list[pl.Expr | None] = [
        rules.missing_ids_expr() if options.drop_missing_ids else None,
        rules.returns_expr() if options.drop_returns else None,
        rules.nonpositive_expr() if options.drop_nonpositive else None,
        rules.excluded_expr("brand", options.exclude_brands) if options.exclude_brands else None,
        (
            rules.excluded_expr("category", options.exclude_categories)
            if options.exclude_categories
            else None
        ),
    ]
    step = pl.col(rules.STEP_COL)
    unit, unit_name, fell_back = rules.unit_exprs(options.segment_level)
    annotated = lf.with_columns(rules.first_failing_step(checks).alias(rules.STEP_COL))

    def mark(rule: str, fails: pl.Expr) -> pl.Expr:
        """Give still-kept lines for which ``fails`` holds the step of ``rule``."""
        return pl.coalesce(step, pl.when(fails).then(pl.lit(rules.STEP[rule], pl.Int32))).alias(
            rules.STEP_COL
        )

    if options.drop_duplicates:
        annotated = annotated.with_columns(mark("duplicates", rules.duplicate_expr(step.is_null())))
    annotated = annotated.with_columns(rules.basket_expr(options.basket_by))
    if options.drop_single_item_baskets:
        annotated = annotated.with_columns(
            mark("single_item_baskets", rules.single_item_basket_expr(step.is_null()))
        )

    counts_lf = annotated.group_by(rules.STEP_COL).agg(
        pl.len().alias("n"), fell_back.sum().alias("fell_back")
    )
    lines_lf = (
        annotated.filter(step.is_null())
        .with_columns(rules.filled_net_sales().alias("net_sales"), unit, unit_name)
        .select(CLEAN_SCHEMA.names())
        .cast(dict(CLEAN_SCHEMA))
    )
    try:
        counts, lines = pl.collect_all([counts_lf, lines_lf], engine="streaming")
    except pl.exceptions.PolarsError as exc:  # bad values surface only when the data is read
        raise InputError(f"cannot clean the ledger lines: {exc}") from exc

    account = _account(plan, counts, n_lines)
    fallbacks = int(counts.filter(pl.col(rules.STEP_COL).is_null())["fell_back"].sum() or 0)
    if options.segment_level == "group" and fallbacks:
        logger.info(
            "segment_level='group': %d cleaned lines have no customer_group; "
            "their customer is used as the unit",
            fallbacks,
        )
    logger.info("cleaning kept %d of %d lines", lines.height, n_lines)
    if lines.height == 0:
        raise EmptyInputError(_all_dropped_message(ledger, account))
    return CleanResult(lines=lines, account=account)


def _check_options(options: CleaningOptions) -> None:
    if not isinstance(options, CleaningOptions):
        raise ParameterError(f"options must be a CleaningOptions; got {type(options).__name__}")
    options.validate()


def _ledger_frame(ledger: LedgerLike) -> pl.LazyFrame:
    """``ledger.lines`` as a LazyFrame in exactly ``LEDGER_SCHEMA`` (column order too)."""
    lines = getattr(ledger, "lines", None)
    if isinstance(lines, pl.DataFrame):
        lines = lines.lazy()
    if not isinstance(lines, pl.LazyFrame):
        raise ParameterError(f"ledger.lines must be a polars LazyFrame; got {type(lines).__name__}")
    schema = lines.collect_schema()
    for name, dtype in LEDGER_SCHEMA.items():
        if name not in schema:
            raise SchemaError(
                f"ledger.lines has no column {name!r}; expected the columns of LEDGER_SCHEMA "
                f"({', '.join(LEDGER_SCHEMA.names())})"
            )
        if schema[name] != dtype:
            raise SchemaError(f"ledger.lines column {name!r} must be {dtype}; got {schema[name]}")
    # sorted so that "first occurrence" (duplicates) and the output follow line_no
    return lines.select(LEDGER_SCHEMA.names()).sort("line_no")


def _check_n_lines(ledger: LedgerLike) -> int:
    n_lines = getattr(ledger, "n_lines", None)
    if isinstance(n_lines, bool) or not isinstance(n_lines, int) or n_lines < 0:
        raise ParameterError(f"ledger.n_lines must be an int >= 0; got {n_lines!r}")
    return n_lines


def _rules(options: CleaningOptions) -> list[rules.Rule]:
    """The seven rules in the order applied, with their descriptions."""

    def listed(values: Sequence[str]) -> str:
        return ", ".join(repr(v) for v in values)

    unit = "invoice" if options.basket_by == "invoice" else "customer and day"
    plan = [
        rules.Rule(
            "missing_ids",
            "lines without a customer, invoice, item or date (null or blank)",
            options.drop_missing_ids,
        ),
        rules.Rule(
            "returns",
            "cancellations ('C' invoices) and returns (negative quantity)",
            options.drop_returns,
        ),
        rules.Rule(
            "nonpositive",
            "zero or missing quantity, or zero, negative or missing price "
            "(unit_price, else net_sales/quantity) or net sales",
            options.drop_nonpositive,
        ),
        rules.Rule(
            "excluded_brands",
            f"lines of excluded brands ({listed(options.exclude_brands)}; case-insensitive)"
            if options.exclude_brands
            else "no brands excluded",
            bool(options.exclude_brands),
        ),
        rules.Rule(
            "excluded_categories",
            f"lines of excluded categories ({listed(options.exclude_categories)}; case-insensitive)"
            if options.exclude_categories
            else "no categories excluded",
            bool(options.exclude_categories),
        ),
        rules.Rule(
            "duplicates",
            "exact duplicate lines (every field but line_no equal); the first occurrence is kept",
            options.drop_duplicates,
        ),
        rules.Rule(
            "single_item_baskets",
            f"baskets (by {unit}) with a single distinct item",
            options.drop_single_item_baskets,
        ),
    ]
    assert tuple(r.name for r in plan) == rules.RULE_NAMES
    return [
        r if r.enabled else rules.Rule(r.name, f"disabled: {r.description}", False) for r in plan
    ]


def _account(plan: list[rules.Rule], counts: pl.DataFrame, n_lines: int) -> pl.DataFrame:
    """Build the account table; refuse when ``n_lines`` disagrees with the lines present."""
    present = int(counts["n"].sum() or 0)
    if present != n_lines:
        raise InputError(
            f"ledger.n_lines is {n_lines} but ledger.lines holds {present} lines; "
            "every line of the sales file must reach cleaning so that none is lost unaccounted"
        )
    dropped = dict(zip(counts[rules.STEP_COL].to_list(), counts["n"].to_list(), strict=True))
    rows = []
    rows_in = n_lines
    for step, rule in enumerate(plan, start=1):
        n = int(dropped.get(step, 0))
        rows.append((step, rule.name, rule.description, rows_in, n, rows_in - n))
        rows_in -= n
    return pl.DataFrame(rows, schema=CLEANING_SCHEMA, orient="row")


#: The option that switches each rule off (for the message when every line is dropped).
_RULE_OPTIONS: dict[str, str] = {
    "missing_ids": "drop_missing_ids = false",
    "returns": "drop_returns = false",
    "nonpositive": "drop_nonpositive = false",
    "excluded_brands": "exclude_brands = []",
    "excluded_categories": "exclude_categories = []",
    "duplicates": "drop_duplicates = false (--keep-duplicates)",
    "single_item_baskets": "drop_single_item_baskets = false",
}


def _all_dropped_message(ledger: LedgerLike, account: pl.DataFrame) -> str:
    """Name the sales file and the rule that dropped the most lines, and how to relax it."""
    sources = getattr(ledger, "sources", None) or ()
    files = [str(s.path) for s in sources if getattr(s, "role", None) == "sales"]
    where = f" of sales file {files[0]!r}" if files else ""
    top = account.sort("rows_dropped", descending=True, maintain_order=True).row(0, named=True)
    hint = "check the input"
    option = _RULE_OPTIONS.get(top["rule"]) if top["rows_dropped"] else None
    if option:
        hint = (
            f"most were dropped by rule {top['rule']!r} ({top['description']}); check the "
            f"input or switch the rule off in the [clean] table of the config ({option})"
        )
    return (
        f"every ledger line{where} was dropped by cleaning; {hint}. Cleaning account:\n"
        + _render_account(account)
    )


def _render_account(account: pl.DataFrame) -> str:
    """The account as aligned text lines for error messages."""
    width = max(len(r) for r in account["rule"])
    return "\n".join(
        f"  {row['step']}. {row['rule']:<{width}}  in {row['rows_in']:>10,}  "
        f"dropped {row['rows_dropped']:>10,}  out {row['rows_out']:>10,}"
        for row in account.iter_rows(named=True)
    )
