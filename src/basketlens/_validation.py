"""Parameter checks for code that validates one value at a time (estimators' guts, helpers).

They are thin wrappers over the declarative constraints of :mod:`basketlens._params`, so a
message reads the same wherever a value is checked.

Example:
    >>> check_interval("min_support", 0.5, low=0.0, high=1.0, closed="right")
    0.5
    >>> check_interval("min_support", 1.5, low=0.0, high=1.0, closed="right")
    Traceback (most recent call last):
    ...
    basketlens.errors.ParameterError: min_support must be in (0, 1]; got 1.5
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from basketlens._params import Closed, Interval, OneOf


def check_interval(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    closed: Closed = "both",
    integer: bool = False,
) -> Any:
    """Return ``value`` if it is a number inside the interval, else raise ParameterError."""
    return Interval(int if integer else float, low, high, closed).check(name, value)


def check_option(name: str, value: Any, options: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``options``, else raise ParameterError."""
    return OneOf(tuple(options)).check(name, value)
