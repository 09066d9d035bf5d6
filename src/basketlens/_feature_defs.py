"""Definitions of the customer features and the column-name slugs (guts of ``features``).

Example:
    >>> slugify(["Coca-Cola", "coca cola", "Other", "Café Noir"])
    ['coca_cola', 'coca_cola_2', 'other_2', 'cafe_noir']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

#: Average days per month used to turn tenure into months (365.25 / 12).
DAYS_PER_MONTH = 30.4375

#: The core feature columns, in output order, with their one-line definitions.
CORE_DEFINITIONS: dict[str, str] = {
    "total_quantity": "sum of quantity over the customer's lines (units or kilos)",
    "total_net_sales": "sum of net_sales over the customer's lines",
    "net_sales_per_unit": "total_net_sales / total_quantity; 0 when total_quantity is 0",
    "invoice_count": "number of distinct baskets (purchase frequency)",
    "avg_days_between_orders": (
        "mean gap in days between consecutive distinct order days; for a customer with a "
        "single order day, the observation window (first ledger day to as_of, at least 1 day)"
    ),
    "avg_monthly_orders": (
        f"invoice_count / months active, months active = max(1, tenure_days / {DAYS_PER_MONTH})"
    ),
    "recency_days": "days (fractional) from the customer's last order to as_of",
    "tenure_days": "days between the first and the last order day; 0 for single-day customers",
    "avg_basket_size": "mean number of distinct items per basket",
    "avg_basket_value": "total_net_sales / invoice_count",
    "distinct_items": "number of distinct items bought",
}

#: Rule for values that cannot be computed (stated once, applied to every feature).
NON_FINITE_RULE = "0 if not finite (only with non-finite inputs)"


def slugify(names: Iterable[str], *, reserved: Iterable[str] = ("other",)) -> list[str]:
    """Column-safe slugs: lower-case ASCII, runs of non-alphanumerics → "_", deduplicated.

    A slug that repeats an earlier one or a ``reserved`` name gets a ``_2``, ``_3``… suffix;
    a name with no ASCII letters or digits becomes ``"x"``.
    """
    taken = set(reserved)
    slugs: list[str] = []
    for name in names:
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        base = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_") or "x"
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}_{n}"
        taken.add(slug)
        slugs.append(slug)
    return slugs


def share_definition(kind: str, name: str | None, *, top: int = 0) -> str:
    """Definition of a ``<kind>_share__<slug>`` column (``name`` None = the "other" column)."""
    if name is None:
        what = f"on lines of any {kind} outside the top {top} (or without a {kind})"
    else:
        what = f"on {kind} {name!r}"
    return f"share of the customer's net sales {what}; 0 when total_net_sales is 0"
