"""The clean stage: drop unusable ledger lines, account for every one, add basket and unit keys.

Rules run in the order of the registry :data:`basketlens.clean.rules.CLEANING_RULES`
(missing ids, returns, non-positive values, excluded brands and categories, duplicates,
single-item baskets); each one sees only the lines that survived the rules before it, and
every rule appears in the account (a disabled rule drops 0 and says "disabled").

Kept lines get ``net_sales = quantity × unit_price`` where ``net_sales`` is null, a ``basket``
key (the invoice, or ``"<customer>|<YYYY-MM-DD>"``) and the segmentation ``unit`` /
``unit_name`` (customer, or customer_group falling back to the customer when it is missing).
Lines come out in ``line_no`` order. The item table (one row per kept item: name, brand,
category, lines, net sales) is built in the same pass.

Example:
    >>> from basketlens.clean import CleaningOptions, clean_ledger
    >>> options = CleaningOptions(basket_by="customer_day")
    >>> result = clean_ledger(ledger, options=options)  # doctest: +SKIP
    >>> result.account.select("rule", "rows_dropped")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar, runtime_checkable

import polars as pl

from basketlens._rowcount import counting
from basketlens._sums import fixed_point_sum
from basketlens.clean import rules
from basketlens.clean.options import CleaningOptions
from basketlens.clean.rules import CLEANING_RULES, STEP_COL
from basketlens.errors import EmptyInputError, InputError, ParameterError, SchemaError
from basketlens.schema import CLEAN_SCHEMA, CLEANING_SCHEMA, ITEMS_SCHEMA, LEDGER_SCHEMA

logger = logging.getLogger(__name__)

__all__ = [
    "CleanResult",
    "CleaningOptions",
    "LedgerLike",
    "clean_ledger",
    "mark_early",
    "mark_late",
    "resolve_options",
]

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


@runtime_checkable
class LedgerLike(Protocol):
    """What the clean stage needs from a ledger (``basketlens.ingest.Ledger`` fits)."""

    @property
    def lines(self) -> pl.LazyFrame: ...  # LEDGER_SCHEMA

    @property
    def n_lines(self) -> int: ...  # lines in the sales file


@dataclass(frozen=True)
class CleanResult:
    """Cleaned lines, the account of dropped lines and the item table.

    * ``lines`` (``CLEAN_SCHEMA``): the kept ledger lines in ``line_no`` order, plus
      ``basket``, ``unit`` and ``unit_name``.
    * ``account`` (``CLEANING_SCHEMA``): one row per rule in the order applied; the first
      ``rows_in`` equals ``ledger.n_lines`` and the last ``rows_out`` equals ``lines.height``.
    * ``items`` (``ITEMS_SCHEMA``): one row per item present in ``lines``, sorted by item:
      ``item``; ``item_name`` (first non-null name in line order, else the id itself);
      ``brand`` and ``category`` (first non-null value, else null); ``lines`` (Int64, kept
      lines of the item) and ``net_sales`` (Float64, their sum). Later stages take item
      names, brands and categories from this table.

    Example:
        >>> result = clean_ledger(ledger)  # doctest: +SKIP
        >>> result.items.columns  # doctest: +SKIP
        ['item', 'item_name', 'brand', 'category', 'lines', 'net_sales']
    """

    lines: pl.DataFrame
    account: pl.DataFrame
    items: pl.DataFrame


def clean_ledger(
    ledger: LedgerLike,
    options: CleaningOptions | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> CleanResult:
    """Apply the cleaning rules to ``ledger.lines`` and account for every dropped line.

    Args:
        ledger: any object with ``lines`` (LazyFrame in ``LEDGER_SCHEMA``) and ``n_lines``.
        options: the rules to apply; defaults to :class:`CleaningOptions()`.
        progress: told ``(lines read, lines in all)`` as the lines are read.

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
    options = resolve_options(options, ledger)
    lf = _ledger_frame(ledger)
    n_lines = _check_n_lines(ledger)
    if progress is not None:
        lf = counting(lf, lambda n: progress(n, n_lines))
    step = pl.col(STEP_COL)
    unit, unit_name, fell_back = rules.unit_exprs(options.segment_level)
    # cached: the account, the lines and the item table share one evaluation of the rules
    annotated = _apply_rules(lf, options).cache()
    counts_lf = annotated.group_by(STEP_COL).agg(
        pl.len().alias("n"), fell_back.sum().alias("fell_back")
    )
    lines_lf = (
        annotated.filter(step.is_null())
        .with_columns(rules.filled_net_sales().alias("net_sales"), unit, unit_name)
        .select(CLEAN_SCHEMA.names())
        .cast(dict(CLEAN_SCHEMA))
    )
    items_lf = _item_table(lines_lf)
    try:
        counts, lines, items = pl.collect_all([counts_lf, lines_lf, items_lf], engine="streaming")
    except pl.exceptions.PolarsError as exc:  # bad values surface only when the data is read
        raise InputError(f"cannot clean the ledger lines: {exc}") from exc

    account = _account(options, counts, n_lines)
    _warn_dates(options, account)
    fallbacks = int(counts.filter(step.is_null())["fell_back"].sum() or 0)
    if options.segment_level == "group" and fallbacks:
        logger.info(
            "segment_level='group': %d cleaned lines have no customer_group; "
            "their customer is used as the unit",
            fallbacks,
        )
    logger.info("cleaning kept %d of %d lines", lines.height, n_lines)
    if lines.height == 0:
        raise EmptyInputError(_all_dropped_message(ledger, account))
    return CleanResult(lines=lines, account=account, items=items)


