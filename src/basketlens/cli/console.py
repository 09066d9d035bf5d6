"""Terminal presentation for the CLI: error handling, stage progress and the run summary.

Example:
    >>> from basketlens.cli.console import parse_pairs
    >>> parse_pairs(["invoice=SalesDocumentNumber"], "--map")
    {'invoice': 'SalesDocumentNumber'}
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from basketlens.errors import BasketlensError, ParameterError
from basketlens.textsafe import terminal_text
from basketlens.uris import RedactingFilter, redact

if TYPE_CHECKING:
    from basketlens.pipeline import RunResult

err_console = Console(stderr=True)
out_console = Console()
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """Options of the whole command line (``basketlens --debug …``), kept in the click context."""

    debug: bool = False


def debug_enabled(ctx: typer.Context | None) -> bool:
    """True when ``--debug`` was given to ``basketlens`` (kept in the root context's ``obj``)."""
    state = ctx.find_root().obj if ctx is not None else None
    return isinstance(state, CliState) and state.debug


def handle_errors(func: F) -> F:
    """Turn any error into one red line and exit 1 (the traceback only with --debug).

    A :class:`BasketlensError` is shown as is; any other exception (a Polars error, an
    ``OSError`` such as permission denied or disk full) as its type and first line, with a hint
    to rerun with ``--debug``. The command declares ``ctx: typer.Context`` to see ``--debug``.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = debug_enabled(kwargs.get("ctx"))
        try:
            return func(*args, **kwargs)
        except BasketlensError as exc:
            if debug:
                raise
            # data in a message never drives the tty; no secret reaches it
            message = escape(terminal_text(redact(str(exc))))
            err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
            raise typer.Exit(code=1) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(code=130) from None
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
            raise  # Typer's own control flow and usage errors
        except Exception as exc:  # a library we call failed: polars, OSError, MemoryError, …
            if debug:
                raise
            err_console.print(
                f"[bold red]error:[/] {escape(terminal_text(redact(foreign_error_message(exc))))}",
                soft_wrap=True,
            )
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def foreign_error_message(exc: BaseException) -> str:
    """One line for an exception basketlens did not raise on purpose, with what to try.

    Example:
        >>> print(foreign_error_message(OSError(28, "No space left on device")))
        ... # doctest: +NORMALIZE_WHITESPACE
        OSError: [Errno 28] No space left on device (check the path, its permissions and the
        free disk space; rerun with --debug for the traceback)
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else "(no message)"
    if len(lines) > 1:
        text += " …"
    if isinstance(exc, MemoryError):
        hint = "not enough memory: try a smaller ledger or a larger --min-support; "
    elif isinstance(exc, OSError):
        hint = "check the path, its permissions and the free disk space; "
    else:
        hint = ""
    return f"{type(exc).__name__}: {text} ({hint}rerun with --debug for the traceback)"


def setup_logging(verbose: int) -> None:
    """Route library logging to stderr: warnings by default, info with -v, debug with -vv."""
    from rich.logging import RichHandler

    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = RichHandler(console=err_console, show_path=False, show_time=False)
    handler.addFilter(RedactingFilter())  # no password in a log line, whatever logged it
    root = logging.getLogger("basketlens")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def parse_pairs(values: list[str] | None, option: str) -> dict[str, str]:
    """Parse repeated ``key=value`` options into a dict, naming the option on a bad entry."""
    pairs: dict[str, str] = {}
    for raw in values or []:
        key, sep, value = raw.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ParameterError(
                f"{option} expects FIELD=COLUMN (e.g. invoice=InvoiceNo); got {raw!r}"
            )
        pairs[key.strip()] = value.strip()
    return pairs


class RichProgress:
    """Shows each pipeline stage with a spinner while it runs and its time when done."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or err_console
        self._status: Any = None

    def stage_started(self, stage: str, description: str) -> None:
        self._status = self.console.status(f"[cyan]{stage}[/]: {escape(description)}…")
        self._status.start()

    def stage_failed(self, stage: str) -> None:
        if self._status is not None:
            self._status.stop()
        self.console.print(f"[red]✗[/] [bold]{stage}[/]", highlight=False)

    def stage_finished(self, stage: str, seconds: float, detail: str) -> None:
        if self._status is not None:
            self._status.stop()
        self.console.print(
            f"[green]✓[/] [bold]{stage:<13}[/] {seconds:7.2f}s  {escape(detail)}", highlight=False
        )


def print_summary(result: RunResult, console: Console | None = None) -> None:
    """Print the key numbers of a run: rows, customers, k, segments with personas, rules."""
    console = console or out_console
    analysis = result.analysis
    rows = analysis.info.get("rows", {})
    seg = analysis.info.get("segmentation", {})
    console.print()
    console.print(
        f"[bold]Lines[/] read {rows.get('lines_read', 0):,}, kept {rows.get('lines_kept', 0):,}"
        f" · [bold]customers[/] {rows.get('customers', 0):,} · [bold]baskets[/] "
        f"{rows.get('baskets', 0):,} · [bold]items[/] {rows.get('items', 0):,}"
    )
    console.print(f"[bold]Segments[/] k={seg.get('k')} (silhouette {seg.get('silhouette', 0):.3f})")
    table = Table(show_edge=False, header_style="bold")
    for column in ("segment", "persona", "customers", "share", "revenue share"):
        table.add_column(column, justify="left" if column == "persona" else "right")
    rule_counts = _rule_counts(analysis.rules)
    if rule_counts:
        table.add_column("rules", justify="right")
    for row in analysis.segments.iter_rows(named=True):
        cells = [
            str(row["segment"]),
            escape(terminal_text(str(row["segment_name"]))),
            f"{row['customers']:,}",
            f"{row['customer_share']:.1%}",
            f"{row['revenue_share']:.1%}",
        ]
        if rule_counts:
            cells.append(f"{rule_counts.get(str(row['segment']), 0):,}")
        table.add_row(*cells)
    console.print(table)
    if rule_counts:
        console.print(f"[bold]Rules[/] over all baskets: {rule_counts.get('all', 0):,}")
    if result.out_dir is not None:
        console.print(f"[bold]Outputs[/] in {escape(str(result.out_dir))}")
    for where in result.published:
        console.print(f"[bold]Published[/] to {escape(where)}", soft_wrap=True)


def _rule_counts(rules: Any) -> dict[str, int]:
    if rules is None:
        return {}
    counts = rules.group_by("scope").len()
    return dict(zip(counts["scope"].to_list(), counts["len"].to_list(), strict=True))
