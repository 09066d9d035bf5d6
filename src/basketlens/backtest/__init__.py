"""Backtest: fit before a date, measure the recommendations after it.

Example:
    >>> from basketlens.pipeline import run_backtest
    >>> result = run_backtest(config)  # doctest: +SKIP
"""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.backtest.options import BacktestOptions

__all__ = [
    "BACKTEST_SCHEMA",
    "METHODS",
    "BacktestOptions",
    "BacktestResult",
    "evaluate",
    "resolve_split",
    "split_lines",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BACKTEST_SCHEMA": ".stage",
        "METHODS": ".stage",
        "BacktestResult": ".stage",
        "evaluate": ".stage",
        "resolve_split": ".stage",
        "split_lines": ".stage",
    },
)
