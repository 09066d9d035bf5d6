"""Backtest: fit before a date, measure the recommendations after it.

Example:
    >>> from basketlens.backtest import BacktestOptions, run_backtest
    >>> result = run_backtest(lines, RunConfig(backtest=BacktestOptions(split="2011-09-01")))  # doctest: +SKIP
"""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.backtest.options import BacktestOptions

__all__ = [
    "BACKTEST_SCHEMA",
    "METHODS",
    "BacktestOptions",
    "BacktestResult",
    "resolve_split",
    "run_backtest",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BACKTEST_SCHEMA": ".stage",
        "METHODS": ".stage",
        "BacktestResult": ".stage",
        "resolve_split": ".stage",
        "run_backtest": ".stage",
    },
)
