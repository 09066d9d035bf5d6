"""Open one input file as a lazy Polars frame with its columns as read (text formats: all String).

CSV (any delimiter, sniffed; encoding sniffed: UTF-8 or UTF-8 with BOM; a file with lines that
are not UTF-8 is repaired line by line into a temporary UTF-8 copy, each such line read as
cp1252 (latin-1 when cp1252 cannot) and named in a warning, so one stray byte does not turn
"Müller" into "MÃ¼ller" everywhere else; ``.csv.gz`` too), Parquet, Excel (calamine engine, a
named sheet) and JSON lines. The format is taken from the extension and verified against the
content (:func:`basketlens.ingest.sniff.detect_format`). Two columns with the same name are an
error naming both; a file Polars cannot read gets an error naming the file and, for text
files, the line (:func:`read_error`).

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sales.csv"
    >>> _ = p.write_text("invoice;item\\n007;A\\n")
    >>> t = read_table(p, role="sales")
    >>> (t.format, t.delimiter, t.frame.collect().row(0))
    ('csv', ';', ('007', 'A'))
"""

from __future__ import annotations

import atexit
import codecs
import csv
import gzip
import hashlib
import io
import itertools
import json
import logging
import os
import shutil
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastexcel
import polars as pl

from basketlens.errors import EmptyInputError, InputError
from basketlens.ingest.sniff import (
    FileScan,
    check_delimiter,
    detect_format,
    normalise_encoding,
    sample_text,
    scan_file,
    sniff_delimiter,
)

logger = logging.getLogger(__name__)

_UTF8 = ("utf-8", "utf-8-sig")
_TMPDIR: Path | None = None


@dataclass(frozen=True)
class RawTable:
    """One input file opened lazily, before any mapping to canonical fields.

    ``rows`` is known when it is cheap (Parquet metadata, Excel read eagerly), else None.
    """

    role: str
    path: Path | str  # a local file, or the label of a remote location (password masked)
    format: str
    frame: pl.LazyFrame
    columns: tuple[str, ...]
    scan: FileScan
    rows: int | None = None
    encoding: str | None = None
    delimiter: str | None = None
    source: Path | None = None  # what Polars reads (a repaired or transcoded copy), if not path


_TMP_PREFIX = "basketlens-ingest-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _tmpdir() -> Path:
    """A private temporary folder removed when the interpreter exits (SIGTERM included, see
    :mod:`basketlens._signals`); folders of killed processes are removed on first use."""
    global _TMPDIR
    if _TMPDIR is None:
        root = Path(tempfile.gettempdir())
        for old in root.glob(f"{_TMP_PREFIX}*-*"):
            pid = old.name[len(_TMP_PREFIX) :].split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)  # left by a process that was killed
        _TMPDIR = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-"))
        atexit.register(shutil.rmtree, _TMPDIR, ignore_errors=True)
    return _TMPDIR


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _chunks_of(fh: Any):
    """Decompressed chunks of an open gzip file."""
    inflate = zlib.decompressobj(wbits=31)
    while chunk := fh.read(1 << 20):
        data = inflate.decompress(chunk)
        while inflate.eof and inflate.unused_data:
            rest = inflate.unused_data
            inflate = zlib.decompressobj(wbits=31)
            data += inflate.decompress(rest)
        yield data


def _raw_chunks(path: Path, gz: bool):
    """Yield the (decompressed) bytes of a file in chunks."""
    with path.open("rb") as fh:
        if gz:
            yield from _chunks_of(fh)
            return
        while chunk := fh.read(1 << 20):
            yield chunk


