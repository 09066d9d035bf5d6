"""Sums that give the same bits whatever the order or grouping of the values.

A float sum depends on the order it adds in: Polars' streaming engine, another engine's
partitions or a shuffled ledger give other last bits on every run. Cast to fixed point,
values add exactly, so the sum does not depend on the order.

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"x": [0.1, 0.2, 0.3]})
    >>> df.select(fixed_point_sum("x", decimals=9)).item() == df.reverse().select(
    ...     fixed_point_sum("x", decimals=9)).item()
    True
"""

from __future__ import annotations

import polars as pl

__all__ = ["fixed_point_sum"]


def fixed_point_sum(column: str, *, decimals: int) -> pl.Expr:
    """The sum of the Float64 ``column`` in fixed point with ``decimals`` places, as Float64.

    Values that do not fit 38 digits (not finite, or beyond ±10^(38 − decimals)) count as
    missing: a caller that must not lose them checks first.
    """
    return pl.col(column).cast(pl.Decimal(38, decimals), strict=False).sum().cast(pl.Float64)
