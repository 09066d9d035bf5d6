"""Command-line flags generated from the stages' options declarations, shared by every command.

A command declares only what is its own (the sales argument, ``--config``); the flags of the
stages it runs come from :func:`stage_flags`, built from the same :func:`basketlens._params.param`
declarations as the TOML config and the docs — the flag name, the help text, the default and
the accepted values are written once. The command receives a :class:`Flags` object holding the
values the user actually gave, by section and field name.

Example:
    >>> import typer
    >>> from basketlens.segment.options import SegmentOptions
    >>> @stage_flags(SegmentOptions)
    ... def seg(flags: Flags) -> None:
    ...     print(flags.values)
    >>> seg(segment__k=4, segment__k_min=None, segment__k_max=None, segment__k_method=None,
    ...     segment__cap_quantile=None, segment__transform=None, segment__weighting=None,
    ...     segment__features="a,b")
    {'segment': {'k': 4, 'features': ('a', 'b')}}
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from basketlens._params import (
    Boolean,
    Interval,
    Options,
    ParamSpec,
    Registered,
    TextList,
)

_SEP = "__"  # section__field: the Python name of a generated parameter


@dataclass(frozen=True)
class Flags:
    """The stage options the user gave on the command line: ``{section: {field: value}}``."""

    values: dict[str, dict[str, Any]] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """The values given for one section (empty when none)."""
        return dict(self.values.get(name, {}))


@dataclass(frozen=True)
class _Generated:
    parameter: inspect.Parameter
    section: str
    spec: ParamSpec


def _python_type(spec: ParamSpec) -> Any:
    """The Typer type of a flag (always optional: None means "not given")."""
    c = spec.constraint
    assert spec.cli is not None
    if spec.cli.is_switch:
        return bool
    if isinstance(c, Boolean):
        return bool | None
    if isinstance(c, Interval):  # "none" switches an optional number off: read as text
        return str | None if c.allow_none else (int if c.type is int else float) | None
    if (
        isinstance(c, TextList | Registered)
        and spec.cli.split is None
        and (isinstance(c, TextList) or c.many)
    ):
        return list[str] | None
    return str | None


def _optional_metavar(spec: ParamSpec) -> str | None:
    """``<int>`` / ``<float>`` for a number that "none" switches off (read as text, so
    Typer would show ``<str>``; the help line says "or none", and a wider placeholder would
    cut the longest flag names in ``--help``)."""
    c = spec.constraint
    if isinstance(c, Interval) and c.allow_none:
        return f"<{'int' if c.type is int else 'float'}>"
    return None


def _help(spec: ParamSpec, default: Any) -> str:
    """The flag's help: its own words for a switch, else the declaration's with the default
    on this command and the accepted values (escaped: ``[`` is Rich markup)."""
    assert spec.cli is not None
    if spec.cli.is_switch:
        text = spec.cli.help or spec.help
    else:
        shown = spec if default == spec.default else _with_default(spec, default)
        text = shown.help_line()
        if spec.cli.split:
            text += f" Separate values with {spec.cli.split!r}."
        elif isinstance(spec.constraint, TextList):
            text += " Repeatable."
    return text.replace("[", "\\[")


def _with_default(spec: ParamSpec, default: Any) -> ParamSpec:
    return ParamSpec(spec.name, default, spec.constraint, spec.help, spec.cli, None)


def generated_parameters(
    sections: Iterable[type[Options]],
    *,
    defaults: Mapping[str, Options] | None = None,
    exclude: Iterable[str] = (),
    rename: Mapping[str, tuple[str, ...]] | None = None,
) -> list[_Generated]:
    """One Typer parameter per declared flag of ``sections``.

    ``defaults`` gives the command's default options per section (a run profile may differ
    from the class defaults); ``exclude`` names fields ("section.field" or "field") to leave
    out; ``rename`` gives a field other flag names on this command.
    """
    skipped = set(exclude)
    renamed = dict(rename or {})
    out: list[_Generated] = []
    for cls in sections:
        base = (defaults or {}).get(cls.section) or cls()
        for spec in cls.specs():
            key = f"{cls.section}.{spec.name}"
            if spec.cli is None or key in skipped or spec.name in skipped:
                continue
            names = renamed.get(key) or renamed.get(spec.name) or spec.cli.names
            option = typer.Option(
                *names,
                help=_help(spec, getattr(base, spec.name)),
                rich_help_panel=cls.panel or None,
                show_default=False,
                metavar=spec.cli.metavar or _optional_metavar(spec),
            )
            default = False if spec.cli.is_switch else None
            parameter = inspect.Parameter(
                f"{cls.section}{_SEP}{spec.name}",
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=Annotated[_python_type(spec), option],
            )
            out.append(_Generated(parameter, cls.section, spec))
    return out


def _value(spec: ParamSpec, raw: Any) -> tuple[bool, Any]:
    """(given?, value) of one generated parameter."""
    cli = spec.cli
    assert cli is not None
    if cli.is_switch:
        return (True, cli.sets) if raw else (False, None)
    if raw is None:
        return False, None
    if cli.split is not None:
        parts = tuple(p.strip() for p in str(raw).split(cli.split) if p.strip())
        return True, parts
    if isinstance(raw, list):
        return (True, tuple(raw)) if raw else (False, None)
    if isinstance(spec.constraint, Interval) and isinstance(raw, str):
        return True, _optional_number(spec, raw)
    return True, raw


def _optional_number(spec: ParamSpec, raw: str) -> int | float | str | None:
    """The number of an optional numeric flag, None for "none"; other text is passed on as
    given, for the options' validation to refuse by name."""
    assert isinstance(spec.constraint, Interval)
    text = raw.strip()
    if text.lower() == "none":
        return None
    try:
        return spec.constraint.type(text)
    except ValueError:
        return raw


