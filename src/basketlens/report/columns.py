"""What each column of a run-folder table holds, and how a whole column reads.

* :data:`COLUMN_KINDS` is the one registry that says what a column holds (a count, money over
  the period, money per month, a share, days, …); :func:`column_kind` looks a column up.
* :class:`ColumnFormat` formats every value of a column alike (one number of decimals, from
  :mod:`basketlens.report.formats`) and titles it with its unit ("net sales (GBP,
  2010-12-01 to 2011-12-09)").

Example:
    >>> column_kind("median__total_net_sales").per, column_kind("customer_share").kind
    ('period', 'share')
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from basketlens.report.formats import NumberFormat, decimals_for

__all__ = ["COLUMN_KINDS", "ColumnFormat", "ColumnKind", "column_kind", "plain_words"]


@dataclass(frozen=True)
class ColumnKind:
    """What the values of a column are, and the unit its title names.

    ``kind``: ``count`` (whole numbers), ``money``, ``share`` (0–1, shown as %), ``days``,
    ``number`` (a measure such as lift). ``per``: for money, what the amount covers —
    ``"period"`` (the analysis window, named in the title), ``"per month"``, ``"per basket"``,
    ``"per unit"`` or ``"after the split"`` (backtest). ``pattern`` matches the column name (after a
    ``mean__`` / ``median__`` prefix is removed).
    """

    name: str
    pattern: str
    kind: str
    per: str = ""
    description: str = ""

    def matches(self, column: str) -> bool:
        return re.search(self.pattern, _base(column)) is not None


def _base(column: str) -> str:
    return re.sub(r"^(mean|median|z)__", "", column)


#: What every known column holds, first match wins (one registry for HTML, workbook, terminal).
COLUMN_KINDS: tuple[ColumnKind, ...] = (
    ColumnKind("identifier", r"(_id$|^id$|_ids$|^segment$|^item$|^customer$|^invoice$|^scope$"
               r"|^basket$)", "id", description="an identifier, shown as it is"),
    ColumnKind("share", r"(^|_)(share|support|confidence|coverage|hit_rate|precision|recall)"
               r"($|_|@)", "share", description="a share of baskets or customers, in %"),
    ColumnKind("z", r"^z$", "number", description="standard deviations from the average"),
    ColumnKind("expected_value", r"expected_value$", "money", "per month",
               "expected sales per month from converting the opportunity"),
    ColumnKind("hit_revenue", r"(^|_)revenue$", "money", "after the split",
               "sales of the recommended items after the backtest's split date"),
    ColumnKind("price", r"per_unit$|unit_price$", "money", "per unit", "money per unit"),
    ColumnKind("basket_value", r"basket_value$", "money", "per basket", "money per basket"),
    ColumnKind("net_sales", r"net_sales$|(^|_)value$", "money", "period",
               "sales over the analysis window"),
    ColumnKind("days", r"(_days$|^days_|days_between)", "days", description="days"),
    ColumnKind("count", r"(count|customers|baskets|lines|orders|rows_in|rows_dropped|rows_out"
               r"|^rank$|^hits$|^k$|^recs$|distinct_items|^step$|^n_|quantity$|^size$)", "count",
               description="a whole number of things"),
    ColumnKind("measure", r"(lift|score|silhouette|inertia|loading|pca_|leverage|conviction)",
               "number", description="a measure"),
)  # fmt: skip


def column_kind(column: str) -> ColumnKind | None:
    """The registry entry of ``column`` (None: formatted from its type alone).

    Example:
        >>> column_kind("median__total_net_sales").per, column_kind("customer_share").kind
        ('period', 'share')
    """
    if column.startswith("z__"):
        return next(k for k in COLUMN_KINDS if k.name == "z")
    return next((k for k in COLUMN_KINDS if k.matches(column)), None)


@dataclass(frozen=True)
class ColumnFormat:
    """Formats every value of one column alike, and titles it with its unit.

    Example:
        >>> from basketlens.report.formats import Period
        >>> f = NumberFormat.for_locale("en-GB", currency="GBP",
        ...                             period=Period("2011-01-01", "2011-12-31"))
        >>> c = ColumnFormat.of("median__invoice_count", [28.0, 184.0], f)
        >>> c.text(28.0), c.title()
        ('28', 'median invoice count')
        >>> m = ColumnFormat.of("net_sales", [1500.0, 20.0], f)
        >>> m.text(1500.0), m.title()
        ('£1,500', 'net sales (GBP, 2011-01-01 to 2011-12-31)')
    """

    column: str
    kind: str  # "id" | "count" | "money" | "share" | "days" | "number" | "text"
    decimals: int
    fmt: NumberFormat
    per: str = ""

    @classmethod
    def of(
        cls,
        column: str,
        values: Sequence[Any],
        fmt: NumberFormat,
        *,
        integer: bool | None = None,
    ) -> ColumnFormat:
        """The format of ``column`` given its ``values`` (decimals chosen for the column).

        ``integer``: the column's type is integral (None: decided from the values).
        """
        numbers = [
            float(v)
            for v in values
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        ]
        found = column_kind(column)
        if found is not None and found.kind == "id":
            return cls(column, "id", 0, fmt)
        if not numbers and integer is None:
            return cls(column, "text", 0, fmt)
        whole = integer if integer is not None else all(n.is_integer() for n in numbers)
        whole = whole and all(n.is_integer() for n in numbers)
        kind = found.kind if found else ("count" if whole else "number")
        per = found.per if found else ""
        top = max((abs(n) for n in numbers), default=0.0)
        typical = sorted(abs(n) for n in numbers)[len(numbers) // 2] if numbers else 0.0
        if kind == "share":
            decimals = 1
        elif whole:
            decimals = 0
        elif kind == "money":
            decimals = 0 if top >= 1000 else 2
        elif kind == "count":
            decimals = 1
        else:
            decimals = min(decimals_for(typical or top), 4)
        if whole and kind in ("number", "days"):
            kind = "count" if kind == "number" else kind
        return cls(column, kind, decimals, fmt, per)

    def text(self, value: Any) -> str:
        """The display text of one value."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if not isinstance(value, int | float) or self.kind == "id":
            return str(value)
        if isinstance(value, float) and not math.isfinite(value):
            return ""
        if self.kind == "share":
            return self.fmt.share(value, self.decimals)
        if self.kind == "money":
            return self.fmt.money(value, self.decimals)
        if self.decimals == 0 or float(value).is_integer():
            return self.fmt.integer(value)  # a whole number never shows decimals
        return self.fmt.number(value, self.decimals)

    def title(self, label: str | None = None) -> str:
        """``label`` (default: the column in plain words) with the unit it is in."""
        words = label or plain_words(self.column)
        if self.kind == "money":
            unit = self.fmt.money_unit()
            period = self.fmt.period
            if self.per == "period":
                return f"{words} ({unit}, {period.label})" if period else f"{words} ({unit})"
            return f"{words} ({unit} {self.per})" if self.per else f"{words} ({unit})"
        if self.kind == "share" and "%" not in words:
            return f"{words} (%)"
        if self.kind == "days" and "days" not in words:
            return f"{words} (days)"
        return words


def plain_words(column: str) -> str:
    """A column name in plain words: ``median__invoice_count`` → "median invoice count".

    Example:
        >>> plain_words("brand_share__prix_pro")
        'brand share: prix pro'
    """
    for prefix in ("mean", "median"):
        if column.startswith(prefix + "__"):
            return f"{prefix} {plain_words(column[len(prefix) + 2 :])}"
    return column.replace("__", ": ").replace("_", " ")
