"""Declarative parameter checks that produce messages naming the parameter, rule and value.

Example:
    >>> check_interval("min_support", 0.5, low=0.0, high=1.0, closed="right")
    0.5
    >>> check_interval("min_support", 1.5, low=0.0, high=1.0, closed="right")
    Traceback (most recent call last):
    ...
    basketlens.errors.ParameterError: min_support must be in (0, 1]; got 1.5
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any, Literal

from basketlens.errors import ParameterError

Closed = Literal["both", "left", "right", "neither"]


def _fmt(x: float | None, default: str) -> str:
    if x is None:
        return default
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


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
    kind = "an int" if integer else "a number"
    left = "[" if closed in ("both", "left") and low is not None else "("
    right = "]" if closed in ("both", "right") and high is not None else ")"
    interval = f"{left}{_fmt(low, '-inf')}, {_fmt(high, 'inf')}{right}"
    if isinstance(value, bool) or not isinstance(value, Integral if integer else Real):
        raise ParameterError(f"{name} must be {kind} in {interval}; got {value!r}")
    if isinstance(value, float) and math.isnan(value):
        raise ParameterError(f"{name} must be {kind} in {interval}; got nan")
    ok_low = low is None or (value >= low if left == "[" else value > low)
    ok_high = high is None or (value <= high if right == "]" else value < high)
    if not (ok_low and ok_high):
        raise ParameterError(f"{name} must be in {interval}; got {value!r}")
    return value


def check_option(name: str, value: Any, options: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``options``, else raise ParameterError."""
    opts = list(options)
    if value not in opts:
        listed = ", ".join(repr(o) for o in opts)
        raise ParameterError(f"{name} must be one of {listed}; got {value!r}")
    return value
