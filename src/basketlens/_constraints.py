"""The constraints a declared parameter can carry (the ``constraint`` of
:func:`basketlens._params.param`): what values it accepts, how it says so in ``--help`` and
``docs/config.md``, and the error naming the parameter, the rule and the value.

Standard library only, like :mod:`basketlens._params`.

Example:
    >>> Interval(float, 0, 1, closed="right").check("min_support", 0.5)
    0.5
    >>> OneOf(("holm", "bh")).describe()
    'one of holm, bh'
"""

from __future__ import annotations

import difflib
import importlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal

from basketlens.errors import ParameterError

__all__ = [
    "Boolean",
    "ByteSize",
    "Closed",
    "Constraint",
    "Interval",
    "OneOf",
    "Registered",
    "Text",
    "TextList",
    "parse_bytes",
    "unknown_message",
]

Closed = Literal["both", "left", "right", "neither"]


class Constraint:
    """What values a parameter accepts; ``check`` raises :class:`ParameterError`."""

    allow_none: bool = False

    def check(self, name: str, value: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def coerce(self, value: Any) -> Any:
        """Turn a TOML/CLI value into the field's type (lists become tuples)."""
        return value


def _fmt(x: float | None, default: str) -> str:
    if x is None:
        return default
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


@dataclass(frozen=True)
class Interval(Constraint):
    """A number (``int`` or ``float``) in an interval, like scikit-learn's ``Interval``.

    Example:
        >>> Interval(float, 0, 1, closed="right").check("min_support", 1.5)
        Traceback (most recent call last):
        ...
        basketlens.errors.ParameterError: min_support must be in (0, 1]; got 1.5
    """

    type: type
    low: float | None = None
    high: float | None = None
    closed: Closed = "both"
    allow_none: bool = False

    @property
    def interval(self) -> str:
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        return f"{left}{_fmt(self.low, '-inf')}, {_fmt(self.high, 'inf')}{right}"

    def describe(self) -> str:
        kind = "an int" if self.type is int else "a number"
        return f"{kind} in {self.interval}" + (" or none" if self.allow_none else "")

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.allow_none:
            return value
        integer = self.type is int
        kind = "an int" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, Integral if integer else Real):
            raise ParameterError(f"{name} must be {self.describe()}; got {value!r}")
        if isinstance(value, float) and math.isnan(value):
            raise ParameterError(f"{name} must be {kind} in {self.interval}; got nan")
        closed_low = self.closed in ("both", "left")
        closed_high = self.closed in ("both", "right")
        ok_low = self.low is None or (value >= self.low if closed_low else value > self.low)
        ok_high = self.high is None or (value <= self.high if closed_high else value < self.high)
        if not (ok_low and ok_high):
            raise ParameterError(f"{name} must be in {self.interval}; got {value!r}")
        return value

    def coerce(self, value: Any) -> Any:
        # TOML writes 1 for 1.0; a float parameter accepts an integer value
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value


