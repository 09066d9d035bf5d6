"""Declarative parameters: one declaration gives the default, the constraint, the help text,
the command-line flag and the config key of every option of every stage.

Each stage owns a frozen dataclass of options (``CleaningOptions``, ``SegmentOptions``, …)
whose fields are declared with :func:`param`. From that single declaration:

* :meth:`Options.validate` checks every value (``min_support must be in (0, 1]; got 1.5``)
  — the run configuration validates every section before any data is read;
* :func:`basketlens.cli.options` builds the Typer flags (help text with default and bounds);
* :func:`basketlens.config.config_markdown` documents the TOML layout.

This module imports only the standard library, so the CLI can build its flags without
loading Polars or scikit-learn.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Demo(Options):
    ...     section = "demo"
    ...     k: int | None = param(None, Interval(int, 2, None, allow_none=True),
    ...                           "Number of segments.", cli="--k")
    >>> Demo(k=3).validate().k
    3
    >>> Demo(k=1).validate()
    Traceback (most recent call last):
    ...
    basketlens.errors.ParameterError: k must be in [2, inf); got 1
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from numbers import Integral, Real
from typing import Any, ClassVar, Literal, Self

from basketlens.errors import ParameterError

Closed = Literal["both", "left", "right", "neither"]


# --------------------------------------------------------------------------- constraints
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
            raise ParameterError(f"{name} must be {kind} in {self.interval}; got {value!r}")
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


# --------------------------------------------------------------------------- declarations
@dataclass(frozen=True)
class CliFlag:
    """How a parameter appears on the command line.

    ``names``: the flag(s), e.g. ``("--k",)`` or ``("--log-transform/--no-log-transform",)``.
    ``sets``: for a one-way switch (``--keep-duplicates``), the value the flag sets.
    ``split``: for a list parameter given as one comma-separated value (``--features a,b``).
    ``metavar``: the placeholder shown in ``--help``.
    ``help``: what a one-way switch does, in its own words.
    """

    names: tuple[str, ...]
    sets: Any = MISSING
    split: str | None = None
    metavar: str | None = None
    help: str | None = None  # a switch's own help ("Keep exact duplicate lines.")

    @property
    def is_switch(self) -> bool:
        return self.sets is not MISSING


@dataclass(frozen=True)
class ParamSpec:
    """Everything declared about one parameter (read from the dataclass field)."""

    name: str
    default: Any
    constraint: Constraint
    help: str
    cli: CliFlag | None
    default_text: str | None  # how the default reads in help ("chosen automatically")

    def default_words(self) -> str:
        if self.default_text is not None:
            return self.default_text
        value = self.default
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, tuple):
            return ", ".join(map(str, value)) if value else "none"
        return str(value)

    def help_line(self) -> str:
        """Help text with the default and the accepted values (CLI and docs)."""
        return f"{self.help} Default: {self.default_words()}. [{self.constraint.describe()}]"


def param(
    default: Any,
    constraint: Constraint,
    help: str,
    *,
    cli: str | tuple[str, ...] | None = None,
    sets: Any = MISSING,
    split: str | None = None,
    metavar: str | None = None,
    flag_help: str | None = None,
    default_text: str | None = None,
) -> Any:
    """Declare an option field: default, constraint, one-line help and optional CLI flag.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class O(Options):
        ...     section = "o"
        ...     top_n: int = param(5, Interval(int, 1), "Items per customer.", cli="--top-n")
        >>> O.specs()[0].help_line()
        'Items per customer. Default: 5. [an int in [1, inf)]'
    """
    flag = None
    if cli is not None:
        names = (cli,) if isinstance(cli, str) else tuple(cli)
        flag = CliFlag(names=names, sets=sets, split=split, metavar=metavar, help=flag_help)
    spec = {
        "constraint": constraint,
        "help": help,
        "cli": flag,
        "default_text": default_text,
    }
    return field(default=default, metadata={"param": spec})


class Options:
    """Base of every stage's frozen options dataclass.

    Subclasses set ``section`` (the TOML table name) and declare fields with :func:`param`;
    cross-field rules go in :meth:`_check_together`.
    """

    section: ClassVar[str] = ""
    panel: ClassVar[str] = ""  # the group of flags in ``--help``

    @classmethod
    def specs(cls) -> list[ParamSpec]:
        """The declared parameters, in field order."""
        out = []
        for f in fields(cls):  # type: ignore[arg-type]
            meta = f.metadata.get("param")
            if meta is None:
                continue
            out.append(ParamSpec(name=f.name, default=f.default, **meta))
        return out

    @classmethod
    def spec(cls, name: str) -> ParamSpec:
        for s in cls.specs():
            if s.name == name:
                return s
        raise KeyError(name)

    def validate(self) -> Self:
        """Check every value against its declared constraint, then the cross-field rules."""
        for s in self.specs():
            s.constraint.check(s.name, getattr(self, s.name))
        self._check_together()
        return self

    def _check_together(self) -> None:
        """Rules that involve several parameters (override in subclasses)."""

    def updated(self, values: Mapping[str, Any], *, source: str = "") -> Self:
        """A copy with ``values`` replacing fields; unknown names raise with a suggestion.

        Values are coerced to the field types (TOML lists to tuples, ints to floats) but
        not validated; call :meth:`validate`.

        Example:
            >>> from basketlens.segment.options import SegmentOptions
            >>> SegmentOptions().updated({"k": 4}).k
            4
        """
        specs = {s.name: s for s in self.specs()}
        changes: dict[str, Any] = {}
        for key, value in values.items():
            if key not in specs:
                where = f"{source}: " if source else ""
                raise ParameterError(unknown_message(f"{where}unknown key", key, sorted(specs)))
            changes[key] = specs[key].constraint.coerce(value)
        return replace(self, **changes)  # type: ignore[type-var]

    def as_dict(self) -> dict[str, Any]:
        """``{name: value}`` of the declared parameters (for run.json and estimators)."""
        return {s.name: getattr(self, s.name) for s in self.specs()}

    def given(self) -> Iterator[tuple[str, Any]]:
        """(name, value) of the parameters that differ from their defaults."""
        for s in self.specs():
            value = getattr(self, s.name)
            if value != s.default:
                yield s.name, value


def unknown_message(what: str, name: str, valid: Sequence[str]) -> str:
    """``"<what> 'x'; valid: a, b; did you mean 'a'?"``.

    Example:
        >>> unknown_message("unknown key", "k_maxx", ["k", "k_max"])
        "unknown key 'k_maxx'; valid: k, k_max; did you mean 'k_max'?"
    """
    close = difflib.get_close_matches(name, list(valid), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{what} {name!r}; valid: {', '.join(valid)}{hint}"


def keyword_init(options_type: type[Options]) -> Any:
    """An ``__init__`` that stores the parameters of ``options_type`` as attributes.

    Lets a scikit-learn style estimator take exactly the parameters its options dataclass
    declares — same names, same defaults — without repeating them: the generated function
    has an explicit keyword-only signature, which ``get_params``/``clone`` read.

    Example:
        >>> import inspect
        >>> from basketlens.segment.options import SegmentOptions
        >>> init = keyword_init(SegmentOptions)
        >>> str(inspect.signature(init)).startswith("(self, *, features=None, k=None")
        True
    """
    specs = options_type.specs()
    names = [s.name for s in specs]

    def __init__(self: Any, **params: Any) -> None:
        unknown = [p for p in params if p not in names]
        if unknown:
            raise TypeError(
                f"{type(self).__name__}() got an unexpected keyword argument {unknown[0]!r}"
            )
        for s in specs:
            setattr(self, s.name, params.get(s.name, s.default))

    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [
        inspect.Parameter(s.name, inspect.Parameter.KEYWORD_ONLY, default=s.default) for s in specs
    ]
    __init__.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    __init__.__doc__ = f"Store the parameters of :class:`{options_type.__name__}`."
    return __init__
