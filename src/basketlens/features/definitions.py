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

#: The core feature columns, in output order: (one-line definition, rule for the degenerate
#: case that would otherwise divide by zero or be undefined; None when always defined).
CORE_FEATURE_RULES: dict[str, tuple[str, str | None]] = {
    "total_quantity": ("sum of quantity over the customer's lines (units or kilos)", None),
    "total_net_sales": ("sum of net_sales over the customer's lines", None),
    "net_sales_per_unit": ("total_net_sales / total_quantity", "0 when total_quantity is 0"),
    "invoice_count": ("number of distinct baskets (purchase frequency)", None),
    "avg_days_between_orders": (
        "mean gap in days between consecutive distinct order days",
        "for a customer with a single order day, the observation window (first ledger day to "
        "as_of, at least 1 day)",
    ),
    "avg_monthly_orders": (
        f"invoice_count / months active, months active = max(1, tenure_days / {DAYS_PER_MONTH})",
        None,
    ),
    "recency_days": ("days (fractional) from the customer's last order to as_of", None),
    "tenure_days": (
        "days between the first and the last order day",
        "0 for single-day customers",
    ),
    "avg_basket_size": ("mean number of distinct items per basket", None),
    "avg_basket_value": ("total_net_sales / invoice_count", None),
    "distinct_items": ("number of distinct items bought", None),
}

#: The core feature columns, in output order, with their one-line definitions.
CORE_DEFINITIONS: dict[str, str] = {
    name: text if rule is None else f"{text}; {rule}"
    for name, (text, rule) in CORE_FEATURE_RULES.items()
}

#: Degenerate-case rule of every share column.
SHARE_RULE = "0 when total_net_sales is 0"

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


def share_definition(kind: str, name: str | None, *, top: int | str = 0) -> str:
    """Definition of a ``<kind>_share__<slug>`` column (``name`` None = the "other" column)."""
    if name is None:
        what = f"on lines of any {kind} outside the top {top} (or without a {kind})"
    else:
        what = f"on {kind} {name!r}"
    return f"share of the customer's net sales {what}; {SHARE_RULE}"


def features_markdown() -> str:
    """Render the feature definitions as the Markdown of ``docs/features.md``.

    Example:
        >>> features_markdown().splitlines()[0]
        '# Customer features'
    """

    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

    def share_text(kind: str, name: str | None, top: str = "") -> str:
        text = share_definition(kind, name, top=top)
        return text.removesuffix(f"; {SHARE_RULE}")

    lines = [
        "# Customer features",
        "",
        "Generated from `basketlens.features.definitions` (the definitions that "
        "`CustomerFeatures.definitions` and `run.json` carry) by `features_markdown()`; "
        "do not edit by hand.",
        "",
        "One row per segmentation unit (`customer_id`: the customer, or the customer group with "
        '`segment_level = "group"`), built from the cleaned lines. Every feature is Float64 '
        "and never inf or NaN: the degenerate cases below have defined values, and any other "
        f"value that cannot be computed is set by one rule: {NON_FINITE_RULE}. `as_of` is the "
        "last date in the lines unless `FeatureOptions.as_of` is given.",
        "",
        "## Core features",
        "",
        "| feature | definition | degenerate case |",
        "|---|---|---|",
    ]
    for name, (text, rule) in CORE_FEATURE_RULES.items():
        lines.append(f"| `{name}` | {esc(text)} | {esc(rule or 'always defined')} |")
    lines += [
        "",
        "## Share columns",
        "",
        "One column per brand and per category among the top N by net sales over all lines "
        "(ties by name; N = `FeatureOptions.top_brands` / `top_categories`, config "
        "`[features]`), plus an `other` column; none of a kind when no line has a value for "
        "it. When total_net_sales is not 0, a customer's shares of one kind sum to 1. "
        "`<slug>` is the name in lower-case ASCII with runs of other characters replaced by "
        "`_`; a slug that repeats an earlier one (or `other`) gets a `_2`, `_3`, … suffix.",
        "",
        "| column | definition | degenerate case |",
        "|---|---|---|",
    ]
    for kind in ("brand", "category"):
        rows = (
            (f"{kind}_share__<slug>", share_text(kind, f"<{kind}>")),
            (f"{kind}_share__other", share_text(kind, None, top="N")),
        )
        for column, text in rows:
            lines.append(f"| `{column}` | {esc(text)} | {esc(SHARE_RULE)} |")
    return "\n".join(lines) + "\n"
