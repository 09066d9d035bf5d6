"""Terminal presentation for the CLI: error handling, stage progress and the run summary.

On a terminal, each stage shows a live line — a bar with counts where the work is countable
(scopes mined, charts rendered) — and its time when done. When the output is not a terminal
(a pipe, a file, CI logs) nothing is animated, coloured or wrapped: every line is printed
whole, tables as plain aligned columns.

Example:
    >>> from basketlens.cli.console import parse_pairs
    >>> parse_pairs(["invoice=SalesDocumentNumber"], "--map")
    {'invoice': 'SalesDocumentNumber'}
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from basketlens.errors import BasketlensError, ParameterError
from basketlens.textsafe import terminal_text
from basketlens.uris import RedactingFilter, redact

if TYPE_CHECKING:
    from basketlens.pipeline import RunResult

#: Line width when the output is not a terminal: long enough that nothing is wrapped.
PIPED_WIDTH = 10_000
#: A log record's line when stderr is not a terminal.
PLAIN_LOG_FORMAT = "%(levelname)-8s %(message)s"


class CliConsole(Console):
    """A Rich console that prints plain, unwrapped lines when its output is not a terminal.

    Rich wraps at 80 columns (or the terminal's width, read from another stream) when output
    is piped; a file or a pipe should get each line whole, so that ``grep`` and logs see it.

    Example:
        >>> import io
        >>> c = CliConsole(file=io.StringIO())
        >>> c.print("x" * 120); len(c.file.getvalue().splitlines()[0])
        120
    """

    @property
    def size(self) -> ConsoleDimensions:
        size = Console.size.fget(self)  # type: ignore[attr-defined]
        if not self.is_terminal and self._width is None:
            return ConsoleDimensions(PIPED_WIDTH, size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if not self.is_terminal:
            kwargs.setdefault("soft_wrap", True)
        super().print(*objects, **kwargs)


err_console = CliConsole(stderr=True)
out_console = CliConsole()
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
    """Route library logging to stderr: warnings by default, info with -v, debug with -vv.

    On a terminal Rich lays the records out; piped or redirected, each record is one plain
    line (Rich would pad every line to the piped console's width).
    """
    from rich.logging import RichHandler

    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler: logging.Handler
    if err_console.is_terminal:
        handler = RichHandler(console=err_console, show_path=False, show_time=False)
    else:
        handler = logging.StreamHandler(err_console.file)
        handler.setFormatter(logging.Formatter(PLAIN_LOG_FORMAT))
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
    """Shows each pipeline stage while it runs and its time when done.

    On a terminal: a spinner, then a bar with counts once the stage reports them
    (``stage_progress``: scopes mined, charts rendered). Not on a terminal: only the finished
    stages, one plain line each.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or err_console
        self._live: Progress | None = None
        self._task: Any = None

    def _stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def stage_started(self, stage: str, description: str) -> None:
        self._stop()
        if not self.console.is_terminal:
            return
        self._live = Progress(
            SpinnerColumn(),
            TextColumn("[cyan]{task.fields[stage]}[/]: {task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._task = self._live.add_task(escape(description), total=None, stage=stage, count="")
        self._live.start()

    def stage_progress(self, stage: str, done: int, total: int | None, unit: str) -> None:
        """``done`` of ``total`` ``unit`` (e.g. 3 of 11 charts) of the running stage."""
        if self._live is None:
            return
        count = f"{done:,}/{total:,} {unit}" if total else f"{done:,} {unit}"
        self._live.update(self._task, completed=done, total=total, count=count)

    def stage_failed(self, stage: str) -> None:
        self._stop()
        self.console.print(f"[red]✗[/] [bold]{stage}[/]", highlight=False)

    def stage_finished(self, stage: str, seconds: float, detail: str) -> None:
        self._stop()
        self.console.print(
            f"[green]✓[/] [bold]{stage:<13}[/] {seconds:7.2f}s  {escape(detail)}", highlight=False
        )


def print_rows(
    console: Console,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    left: Sequence[int] = (1,),
) -> None:
    """A table: Rich's on a terminal, plain aligned columns otherwise (``left``: the indexes
    of the left-aligned columns, text; the others are numbers)."""
    if console.is_terminal:
        table = Table(show_edge=False, header_style="bold")
        for i, column in enumerate(columns):
            table.add_column(column, justify="left" if i in left else "right")
        for row in rows:
            table.add_row(*(escape(terminal_text(c)) for c in row))
        console.print(table)
        return
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    for line in (columns, *rows):
        cells = [
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        console.print(escape(terminal_text("  ".join(cells).rstrip())), highlight=False)


def print_summary(result: RunResult, console: Console | None = None) -> None:
    """Print the key numbers of a run — lines, customers, baskets, segments with personas,
    rules — then where the report is and the three things to look at first in it."""
    from basketlens.report import formats
    from basketlens.report.render import number_format

    console = console or out_console
    fmt = number_format(result.analysis, result.config.report)
    with formats.using(fmt):
        _summary_lines(console, result, fmt)
        _where_to_look(console, result)


def _summary_lines(console: Console, result: RunResult, fmt: Any) -> None:
    from basketlens.report import formats, insights

    analysis = result.analysis
    rows = analysis.info.get("rows", {})
    seg = analysis.info.get("segmentation", {})
    n = fmt.integer
    console.print()
    period = formats.Period.from_info(analysis.info)
    console.print(
        f"[bold]Sales lines[/] read {n(rows.get('lines_read', 0))}, kept "
        f"{n(rows.get('lines_kept', 0))} · [bold]customers[/] {n(rows.get('customers', 0))} · "
        f"[bold]baskets[/] {n(rows.get('baskets', 0))} · [bold]items[/] "
        f"{n(rows.get('items', 0))}" + (f" · {period.label}" if period else ""),
        highlight=False,
    )
    silhouette = seg.get("silhouette")
    console.print(
        f"[bold]Segments[/] k={seg.get('k')}"
        + (f" (silhouette {fmt.number(silhouette, 3)})" if silhouette is not None else ""),
        highlight=False,
    )
    rule_counts = _rule_counts(analysis.rules)
    money = f"net sales ({fmt.money_unit()})"
    columns = ["segment", "persona", "customers", "share of customers", money, "share of sales"]
    if rule_counts:
        columns.append("rules")
    table_rows = []
    for row in analysis.segments.sort("segment").iter_rows(named=True):
        cells = [
            str(row["segment"]),
            str(row["segment_name"]),
            n(row["customers"]),
            fmt.share(row["customer_share"], 1),
            fmt.money(row.get("net_sales"), 0),
            fmt.share(row["revenue_share"], 1),
        ]
        if rule_counts:
            cells.append(n(rule_counts.get(str(row["segment"]), 0)))
        table_rows.append(cells)
    print_rows(console, columns, table_rows)
    if rule_counts:
        console.print(
            f"[bold]Rules[/] over all customers' baskets: {n(rule_counts.get('all', 0))}",
            highlight=False,
        )
    for note in insights.data_notes(analysis):
        console.print(f"[yellow]note:[/] {escape(terminal_text(note))}", highlight=False)


def _where_to_look(console: Console, result: RunResult) -> None:
    """The last lines: the report's path (or the folder's) and what to look at first."""
    from basketlens.report import insights

    for where in result.published:
        console.print(f"[bold]Published[/] to {escape(where)}", soft_wrap=True, highlight=False)
    html = result.report.html if result.report is not None else None
    if html is None or result.out_dir is None:
        if result.out_dir is not None:
            console.print(f"[bold]Outputs[/] in {escape(str(result.out_dir))}", highlight=False)
        return
    console.print(f"[bold]Report[/] {escape(str(html.resolve()))}", highlight=False)
    console.print("[bold]Look first at[/]", highlight=False)
    for i, item in enumerate(insights.look_first(result.analysis), start=1):
        console.print(
            f"  {i}. {escape(item.title)} (#{item.anchor}): {escape(terminal_text(item.text))}",
            highlight=False,
        )


def _rule_counts(rules: Any) -> dict[str, int]:
    if rules is None:
        return {}
    counts = rules.group_by("scope").len()
    return dict(zip(counts["scope"].to_list(), counts["len"].to_list(), strict=True))
