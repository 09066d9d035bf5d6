"""Options of the backtest: where to split and what to measure (the ``[backtest]`` section).

Example:
    >>> BacktestOptions(split="2011-09-01").validate().split
    '2011-09-01'
    >>> BacktestOptions(split="2011-09-01", holdout_months=3).validate()
    Traceback (most recent call last):
    ...
    basketlens.errors.ParameterError: give one of split (a date) and holdout_months, not both
"""

from __future__ import annotations

from dataclasses import dataclass

from basketlens._params import Interval, Options, Text, param
from basketlens.errors import ParameterError


@dataclass(frozen=True)
class BacktestOptions(Options):
    """Fit before ``split`` (or before the last ``holdout_months``), measure after it."""

    section = "backtest"
    panel = "Backtest"

    split: str | None = param(
        None,
        Text(allow_none=True),
        "Fit on lines before this date, e.g. 2011-09-01.",
        cli="--split",
    )
    holdout_months: int | None = param(
        None,
        Interval(int, 1, allow_none=True),
        "Backtest on the last N months (instead of a split date), e.g. 3.",
        cli="--holdout-months",
    )
    top_n: int = param(5, Interval(int, 1), "Items recommended per customer.", cli=("--top", "-n"))
    seed: int = param(
        0, Interval(int, 0), "Seed of the random baseline and the bootstrap.", cli="--seed"
    )
    rolling: int = param(
        1,
        Interval(int, 1, 24),
        "Rolling origin: evaluate at N splits, each --step-months before the last, with test "
        "periods of the same length.",
        cli="--rolling",
    )
    step_months: int = param(
        1, Interval(int, 1, 24), "Months between rolling-origin splits.", cli="--step-months"
    )
    bootstrap: int = param(
        1000,
        Interval(int, 0, 100_000),
        "Customer resamples for the 95% interval of each hit rate (0: none).",
        cli="--bootstrap",
    )

    def _check_together(self) -> None:
        if self.split is not None and self.holdout_months is not None:
            raise ParameterError("give one of split (a date) and holdout_months, not both")
