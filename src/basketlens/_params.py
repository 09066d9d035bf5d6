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

import inspect
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any, ClassVar, Self

from basketlens._constraints import (  # noqa: F401 - the declarations' vocabulary, re-exported
    Boolean,
    ByteSize,
    Closed,
    Constraint,
    Interval,
    OneOf,
    Registered,
    Text,
    TextList,
    parse_bytes,
    unknown_message,
)
from basketlens.errors import ParameterError


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
