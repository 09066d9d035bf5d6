r"""Reasons a rep can say aloud, and money with its currency and period.

Each recommendation names its strongest evidence (the group that lifted the ranker's score
most, among those that have something to quote) with the numbers behind it, counted in what
they count — customers, or orders for mined rules:

* ``rule`` — the strongest rule, in the words of
  :func:`basketlens.opportunities.reasons.rule_reason` (orders);
* ``segment_copurchase`` / ``copurchase`` — "Of the 40 'Premium delis' customers who buy
  Brie, 62% also buy Baguette; this customer buys Brie and has never bought Baguette.";
* ``segment`` — "41% of the 312 'Premium delis' customers buy Baguette; …";
* ``popularity`` — "Baguette is bought by 38% of all 4,338 customers, 120 of them in the last
  30 days; …".

Names come from the data and are inserted as plain text (renderers escape them).

Example:
    >>> text = copurchase_reason(share=0.62, base=40, antecedent="Brie", item="Baguette",
    ...                          segment_label="Premium delis")
    >>> print(*text.split("; "), sep=";\n")
    Of the 40 'Premium delis' customers who buy Brie, 62% also buy Baguette;
    this customer buys Brie and has never bought Baguette.
    >>> money(41.6, "£"), money(1234.5, "EUR"), money(3.0, None)
    ('£42', '1,234 EUR', "3 (ledger's currency)")
    >>> value_text(0.31, 135.2, 41.9, "£", 3)
    '≈ £42 over the next 3 months (31% chance of buying; £135 if bought)'
"""

from __future__ import annotations

from collections.abc import Iterable

from basketlens.opportunities.reasons import percent

__all__ = [
    "copurchase_reason",
    "money",
    "period_text",
    "popularity_reason",
    "segment_reason",
    "value_text",
    "value_texts",
]


def _count(n: float) -> str:
    return f"{round(n):,}"


def copurchase_reason(
    *, share: float, base: float, antecedent: str, item: str, segment_label: str | None = None
) -> str:
    """Co-purchase share among the customers (of a segment) who buy ``antecedent``."""
    who = f"'{segment_label}' customers" if segment_label else "customers"
    return (
        f"Of the {_count(base)} {who} who buy {antecedent}, {percent(share)} also buy {item}; "
        f"this customer buys {antecedent} and has never bought {item}."
    )


def segment_reason(*, share: float, size: int, segment_label: str, item: str) -> str:
    """How many customers of the segment buy the item."""
    return (
        f"{percent(share)} of the {_count(size)} '{segment_label}' customers buy {item}; "
        "this customer has never bought it."
    )


def popularity_reason(
    *, share: float, customers: int, recent: int, recent_days: int, item: str
) -> str:
    """How many customers buy the item, overall and recently."""
    lately = f", {_count(recent)} of them in the last {recent_days} days" if recent > 0 else ""
    return (
        f"{item} is bought by {percent(share)} of all {_count(customers)} customers{lately}; "
        "this customer has never bought it."
    )


def money(amount: float, currency: str | None) -> str:
    """Whole units with thousands separators and the currency: a symbol before, a code after.

    Without a currency the amount says it is in the ledger's currency.
    """
    text = f"{amount:,.0f}"
    if not currency:
        return f"{text} (ledger's currency)"
    if len(currency) <= 2 and not currency.isalpha():
        return f"{currency}{text}"
    return f"{text} {currency}"


def period_text(months: float) -> str:
    """``3`` → ``"the next 3 months"``, ``1`` → ``"the next month"``, ``3.3`` → ``"the next 3.3
    months"``."""
    if abs(months - 1.0) < 1e-9:
        return "the next month"
    shown = f"{months:.0f}" if abs(months - round(months)) < 0.05 else f"{months:.1f}"
    return f"the next {shown} months"


def value_text(
    probability: float, spend: float, value: float, currency: str | None, months: float
) -> str:
    """``"≈ £42 over the next 3 months (31% chance of buying; £135 if bought)"``."""
    return (
        f"≈ {money(value, currency)} over {period_text(months)} "
        f"({percent(probability)} chance of buying; {money(spend, currency)} if bought)"
    )


def value_texts(
    probability: Iterable[float],
    spend: Iterable[float],
    value: Iterable[float],
    currency: str | None,
    months: float,
) -> list[str]:
    """:func:`value_text` of each recommendation, the currency and period worded once.

    Example:
        >>> value_texts([0.31, 0.004], [135.2, 10.0], [41.9, 0.04], "£", 3)[1]
        '≈ £0 over the next 3 months (0.4% chance of buying; £10 if bought)'
    """
    if not currency:
        before, after = "", " (ledger's currency)"
    elif len(currency) <= 2 and not currency.isalpha():
        before, after = currency, ""
    else:
        before, after = "", f" {currency}"
    period = period_text(months)
    return [
        f"≈ {before}{v:,.0f}{after} over {period} "
        f"({percent(p)} chance of buying; "
        f"{before}{s:,.0f}{after} if bought)"
        for p, s, v in zip(probability, spend, value, strict=True)
    ]