def resolve_options(options: CleaningOptions, ledger: object) -> CleaningOptions:
    """``options`` with what the ledger's layout knows: ``cancel_prefix="auto"`` resolved to the
    layout's cancellation prefix (``ledger.cancel_prefix``; Online Retail's 'C'), else none; and
    the layout's service-item codes (``ledger.service_items``) added to ``service_items``.

    Example:
        >>> from types import SimpleNamespace
        >>> resolve_options(CleaningOptions(), SimpleNamespace(cancel_prefix="C")).cancel_prefix
        'C'
    """
    if options.cancel_prefix.strip().lower() == "auto":
        options = replace(options, cancel_prefix=getattr(ledger, "cancel_prefix", None) or "none")
    known = tuple(getattr(ledger, "service_items", ()) or ())
    return replace(options, service_items=tuple(dict.fromkeys((*known, *options.service_items))))


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


def _apply_rules(lf: pl.LazyFrame, options: CleaningOptions) -> pl.LazyFrame:
    """``lf`` plus ``basket`` and the step of the rule that drops each line (null = kept).

    Iterates :data:`CLEANING_RULES`: the enabled early rules form one ``when/then`` chain
    (the first that holds wins), then the enabled late rules mark, one after the other, the
    lines that are still kept.

    Example:
        >>> _apply_rules(lf, CleaningOptions()).collect_schema().names()[-2:]  # doctest: +SKIP
        ['__drop_step', 'basket']
    """
    return mark_late(mark_early(lf, options), options)


def mark_early(frame: FrameT, options: CleaningOptions) -> FrameT:
    """``frame`` plus ``basket`` and the step of the first enabled early rule that drops each
    line (null = kept so far). Early rules read one line, so any batch of lines will do."""
    early = [
        (step, rule.drops(options))
        for step, rule in enumerate(CLEANING_RULES.values(), start=1)
        if rule.phase == "early" and rule.enabled(options)
    ]
    return frame.with_columns(
        rules.first_failing_step(early).alias(STEP_COL), rules.basket_expr(options.basket_by)
    )


def mark_late(frame: FrameT, options: CleaningOptions) -> FrameT:
    """The enabled late rules, one after the other, on lines marked by :func:`mark_early`,
    in ``line_no`` order. They compare lines of one basket, so the frame must hold every line
    of its baskets."""
    for step, rule in enumerate(CLEANING_RULES.values(), start=1):
        if rule.phase == "late" and rule.enabled(options):
            frame = frame.with_columns(rules.mark_step(step, rule.drops(options)))
    return frame