def stage_flags(
    *sections: type[Options],
    defaults: Mapping[str, Options] | None = None,
    exclude: Iterable[str] = (),
    rename: Mapping[str, tuple[str, ...]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a command: add the flags of ``sections``; pass what was given as ``flags``.

    The decorated function must take a keyword parameter ``flags: Flags``; its other
    parameters stay as declared (Typer reads the combined signature).
    """
    generated = generated_parameters(sections, defaults=defaults, exclude=exclude, rename=rename)
    by_name = {g.parameter.name: g for g in generated}

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        own = inspect.signature(func)
        namespace = inspect.unwrap(func).__globals__
        kept = [
            p.replace(annotation=eval(p.annotation, namespace))  # annotations of our own commands
            if isinstance(p.annotation, str)
            else p
            for p in own.parameters.values()
            if p.name != "flags"
        ]

        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            values: dict[str, dict[str, Any]] = {}
            for name in list(kwargs):
                gen = by_name.get(name)
                if gen is None:
                    continue
                given, value = _value(gen.spec, kwargs.pop(name))
                if given:
                    values.setdefault(gen.section, {})[gen.spec.name] = value
            return func(*args, **kwargs, flags=Flags(values))

        params = [*kept, *(g.parameter for g in generated)]
        command.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {
            **{p.name: p.annotation for p in params},
            "return": own.return_annotation,
        }
        del command.__wrapped__  # Typer must read the combined signature, not the original
        return command

    return decorate


# ------------------------------------------------------------------ shared hand-written options
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="basketlens.toml with the same settings (see docs/config.md); flags override it.",
        rich_help_panel="Input",
    ),
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        "-m",
        help="Map a canonical field to your column, repeatable: "
        "--map invoice=SalesDocumentNumber --map quantity=SalesQuantity. Fields: "
        "invoice, date, customer, customer_name, customer_group, item, item_name, "
        "quantity, unit_price, net_sales, brand, category.",
        rich_help_panel="Input",
    ),
]
SalesArg = Annotated[
    str | None,
    typer.Argument(
        help="Sales lines: CSV (any delimiter, .gz ok), Parquet, Excel or JSON lines — a path, "
        "s3://bucket/key, or postgresql://user@host/db?table=schema.sales (or with --query). "
        "May come from --config instead.",
        show_default=False,
    ),
]
