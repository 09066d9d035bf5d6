"""Cast source columns to canonical types: ids to strings, numbers to Float64, dates to Datetime,
flags to Boolean.

Id values that exports write for "nothing" (:data:`MISSING_IDS`: ``NaN``, ``null``, ``N/A``, …)
become null, so cleaning counts their lines as missing ids instead of inventing a customer
called "NaN". String columns holding numbers, dates or flags are parsed with the first
candidate format that reads *every* non-null value; :func:`choose_parsers` finds it (sample
first, then one pass over the whole file) and raises :class:`InputError` naming the file,
column, first bad value and row. A file Polars cannot read raises :class:`FileReadError`
(the reader then names the line at fault).

Example:
    >>> import polars as pl

from basketlens._rowcount import counting
    >>> df = pl.DataFrame({"c": [17850.0, None], "d": ["12/1/2010 8:26", "12/13/2010 18:05"]})
    >>> df.select(id_expr("c", pl.Float64), DATE_PARSERS["%m/%d/%Y %H:%M"]("d")).row(0)
    ('17850', datetime.datetime(2010, 12, 1, 8, 26))
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from basketlens._rowcount import counting
from basketlens.errors import InputError, SchemaError

logger = logging.getLogger(__name__)

Parser = Callable[[str], pl.Expr]

#: Id values that mean "missing" in exports (SQL NULL, pandas NaN, Excel #N/A, a dash), compared
#: after trimming and ignoring case; an empty id is missing too.
MISSING_IDS: tuple[str, ...] = ("nan", "null", "none", "n/a", "#n/a", "-")
#: Flag values (compared after trimming, ignoring case); empty means false.
FLAG_TRUE: tuple[str, ...] = ("true", "t", "yes", "y", "1", "x")
FLAG_FALSE: tuple[str, ...] = ("false", "f", "no", "n", "0")


class FileReadError(InputError):
    """Polars could not read the file (malformed line, truncated data); ``cause`` is its error."""

    def __init__(self, message: str, cause: BaseException) -> None:
        super().__init__(message)
        self.cause = cause


_DT = pl.Datetime("us")
_SAMPLE_ROWS = 2_000
_MAX_FULL_CANDIDATES = 4
_FLOAT_ID = r"^[+-]?\d+\.0+$"


def _clean(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().replace("", None)


def _strptime(fmt: str) -> Parser:
    return lambda col: _clean(col).str.strptime(_DT, fmt, strict=False)


#: Date formats tried on string columns, in order of preference (first that reads all wins).
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y%m%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
)
DATE_PARSERS: dict[str, Parser] = {fmt: _strptime(fmt) for fmt in DATE_FORMATS}
#: Last resort for exports that drop the time at midnight: ISO dates with or without a time.
DATE_PARSERS["ISO date or datetime"] = lambda col: pl.coalesce(
    DATE_PARSERS[f](col) for f in ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d")
)


def _number(decimal_comma: bool) -> Parser:
    def parse(col: str) -> pl.Expr:
        s = _clean(col)
        if decimal_comma:
            s = s.str.replace(",", ".", literal=True)
        x = s.cast(pl.Float64, strict=False)
        return pl.when(x.is_finite()).then(x)

    return parse


#: Number formats tried on string columns: plain ("1234.5"), then decimal comma ("1234,5").
NUMBER_PARSERS: dict[str, Parser] = {"plain": _number(False), "decimal comma": _number(True)}


def _flag(col: str) -> pl.Expr:
    s = pl.col(col).str.strip_chars().str.to_lowercase()
    return (
        pl.when(s.is_in(FLAG_TRUE))
        .then(True)
        .when(s.is_in(FLAG_FALSE) | (s == ""))
        .then(False)
        .otherwise(None)
    )


#: The one way flags are read from text.
FLAG_PARSERS: dict[str, Parser] = {"yes/no": _flag}


def placeholder_expr(col: str) -> pl.Expr:
    """True where a text id is one of :data:`MISSING_IDS` (not merely empty)."""
    s = pl.col(col).cast(pl.String).str.strip_chars().str.to_lowercase()
    return s.is_in(MISSING_IDS).fill_null(False)


def id_expr(col: str, dtype: pl.DataType) -> pl.Expr:
    """An id column as trimmed String; integral floats lose their ``.0`` (17850.0 → "17850");
    empty values and placeholders (:data:`MISSING_IDS`) become null.

    Example:
        >>> df = pl.DataFrame({"c": [" 7 ", "NaN", "#N/A", "null", "-", "", "8.0"]})
        >>> df.select(id_expr("c", pl.String)).to_series().to_list()
        ['7', None, None, None, None, None, '8']
    """
    c = pl.col(col)
    if dtype.is_float():
        c = c.fill_nan(None)
        whole = c.cast(pl.Int64, strict=False).cast(pl.String)
        return pl.when(c == c.round(0)).then(whole).otherwise(c.cast(pl.String))
    if dtype.is_integer():
        return c.cast(pl.String)
    s = c.cast(pl.String).str.strip_chars()
    s = pl.when(s.str.contains(_FLOAT_ID)).then(s.str.replace(r"\.0+$", "")).otherwise(s)
    return pl.when(placeholder_expr(col) | (s == "")).then(None).otherwise(s)


def text_expr(col: str, dtype: pl.DataType) -> pl.Expr:
    """A free-text column as trimmed String, empty → null."""
    return pl.col(col).cast(pl.String).str.strip_chars().replace("", None)


@dataclass(frozen=True)
class ParseTask:
    """A string (or integer-coded) column that must be parsed as ``kind`` ("date"/"number")."""

    field: str
    column: str
    kind: str
    #: expression giving the column as String (integer date codes are cast first)
    as_string: pl.Expr


def typed_expr(field: str, col: str, dtype: pl.DataType, kind: str, file: str) -> pl.Expr | None:
    """Expression for an already typed column, or None when the column needs parsing."""
    c = pl.col(col)
    if kind == "number":
        if dtype.is_numeric():
            x = c.cast(pl.Float64)
            return pl.when(x.is_finite()).then(x)
        if dtype == pl.String:
            return None
    elif kind == "flag":
        if dtype == pl.Boolean:
            return c.fill_null(False)
        if dtype.is_numeric():
            number = c.fill_nan(0) if dtype.is_float() else c
            return (number != 0).fill_null(False)
        if dtype == pl.String:
            return None
    else:
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is not None:
                c = c.dt.replace_time_zone(None)
            return c.cast(_DT)
        if dtype == pl.Date:
            return c.cast(_DT)
        if dtype == pl.String or dtype.is_integer() or dtype.is_float():
            return None
    raise SchemaError(
        f"column {col!r} of {file!r} mapped to {field} has type {dtype}, which cannot be read "
        f"as a {kind}; map another column"
    )


def date_source(col: str, dtype: pl.DataType) -> pl.Expr:
    """A date column as String: integer codes such as 20101201 become "20101201"."""
    c = pl.col(col)
    if dtype.is_float():
        c = c.cast(pl.Int64, strict=False)
    return c.cast(pl.String)


def _parsers(kind: str) -> dict[str, Parser]:
    return {"date": DATE_PARSERS, "flag": FLAG_PARSERS}.get(kind, NUMBER_PARSERS)


def _bad(parser: Parser, col: str) -> pl.Expr:
    return _clean(col).is_not_null() & parser(col).is_null()


def _collect(queries: list[pl.LazyFrame], file: str) -> list[pl.DataFrame]:
    try:
        return pl.collect_all(queries, engine="streaming")
    except (pl.exceptions.PolarsError, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        hint = (
            "; a line has more fields than the header: check the delimiter and quoting"
            if "more fields" in first
            else ""
        )
        raise FileReadError(f"cannot read {file!r}: {first}{hint}", exc) from exc


def _failures(tasks: Mapping[str, ParseTask], plan: Mapping[str, Sequence[str]]) -> list[pl.Expr]:
    """Per column and format: how many non-null values the format cannot read."""
    return [
        _bad(_parsers(tasks[col].kind)[name], col).sum().alias(f"{col}\x00{name}")
        for col, names in plan.items()
        for name in names
    ]


def choose_parsers(
    frame: pl.LazyFrame,
    tasks: Sequence[ParseTask],
    *,
    file: str,
    extra: Sequence[pl.LazyFrame] = (),
    read_all: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, str], int, list[pl.DataFrame]]:
    """Pick a format per task that reads every non-null value of its column.

    ``frame`` must carry ``line_no``. Formats that read a sample of the column are tried on
    the whole column, the preferred one first (plus its day/month swap, to warn about
    ambiguous dates); the others only if it fails. Returns ``(format per column, row count,
    extra results)``: the first full pass also counts the rows and collects the ``extra`` lazy
    queries (sharing the scan). ``read_all`` makes that pass read every column, so that a
    malformed CSV line fails here rather than in a later stage. ``progress`` is told the
    lines read so far during that pass. Raises :class:`InputError` for an unreadable value or
    file.
    """
    by_col = {t.column: t for t in _unique(tasks)}
    staged = frame.with_columns(t.as_string.alias(t.column) for t in by_col.values())
    sample = _collect([staged.select(list(by_col)).head(_SAMPLE_ROWS)], file)[0]
    candidates: dict[str, list[str]] = {}
    for task in by_col.values():
        parsers = _parsers(task.kind)
        counts = sample.select(
            _bad(p, task.column).sum().alias(name) for name, p in parsers.items()
        ).row(0, named=True)
        # a format failing on the sample cannot read every value: only zero-failure ones go on
        ok = [name for name in parsers if counts[name] == 0]
        candidates[task.column] = ok or [min(parsers, key=counts.get)]  # type: ignore[arg-type]
    first = {
        col: [names[0], *(n for n in names[1:] if _swapped(names[0], n))]
        for col, names in candidates.items()
    }
    touch = [pl.sum_horizontal(pl.all().null_count()).alias("\x00nulls")] if read_all else []
    counted = staged if progress is None else counting(staged, progress)
    query = counted.select(pl.len().alias("\x00rows"), *_failures(by_col, first), *touch)
    results = _collect([query, *extra], file)
    row = results[0].row(0, named=True)
    rest = {
        col: [n for n in names if n not in first[col]][:_MAX_FULL_CANDIDATES]
        for col, names in candidates.items()
        if row[f"{col}\x00{names[0]}"] and len(names) > len(first[col])
    }
    if rest:  # the preferred format failed somewhere after the sample: try the others
        row.update(_collect([staged.select(_failures(by_col, rest))], file)[0].row(0, named=True))
    chosen: dict[str, str] = {}
    for col, task in by_col.items():
        failures = {n: row[f"{task.column}\x00{n}"] for n in (*first[col], *rest.get(col, ()))}
        fmt = first_clean_format(task, failures, file)
        if fmt is None:
            best = min(failures, key=failures.__getitem__)
            _raise_bad(staged, task, best, failures[best], file)
        chosen[task.column] = fmt
    return chosen, int(row["\x00rows"]), results[1:]


def first_clean_format(task: ParseTask, failures: Mapping[str, int], file: str) -> str | None:
    """The first format (in the order tried) that reads every value of ``task``'s column, or
    None; warns when a date format also reads with day and month swapped. For both engines.

    Example:
        >>> task = ParseTask("quantity", "Qty", "number", pl.col("Qty"))
        >>> first_clean_format(task, {"1,234.5": 3, "1.234,5": 0}, "sales.csv")
        '1.234,5'
    """
    ok = [name for name, n in failures.items() if n == 0]
    if not ok:
        return None
    if task.kind == "date" and any(_swapped(ok[0], n) for n in ok[1:]):
        logger.warning(
            "%s: dates in column %r read as %s but would also read with day and month "
            "swapped; check the result",
            file,
            task.column,
            ok[0],
        )
    return ok[0]


def _swapped(a: str, b: str) -> bool:
    return a.replace("%m", "\x01").replace("%d", "%m").replace("\x01", "%d") == b


def _unique(tasks: Sequence[ParseTask]) -> list[ParseTask]:
    seen: dict[str, ParseTask] = {}
    for t in tasks:
        seen.setdefault(t.column, t)
    return list(seen.values())


def _raise_bad(staged: pl.LazyFrame, task: ParseTask, best: str, n_bad: int, file: str) -> None:
    parser = _parsers(task.kind)[best]
    first, filled = _collect(
        [
            staged.filter(_bad(parser, task.column)).select("line_no", task.column).head(1),
            staged.select(_clean(task.column).is_not_null().sum()),
        ],
        file,
    )
    line_no, value = first.row(0)
    if task.kind == "number":
        hint = "numbers must look like 1234.5 or 1234,5"
    elif task.kind == "flag":
        hint = "flags must read true/false, yes/no, 1/0, y/n, x, or be empty"
    elif n_bad == filled.item():
        hint = "no value of the column reads as a date in any supported format, e.g. "
        hint += "2010-12-01 08:26:00, 12/1/2010 8:26, 01.12.2010 or 20101201"
    else:
        hint = f"the other values read as {best!r}"
    raise InputError(
        f"cannot read column {task.column!r} of {file!r} ({task.field}) as a {task.kind}: "
        f"value {value!r} at row {line_no + 1} (line_no {line_no}) is not readable "
        f"({n_bad:,} bad value(s); {hint}); fix the data or map another column"
    )


def parse_expr(task: ParseTask, fmt: str, *, source: str | None = None) -> pl.Expr:
    """The parsing expression for ``task`` with the chosen format, reading the String column
    ``source`` (default: the task's own column)."""
    return _parsers(task.kind)[fmt](source or task.column)
