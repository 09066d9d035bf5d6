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
    "CALIBRATION_SCHEMA",
    "DEFAULT_METHOD",
    "METHODS",
    "BacktestOptions",
    "BacktestResult",
    "combine",
    "evaluate",
    "origins",
    "resolve_split",
    "split_lines",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BACKTEST_SCHEMA": ".stage",
        "CALIBRATION_SCHEMA": ".measures",
        "DEFAULT_METHOD": ".stage",
        "METHODS": ".stage",
        "BacktestResult": ".stage",
        "combine": ".stage",
        "evaluate": ".stage",
        "origins": ".stage",
        "resolve_split": ".stage",
        "split_lines": ".stage",
    },
)