_BYTE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_bytes(text: str) -> int | None:
    """``"512M"`` → 536870912; binary units K, M, G, T (``"2GiB"``, ``"2gb"``, ``"2G"`` alike);
    None for text that is not a size.

    Example:
        >>> parse_bytes("1.5G"), parse_bytes("4096"), parse_bytes("lots")
        (1610612736, 4096, None)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if match is None:
        return None
    return int(float(match.group(1)) * _BYTE_UNITS[match.group(2).lower()])


@dataclass(frozen=True)
class ByteSize(Constraint):
    """A size in bytes: an int, or text with a binary unit such as ``"512M"`` or ``"2G"``.

    Example:
        >>> ByteSize().coerce("2G")
        2147483648
        >>> ByteSize().check("max_memory", "2 lots")
        Traceback (most recent call last):
        ...
        basketlens.errors.ParameterError: max_memory must be a size such as 512M or 2G; got '2 lots'
    """

    low: int = 1
    allow_none: bool = False

    def describe(self) -> str:
        return "a size such as 512M or 2G" + (" or none" if self.allow_none else "")

    def coerce(self, value: Any) -> Any:
        if isinstance(value, str):
            parsed = parse_bytes(value)
            return value if parsed is None else parsed
        return value

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.allow_none:
            return value
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise ParameterError(f"{name} must be a size such as 512M or 2G; got {value!r}")
        if value < self.low:
            raise ParameterError(f"{name} must be at least {self.low} bytes; got {value!r}")
        return value


@dataclass(frozen=True)
class OneOf(Constraint):
    """One of a fixed set of strings.

    Example:
        >>> OneOf(("invoice", "customer_day")).check("basket_by", "week")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        basketlens.errors.ParameterError: basket_by must be one of 'invoice', ...; got 'week'
    """

    options: tuple[str, ...]
    allow_none: bool = False

    def describe(self) -> str:
        return "one of " + ", ".join(self.options) + (" or none" if self.allow_none else "")

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.allow_none:
            return value
        if value not in self.options:
            listed = ", ".join(repr(o) for o in self.options)
            raise ParameterError(f"{name} must be one of {listed}; got {value!r}")
        return value


@dataclass(frozen=True)
class Boolean(Constraint):
    """True or False."""

    allow_none: bool = False

    def describe(self) -> str:
        return "true or false"

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.allow_none:
            return value
        if not isinstance(value, bool):
            raise ParameterError(f"{name} must be True or False; got {value!r}")
        return value


@dataclass(frozen=True)
class Text(Constraint):
    """A non-empty string (a path, a name)."""

    allow_none: bool = False

    def describe(self) -> str:
        return "a text" + (" or none" if self.allow_none else "")

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.allow_none:
            return value
        if not isinstance(value, str) or not value.strip():
            raise ParameterError(f"{name} must be a non-empty text; got {value!r}")
        return value


@dataclass(frozen=True)
class TextList(Constraint):
    """A tuple of strings (a list in TOML, repeated or comma-separated flags on the CLI)."""

    allow_none: bool = False
    choices: tuple[str, ...] | None = None

    def describe(self) -> str:
        what = "a list of strings"
        if self.choices:
            what = "a list of: " + ", ".join(self.choices)
        return what + (" or none" if self.allow_none else "")

    def coerce(self, value: Any) -> Any:
        if isinstance(value, list):
            return tuple(value)
        return value

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.allow_none:
            return value
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ParameterError(f"{name} must be a list of strings; got {value!r}")
        bad = [v for v in value if not isinstance(v, str)]
        if bad:
            raise ParameterError(f"{name} must contain only strings; got {bad[0]!r}")
        if self.choices is not None:
            unknown = [v for v in value if v not in self.choices]
            if unknown:
                close = difflib.get_close_matches(unknown[0], self.choices, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ParameterError(
                    f"{name} has unknown value {unknown[0]!r}; valid: "
                    f"{', '.join(self.choices)}{hint}"
                )
        return value


@dataclass(frozen=True)
class Registered(Constraint):
    """Names from a registry (measures, features), given as ``"module:attribute"``.

    The registry module is imported when a value is checked, not when the options are
    declared, so declaring options stays free of the numerical stack.

    Example:
        >>> Registered("basketlens.mining.measures:MEASURES").check("sort_by", "lifft")
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        basketlens.errors.ParameterError: sort_by has unknown value 'lifft'; valid: ...
    """

    registry: str
    many: bool = False
    allow_none: bool = False

    def names(self) -> list[str]:
        module, _, attribute = self.registry.partition(":")
        return list(getattr(importlib.import_module(module), attribute))

    def describe(self) -> str:
        what = "names" if self.many else "a name"
        return f"{what} from {self.registry.partition(':')[2].lower()}" + (
            " or none" if self.allow_none else ""
        )

    def coerce(self, value: Any) -> Any:
        return tuple(value) if self.many and isinstance(value, list) else value

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.allow_none:
            return value
        values = value if self.many else [value]
        if self.many and (isinstance(value, str) or not isinstance(value, Sequence)):
            raise ParameterError(f"{name} must be a list of names; got {value!r}")
        valid = self.names()
        for v in values:
            if v not in valid:
                raise ParameterError(unknown_message(f"{name} has unknown value", str(v), valid))
        return value


def unknown_message(what: str, name: str, valid: Sequence[str]) -> str:
    """``"<what> 'x'; valid: a, b; did you mean 'a'?"``.

    Example:
        >>> unknown_message("unknown key", "k_maxx", ["k", "k_max"])
        "unknown key 'k_maxx'; valid: k, k_max; did you mean 'k_max'?"
    """
    close = difflib.get_close_matches(name, list(valid), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{what} {name!r}; valid: {', '.join(valid)}{hint}"