def _transcode(path: Path, *, gz: bool, encoding: str) -> Path:
    """Write a UTF-8 copy of a text file in ``encoding`` and return its path."""
    fd, name = tempfile.mkstemp(suffix=".csv", dir=_tmpdir())
    out = Path(name)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with open(fd, "wb") as fh:
            for chunk in _raw_chunks(path, gz):
                fh.write(decoder.decode(chunk).encode("utf-8"))
            fh.write(decoder.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError as exc:
        out.unlink(missing_ok=True)
        raise InputError(
            f"file {str(path)!r} cannot be decoded as {encoding}: {exc.reason} at byte "
            f"{exc.start} of a chunk; pass the right encoding (e.g. --encoding latin-1)"
        ) from exc
    logger.info("%s: transcoded from %s to UTF-8 (%s)", path, encoding, out)
    return out


def _legacy(data: bytes) -> str:
    try:  # cp1252 leaves 5 bytes undefined; latin-1 decodes everything
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _legacy_bytes(exc: UnicodeError) -> tuple[str, int]:
    """Decoding error handler: the bytes that are not UTF-8 read as cp1252 (else latin-1)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return _legacy(exc.object[exc.start : exc.end]), exc.end


#: ``bytes.decode("utf-8", REPAIR)``: UTF-8 where valid, cp1252 for the bytes that are not.
REPAIR = "basketlens-cp1252"
codecs.register_error(REPAIR, _legacy_bytes)


def _repair(path: Path, *, gz: bool) -> tuple[Path, str]:
    """A UTF-8 copy of a text file read as UTF-8 where valid and as cp1252 (else latin-1) for
    the bytes that are not; returns the copy and the encoding to report."""
    fd, name = tempfile.mkstemp(suffix=".csv", dir=_tmpdir())
    fixed: list[int] = []
    utf8_seen = False  # non-ASCII text that is valid UTF-8
    line_no = 0
    with open(fd, "wb") as out:
        pending = b""
        for chunk in itertools.chain(_raw_chunks(path, gz), [None]):
            data = pending + (chunk or b"")
            cut = len(data) if chunk is None else data.rfind(b"\n") + 1
            block, pending = data[:cut], data[cut:]
            try:
                block.decode("utf-8")
            except UnicodeDecodeError:
                for raw in block.splitlines(keepends=True):
                    line_no += 1
                    try:
                        raw.decode("utf-8")
                    except UnicodeDecodeError:
                        fixed.append(line_no)
                        raw = raw.decode("utf-8", REPAIR).encode("utf-8")
                    else:
                        utf8_seen = utf8_seen or not raw.isascii()
                    out.write(raw)
            else:
                out.write(block)
                line_no += block.count(b"\n")
                utf8_seen = utf8_seen or not block.isascii()
    shown = ", ".join(f"{n:,}" for n in fixed[:5]) + (", …" if len(fixed) > 5 else "")
    if utf8_seen:
        logger.warning(
            "%s: %d line(s) are not valid UTF-8 (line %s); their invalid bytes were read as "
            "cp1252, everything else as UTF-8 — check those lines, or pass --encoding",
            path,
            len(fixed),
            shown,
        )
        return Path(name), f"utf-8 ({len(fixed)} line(s) cp1252)"
    logger.warning("%s is not valid UTF-8; reading it as cp1252", path)
    return Path(name), "cp1252"


def _duplicate_header(columns: list[str], path: Path, what: str = "file") -> None:
    """Refuse a header naming a column twice (the reader would silently use the first)."""
    names = [c.strip() for c in columns]
    twice = [name for name, n in Counter(names).items() if n > 1 and name]
    if twice:
        positions = [i + 1 for i, n in enumerate(names) if n == twice[0]]
        raise InputError(
            f"{what} {str(path)!r} has {len(positions)} columns named {twice[0]!r} (columns "
            f"{' and '.join(map(str, positions))}); rename or remove all but one"
        )


def _read_csv(path: Path, *, role: str, delimiter: str | None, encoding: str | None) -> RawTable:
    gz = _is_gzip(path)
    enc = normalise_encoding(encoding) if encoding else None
    scan = scan_file(path, check_utf8=enc in (None, *_UTF8), gz=gz)
    if enc in _UTF8 and not scan.utf8:
        raise InputError(
            f"file {str(path)!r} is not valid UTF-8 at line {scan.bad_line:,} although encoding "
            f"{enc!r} was given; fix that line, pass the file's real encoding (e.g. --encoding "
            "cp1252) or leave it to be detected"
        )
    source = path
    if enc is None and scan.utf8:
        head = sample_text(path, gz=gz, encoding="latin-1", n=3)
        enc = "utf-8-sig" if head.startswith("\xef\xbb\xbf") else "utf-8"
    elif enc is None:
        source, enc = _repair(path, gz=gz)
    elif enc not in _UTF8:
        source = _transcode(path, gz=gz, encoding=enc)
    sample = sample_text(source, gz=source is path and gz, encoding="utf-8")
    sep = check_delimiter(delimiter) if delimiter else sniff_delimiter(sample)
    header = next(csv.reader(io.StringIO(sample.lstrip("\ufeff")), delimiter=sep), [])
    _duplicate_header(header, path)
    frame = pl.scan_csv(source, separator=sep, infer_schema=False, encoding="utf8", quote_char='"')
    try:
        columns = tuple(frame.collect_schema().names())
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"cannot read the header of {str(path)!r}: {exc}") from exc
    if not columns or columns == ("",):
        raise EmptyInputError(f"file {str(path)!r} has no header line")
    logger.debug("%s: csv, encoding %s, delimiter %r, columns %s", path, enc, sep, columns)
    return RawTable(role, path, "csv", frame, columns, scan, None, enc, sep, source)


def _read_parquet(path: Path, *, role: str) -> RawTable:
    scan = scan_file(path, check_utf8=False)
    frame = pl.scan_parquet(path)
    try:
        columns = tuple(frame.collect_schema().names())
        rows = int(frame.select(pl.len()).collect().item())
    except pl.exceptions.DuplicateError as exc:
        raise InputError(
            f"parquet file {str(path)!r} names a column twice ({exc}); rename or remove all but one"
        ) from exc
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot read parquet file {str(path)!r}: {exc}") from exc
    return RawTable(role, path, "parquet", frame, columns, scan, rows)


def _read_excel(path: Path, *, role: str, sheet: str | None) -> RawTable:
    scan = scan_file(path, check_utf8=False)
    try:
        names = list(fastexcel.read_excel(str(path)).sheet_names)
    except Exception as exc:  # fastexcel raises its own hierarchy on broken workbooks
        raise InputError(f"cannot open Excel file {str(path)!r}: {exc}") from exc
    if not names:
        raise EmptyInputError(f"Excel file {str(path)!r} has no sheets")
    if sheet is not None and sheet not in names:
        raise InputError(
            f"sheet {sheet!r} not found in {str(path)!r}; its sheets are: "
            + ", ".join(repr(n) for n in names)
            + f"; pass one of them (e.g. --sheet {names[0]!r})"
        )
    name = sheet if sheet is not None else names[0]
    try:
        head = fastexcel.read_excel(str(path)).load_sheet(name, header_row=None, n_rows=1)
        header = [str(v) for v in head.to_polars().row(0) if v is not None] if head.height else []
        df = pl.read_excel(path, sheet_name=name, engine="calamine", infer_schema_length=0)
    except Exception as exc:
        raise InputError(f"cannot read sheet {name!r} of {str(path)!r}: {exc}") from exc
    _duplicate_header(header, path, what=f"sheet {name!r} of Excel file")
    if df.width == 0:
        raise EmptyInputError(f"sheet {name!r} of {str(path)!r} is empty")
    return RawTable(role, path, "excel", df.lazy(), tuple(df.columns), scan, df.height)


def _read_jsonl(path: Path, *, role: str) -> RawTable:
    scan = scan_file(path, check_utf8=True, gz=_is_gzip(path))
    if not scan.utf8:
        raise InputError(f"JSON lines file {str(path)!r} is not valid UTF-8")
    try:
        names = pl.scan_ndjson(path, infer_schema_length=1000).collect_schema().names()
        frame = pl.scan_ndjson(path, schema=dict.fromkeys(names, pl.String))
    except pl.exceptions.PolarsError as exc:
        problem = _jsonl_problem(path) or str(exc)
        raise InputError(f"cannot read JSON lines file {str(path)!r}: {problem}") from exc
    return RawTable(role, path, "jsonl", frame, tuple(names), scan)


def _read_frame(data: Any, *, role: str) -> RawTable:
    """A Polars (eager or lazy) or pandas data frame as an input table, typed as it is.

    The fingerprint hashes the frame's rows, so two runs on equal frames record the same one.
    """
    kind = type(data).__module__.split(".")[0]
    if isinstance(data, pl.LazyFrame):
        frame = data.collect()
    elif isinstance(data, pl.DataFrame):
        frame = data
    elif kind == "pandas" and hasattr(data, "columns"):
        try:
            frame = pl.from_pandas(data, include_index=False)
        except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
            raise InputError(f"cannot convert the {role} pandas frame: {exc}") from exc
    else:
        raise InputError(
            f"{role} must be a file path or a Polars / pandas DataFrame; got {type(data).__name__}"
        )
    if not frame.columns:
        raise EmptyInputError(f"the {role} frame has no columns")
    digest = hashlib.sha256(",".join(frame.columns).encode())
    digest.update(frame.hash_rows(seed=0).to_numpy().tobytes())
    scan = FileScan(
        bytes=int(frame.estimated_size()), fingerprint=f"sha256:{digest.hexdigest()}", utf8=None
    )
    label = Path(f"<{role} {'pandas' if kind == 'pandas' else 'polars'} DataFrame>")
    return RawTable(role, label, "frame", frame.lazy(), tuple(frame.columns), scan, frame.height)


def _csv_problem(table: RawTable) -> str | None:
    """The first line the CSV reader chokes on: more fields than the header, or a quote
    that is never closed (Python's csv module, strict, on the UTF-8 text Polars reads)."""
    source = table.source or table.path
    gz = source == table.path and _is_gzip(source)
    with gzip.open(source, "rb") if gz else source.open("rb") as raw:
        stream = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
        reader = csv.reader(stream, delimiter=table.delimiter or ",", strict=True)
        width = None
        start = 1
        try:
            for record in reader:
                if width is None:
                    width = len(record)
                elif len(record) > width:
                    return (
                        f"line {start:,} has {len(record)} fields, more fields than the header "
                        f"({width}); check the delimiter and quoting of that line"
                    )
                start = reader.line_num + 1
        except csv.Error as exc:
            if "end of data" in str(exc) or "EOF" in str(exc):
                return (
                    f'line {start:,}: a quoted field opens there and is never closed (a stray " '
                    f"in a value?); the file ends inside it at line {reader.line_num:,}"
                )
            return f"line {reader.line_num:,}: {exc}"
    return None


def _jsonl_problem(path: Path) -> str | None:
    """The first line of a JSON lines file that is not one JSON object."""
    with gzip.open(path, "rb") if _is_gzip(path) else path.open("rb") as raw:
        for n, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8", errors="replace"), 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line.rstrip("\r\n"))
            except ValueError as exc:
                what = exc.msg.removesuffix(" at").lower()
                return f"line {n:,} is not valid JSON ({what}, column {exc.colno})"
            if not isinstance(value, dict):
                return f"line {n:,} is not a JSON object (it is a {type(value).__name__})"
    return None


def read_error(table: RawTable, exc: BaseException) -> InputError:
    """An :class:`InputError` for a file Polars could not read, naming the file and (for CSV
    and JSON lines) the first line at fault, found by reading the file again in Python.

    Example:
        >>> raise read_error(table, exc)   # doctest: +SKIP
        basketlens.errors.InputError: cannot read 'sales.csv': line 102: a quoted field ...
    """
    problem = None
    try:
        if table.format == "csv":
            problem = _csv_problem(table)
        elif table.format == "jsonl":
            problem = _jsonl_problem(table.path)
    except (OSError, EOFError, zlib.error) as again:
        problem = f"{type(again).__name__}: {again}"
    if problem is None:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        problem = first[:200]
    return InputError(f"cannot read {table.role} file {str(table.path)!r}: {problem}")


def read_table(
    path: str | Path | pl.DataFrame | pl.LazyFrame | Any,
    *,
    role: str,
    sheet: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> RawTable:
    """Open ``path`` lazily; format detected by extension and verified by content.

    ``sheet`` applies to Excel files, ``delimiter``/``encoding`` to CSV files (both sniffed
    when None). Errors name the file: :class:`InputError`, :class:`EmptyInputError`. A Polars or
    pandas data frame is taken as it is (``sheet``/``delimiter``/``encoding`` do not apply).
    """
    if not isinstance(path, str | Path):
        table = _read_frame(path, role=role)
        if table.rows == 0:
            raise EmptyInputError(f"the {role} frame has columns but no rows")
        return table
    path = Path(path)
    fmt = detect_format(path)
    if sheet is not None and fmt != "excel":
        logger.warning("sheet %r ignored: %s is a %s file, not Excel", sheet, path, fmt)
    if fmt == "csv":
        table = _read_csv(path, role=role, delimiter=delimiter, encoding=encoding)
    elif fmt == "parquet":
        table = _read_parquet(path, role=role)
    elif fmt == "excel":
        table = _read_excel(path, role=role, sheet=sheet)
    else:
        table = _read_jsonl(path, role=role)
    if table.rows == 0:
        raise EmptyInputError(f"{role} file {str(path)!r} has a header but no data rows")
    return table
