"""Cleaned lines as the recommender and the backtest read them: customer × item purchases.

Neither needs the lines themselves — the recommender trains on the customer × item matrix of
the lines before a cut-off (:meth:`Purchases.matrix`), labels it with what each customer
bought after it (:meth:`Purchases.spend`) and mines its inner rules on a sample of whole
baskets (:meth:`Purchases.basket_sample`); the backtest measures against the spend of its
test period. :class:`Purchases` names those questions; :class:`LinePurchases` answers them
from lines in memory (the local engine), the Spark engine from lines on the cluster
(:mod:`basketlens.spark.purchases`), both with the aggregations of
:mod:`basketlens.opportunities.matrix`.

Example:
    >>> from datetime import datetime
    >>> lines = pl.DataFrame({"unit": ["c1", "c1", "c2"], "item": ["a", "b", "a"],
    ...     "basket": ["1", "2", "3"], "quantity": [1.0, 1.0, 1.0], "net_sales": [2.0, 3.0, 2.0],
    ...     "date": [datetime(2024, 1, d) for d in (1, 9, 9)]})
    >>> p = as_purchases(lines)
    >>> p.matrix(before=datetime(2024, 1, 5)).customers
    ('c1',)
    >>> p.spend(since=datetime(2024, 1, 5)).sort("unit").rows()
    [('c1', 'b', 3.0), ('c2', 'a', 2.0)]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

import polars as pl

from basketlens.opportunities.matrix import CustomerItems, unit_item_sales

__all__ = ["LinePurchases", "Purchases", "as_purchases", "basket_sample_expr"]


def basket_sample_expr(fraction: float, seed: int) -> pl.Expr:
    """True for the lines of a seeded sample of about ``fraction`` of the baskets, whole: a
    basket is in when the seeded hash of its id falls in the first ``fraction`` of the hash
    range. The same baskets are chosen whichever engine (and whichever part of the lines)
    evaluates it.

    Example:
        >>> df = pl.DataFrame({"basket": [str(b) for b in range(1000)]})
        >>> 400 < df.filter(basket_sample_expr(0.5, seed=0)).height < 600
        True
    """
    limit = min(int(fraction * 2**64), 2**64 - 1)
    return pl.col("basket").hash(seed=seed) < pl.lit(limit, pl.UInt64)


class Purchases(ABC):
    """Cleaned lines, as customer × item purchases (see the module docstring)."""

    @property
    @abstractmethod
    def n_lines(self) -> int:
        """Number of lines."""

    @property
    @abstractmethod
    def first_date(self) -> datetime | None:
        """Date of the first line (None without lines)."""

    @property
    @abstractmethod
    def last_date(self) -> datetime | None:
        """Date of the last line (None without lines)."""

    @abstractmethod
    def matrix(self, *, before: datetime | None = None) -> CustomerItems:
        """The customer × item matrix of the lines (dated before ``before`` when given)."""

    @abstractmethod
    def spend(self, *, since: datetime | None = None) -> pl.DataFrame:
        """``(unit, item, net_sales)`` of the lines (dated ``since`` or later when given)."""

    @abstractmethod
    def basket_sample(self, *, before: datetime, limit: int, seed: int) -> pl.DataFrame:
        """The lines dated before ``before`` (at least basket, item and unit), or, when there
        are more than ``limit``, those of a seeded sample of whole baskets of about ``limit``
        lines (:func:`basket_sample_expr`)."""


class LinePurchases(Purchases):
    """:class:`Purchases` of cleaned lines in memory (``CLEAN_SCHEMA``)."""

    def __init__(self, lines: pl.DataFrame) -> None:
        self.lines = lines

    @property
    def n_lines(self) -> int:
        return self.lines.height

    @property
    def first_date(self) -> datetime | None:
        return self.lines["date"].min()  # type: ignore[return-value]

    @property
    def last_date(self) -> datetime | None:
        return self.lines["date"].max()  # type: ignore[return-value]

    def matrix(self, *, before: datetime | None = None) -> CustomerItems:
        lines = self.lines if before is None else self.lines.filter(pl.col("date") < before)
        return CustomerItems.from_lines(lines)

    def spend(self, *, since: datetime | None = None) -> pl.DataFrame:
        lines = self.lines if since is None else self.lines.filter(pl.col("date") >= since)
        return unit_item_sales(lines)

    def basket_sample(self, *, before: datetime, limit: int, seed: int) -> pl.DataFrame:
        lines = self.lines.filter(pl.col("date") < before)
        if lines.height <= limit:
            return lines
        return lines.filter(basket_sample_expr(limit / lines.height, seed))


def as_purchases(lines: pl.DataFrame | Purchases) -> Purchases:
    """``lines`` when it is :class:`Purchases` already, else the :class:`LinePurchases` of
    cleaned lines in memory."""
    return lines if isinstance(lines, Purchases) else LinePurchases(lines)
