"""Open one input file as a lazy Polars frame with its columns as read (text formats: all String).

CSV (any delimiter, sniffed; encoding sniffed: UTF-8, UTF-8 with BOM, else cp1252/latin-1
transcoded to a temporary UTF-8 copy; ``.csv.gz`` too), Parquet, Excel (calamine engine, a
named sheet) and JSON lines. The format is taken from the extension and verified against the
content (:func:`basketlens.ingest.sniff.detect_format`).

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
import hashlib
import logging
import shutil
import tempfile
import zlib
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


def _tmpdir() -> Path:
    """A private temporary folder removed when the interpreter exits."""
    global _TMPDIR
    if _TMPDIR is None:
        _TMPDIR = Path(tempfile.mkdtemp(prefix="basketlens-ingest-"))
        atexit.register(shutil.rmtree, _TMPDIR, ignore_errors=True)
    return _TMPDIR


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _raw_chunks(path: Path, gz: bool):
    """Yield the (decompressed) bytes of a file in chunks."""
    inflate = zlib.decompressobj(wbits=31) if gz else None
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            if inflate is None:
                yield chunk
                continue
            data = inflate.decompress(chunk)
            while inflate.eof and inflate.unused_data:
                rest = inflate.unused_data
                inflate = zlib.decompressobj(wbits=31)
                data += inflate.decompress(rest)
            yield data


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


def _choose_encoding(path: Path, scan: FileScan, gz: bool) -> str:
    if scan.utf8:
        head = sample_text(path, gz=gz, encoding="latin-1", n=3)
        return "utf-8-sig" if head.startswith("\xef\xbb\xbf") else "utf-8"
    try:  # cp1252 leaves 5 bytes undefined; latin-1 decodes everything
        for chunk in _raw_chunks(path, gz):
            chunk.decode("cp1252")
        enc = "cp1252"
    except UnicodeDecodeError:
        enc = "latin-1"
    logger.warning("%s is not valid UTF-8; reading it as %s", path, enc)
    return enc


def _read_csv(path: Path, *, role: str, delimiter: str | None, encoding: str | None) -> RawTable:
    gz = _is_gzip(path)
    enc = normalise_encoding(encoding) if encoding else None
    scan = scan_file(path, check_utf8=enc in (None, *_UTF8), gz=gz)
    if enc is None:
        enc = _choose_encoding(path, scan, gz)
    elif enc in _UTF8 and not scan.utf8:
        raise InputError(
            f"file {str(path)!r} is not valid UTF-8 although encoding {enc!r} was given; "
            f"pass its real encoding (e.g. --encoding cp1252) or leave it to be detected"
        )
    sep = (
        check_delimiter(delimiter)
        if delimiter
        else sniff_delimiter(sample_text(path, gz=gz, encoding=enc))
    )
    source: Path = path if enc in _UTF8 else _transcode(path, gz=gz, encoding=enc)
    frame = pl.scan_csv(source, separator=sep, infer_schema=False, encoding="utf8", quote_char='"')
    try:
        columns = tuple(frame.collect_schema().names())
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot read the header of {str(path)!r}: {exc}") from exc
    if not columns or columns == ("",):
        raise EmptyInputError(f"file {str(path)!r} has no header line")
    logger.debug("%s: csv, encoding %s, delimiter %r, columns %s", path, enc, sep, columns)
    return RawTable(role, path, "csv", frame, columns, scan, None, enc, sep)


def _read_parquet(path: Path, *, role: str) -> RawTable:
    scan = scan_file(path, check_utf8=False)
    frame = pl.scan_parquet(path)
    try:
        columns = tuple(frame.collect_schema().names())
        rows = int(frame.select(pl.len()).collect().item())
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
        df = pl.read_excel(path, sheet_name=name, engine="calamine", infer_schema_length=0)
    except Exception as exc:
        raise InputError(f"cannot read sheet {name!r} of {str(path)!r}: {exc}") from exc
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
        raise InputError(f"cannot read JSON lines file {str(path)!r}: {exc}") from exc
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