def _item_table(lines: pl.LazyFrame) -> pl.LazyFrame:
    """The item table (``ITEMS_SCHEMA``): one row per item of ``lines``, sorted by item.

    ``item_name`` is the first non-null name in row order (else the id); ``brand`` and
    ``category`` the first non-null value (else null); ``lines`` and ``net_sales`` count and
    sum the item's lines. Lines without an item are left out.

    Example:
        >>> df = pl.DataFrame({"item": ["b", "a", "b"], "item_name": [None, "A", "Bee"],
        ...                    "brand": [None] * 3, "category": ["c", None, None],
        ...                    "net_sales": [1.0, 2.0, 3.0]})
        >>> _item_table(df.lazy()).collect()["item_name"].to_list()
        ['A', 'Bee']
    """
    first = [pl.col(c).drop_nulls().first() for c in ("item_name", "brand", "category")]
    return (
        lines.filter(pl.col("item").is_not_null())
        .group_by("item")
        .agg(*first, pl.len().alias("lines"), exact_sum("net_sales"))
        .with_columns(pl.col("item_name").fill_null(pl.col("item")))
        .sort("item")
        .select(ITEMS_SCHEMA.names())
        .cast(dict(ITEMS_SCHEMA))
    )


def exact_sum(column: str) -> pl.Expr:
    """The sum of ``column`` (Float64) independent of the order of its values: added as
    decimals with 10 places, which add exactly, so the streaming engine's morsels give the same
    bits on every run (a float sum changed its last bits from run to run). A group holding a
    non-finite value or one beyond ±1e27 is summed as floats.

    Example:
        >>> df = pl.DataFrame({"x": [0.1, 0.2, 0.3]})
        >>> df.select(exact_sum("x")).item() == df.reverse().select(exact_sum("x")).item()
        True
    """
    x = pl.col(column)
    exact = fixed_point_sum(column, decimals=10)
    return pl.when((x.abs() < 1e27).all()).then(exact).otherwise(x.sum()).alias(column)


def _account(options: CleaningOptions, counts: pl.DataFrame, n_lines: int) -> pl.DataFrame:
    """Build the account table; refuse when ``n_lines`` disagrees with the lines present."""
    present = int(counts["n"].sum() or 0)
    if present != n_lines:
        raise InputError(
            f"ledger.n_lines is {n_lines} but ledger.lines holds {present} lines; "
            "every line of the sales file must reach cleaning so that none is lost unaccounted"
        )
    dropped = dict(zip(counts[STEP_COL].to_list(), counts["n"].to_list(), strict=True))
    rows = []
    rows_in = n_lines
    for step, rule in enumerate(CLEANING_RULES.values(), start=1):
        n = int(dropped.get(step, 0))
        rows.append((step, rule.name, rule.description(options), rows_in, n, rows_in - n))
        rows_in -= n
    return pl.DataFrame(rows, schema=CLEANING_SCHEMA, orient="row")


def _warn_dates(options: CleaningOptions, account: pl.DataFrame) -> None:
    """Say how many lines the date window dropped (a typo such as 9999-12-31 would otherwise
    stretch the history that recency and frequency are measured on)."""
    row = account.filter(pl.col("rule") == "implausible_dates").row(0, named=True)
    if row["rows_dropped"]:
        first, last = rules.plausible_days(options)
        logger.warning(
            "%d line(s) dated before %s or after %s were dropped (cleaning rule "
            "implausible_dates); set [clean] min_date / max_future_days to keep them",
            row["rows_dropped"],
            first,
            last,
        )


def _all_dropped_message(ledger: LedgerLike, account: pl.DataFrame) -> str:
    """Name the sales file and the rule that dropped the most lines, and how to relax it."""
    sources = getattr(ledger, "sources", None) or ()
    files = [str(s.path) for s in sources if getattr(s, "role", None) == "sales"]
    where = f" of sales file {files[0]!r}" if files else ""
    top = account.sort("rows_dropped", descending=True, maintain_order=True).row(0, named=True)
    hint = "check the input"
    if top["rows_dropped"]:
        option = CLEANING_RULES[top["rule"]].switch_off
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
