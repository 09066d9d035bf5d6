"""Options of the clean stage: which rules apply and how baskets and units are keyed.

Example:
    >>> CleaningOptions(exclude_brands=("House brand",), basket_by="customer_day").basket_by
    'customer_day'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from basketlens._params import Boolean, Interval, OneOf, Options, Text, TextList, param
from basketlens.errors import ParameterError

BASKET_BY = ("invoice", "customer_day")
SEGMENT_LEVELS = ("customer", "group")


@dataclass(frozen=True)
class CleaningOptions(Options):
    """The ``[clean]`` section: every cleaning rule's switch, baskets and segmentation unit."""

    section = "clean"
    panel = "Cleaning"

    drop_missing_ids: bool = param(
        True,
        Boolean(),
        "Drop lines without a customer, invoice (unless baskets are by customer_day), item or "
        "date.",
    )
    drop_implausible_dates: bool = param(
        True,
        Boolean(),
        "Drop lines dated before min_date or more than max_future_days after the run date.",
    )
    min_date: str = param(
        "1990-01-01", Text(), "Earliest plausible line date (YYYY-MM-DD).", cli="--min-date"
    )
    max_future_days: int = param(
        1,
        Interval(int, 0),
        "Latest plausible line date: this many days after the run date.",
        cli="--max-future-days",
    )
    drop_returns: bool = param(
        True,
        Boolean(),
        "Drop returns (negative quantity, credit notes) and cancellations (see cancel_prefix).",
    )
    cancel_prefix: str = param(
        "auto",
        Text(),
        "Invoice prefix marking a cancellation: 'auto' (the layout's: 'C' for Online Retail, "
        "none for others), 'none', or a prefix such as 'C'.",
        cli="--cancel-prefix",
    )
    drop_nonpositive: bool = param(
        True, Boolean(), "Drop lines with a zero or missing quantity, price or net sales."
    )
    exclude_brands: tuple[str, ...] = param(
        (), TextList(), "Drop lines of this brand (repeatable).", cli="--exclude-brand"
    )
    exclude_categories: tuple[str, ...] = param(
        (), TextList(), "Drop lines of this category (repeatable).", cli="--exclude-category"
    )
    exclude_items: tuple[str, ...] = param(
        (),
        TextList(),
        "Drop lines of this item, by id or name, e.g. a placeholder such as NONE (repeatable).",
        cli="--exclude-item",
    )
    drop_service_items: bool = param(
        True,
        Boolean(),
        "Drop lines of service items — postage, carriage, fees, manual adjustments: the codes "
        "the recognised layout knows (Online Retail's POST, DOT, C2, M, BANK CHARGES, …) and "
        "service_items. They are not goods: no customer is offered them.",
        cli="--keep-service-items",
        sets=False,
        flag_help="Keep lines of service items (postage, carriage, fees; dropped by default).",
    )
    service_items: tuple[str, ...] = param(
        (),
        TextList(),
        "Item ids of services in your ledger (postage, delivery, fees), repeatable; added to "
        "the layout's known codes.",
        cli="--service-item",
    )
    drop_duplicates: bool = param(
        True,
        Boolean(),
        "Drop exact duplicate lines (every field but the line number equal).",
        cli="--keep-duplicates",
        sets=False,
        flag_help="Keep exact duplicate lines (dropped by default).",
    )
    drop_single_item_baskets: bool = param(
        False,
        Boolean(),
        "Drop baskets with one distinct item.",
        cli="--drop-single-item-baskets",
        sets=True,
    )
    basket_by: str = param(
        "invoice",
        OneOf(BASKET_BY),
        "What makes a basket: the invoice, or a customer's purchases on one day.",
        cli="--basket-by",
    )
    segment_level: str = param(
        "customer",
        OneOf(SEGMENT_LEVELS),
        "Segment customers, or customer groups (the customer_group field).",
        cli="--segment-level",
    )

    @property
    def earliest_date(self) -> date:
        """``min_date`` as a date."""
        return date.fromisoformat(self.min_date)

    def _check_together(self) -> None:
        try:
            date.fromisoformat(self.min_date)
        except (TypeError, ValueError):
            raise ParameterError(
                f"min_date must be a date such as 1990-01-01 (YYYY-MM-DD); got {self.min_date!r}"
            ) from None
