"""Look at a file's bytes: format by extension *and* content, text encoding, CSV delimiter, hash.

Nothing here builds a frame; :mod:`basketlens.ingest.readers` uses these answers to choose and
configure a Polars reader.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sales.csv"
    >>> _ = p.write_text("invoice;item\\n1;A\\n")
    >>> detect_format(p)
    'csv'
    >>> sniff_delimiter("invoice;item\\n1;A\\n")
    ';'
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

from basketlens.errors import EmptyInputError, InputError, ParameterError

logger = logging.getLogger(__name__)

#: Extensions recognised for each format (a trailing ``.gz`` is allowed for text formats).
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "csv": (".csv", ".tsv", ".tab", ".txt", ".psv"),
    "parquet": (".parquet", ".pq"),
    "excel": (".xlsx", ".xlsm", ".xlsb", ".xls"),
    "jsonl": (".jsonl", ".ndjson"),
}
FORMATS: tuple[str, ...] = tuple(EXTENSIONS)
_CHUNK = 1 << 20
_SAMPLE = 1 << 16
_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class FileScan:
    """What one streaming pass over a file found.

    ``utf8`` is None when it was not checked (binary formats); ``bad_line`` is the 1-based line
    of the first byte that is not UTF-8 (None when valid or not checked).
    """

    bytes: int
    fingerprint: str
    utf8: bool | None
    bad_line: int | None = None


def _describe(head: bytes) -> str:
    """Say what a file seems to be from its first bytes (``"parquet"``, ``"gzip"``, …)."""
    if not head:
        return "empty"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "zip (e.g. xlsx)"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "OLE2 (old .xls)"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if b"\x00" in head[:4096]:
        return "binary"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "jsonl"
    if text.startswith(b"["):
        return "json array"
    return "text"


def _read_head(path: Path, n: int = 4096) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def _gunzip_head(path: Path, n: int = _SAMPLE) -> bytes:
    """First ``n`` decompressed bytes of a gzip file, or raise InputError."""
    dec = zlib.decompressobj(wbits=31)
    out = b""
    try:
        with path.open("rb") as fh:
            while len(out) < n:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    break
                out += dec.decompress(chunk, n - len(out))
    except zlib.error as exc:
        raise InputError(f"file {str(path)!r} is not valid gzip: {exc}") from exc
    return out


def split_extension(path: Path) -> tuple[str, bool]:
    """Return ``(extension, gzipped)``: ``"data.csv.gz"`` → ``(".csv", True)``."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    if gz:
        suffixes = suffixes[:-1]
    return (suffixes[-1] if suffixes else ""), gz


def _content_format(kind: str) -> str | None:
    return {
        "parquet": "parquet",
        "zip (e.g. xlsx)": "excel",
        "OLE2 (old .xls)": "excel",
        "text": "csv",
        "jsonl": "jsonl",
    }.get(kind)


def detect_format(path: Path) -> str:
    """Return ``"csv"``, ``"parquet"``, ``"excel"`` or ``"jsonl"`` after checking the content.

    The extension says what the file should be; the first bytes must agree, otherwise an
    :class:`InputError` names the file and what it seems to be. Unknown extensions are
    decided by content alone. Empty files raise :class:`EmptyInputError`.
    """
    if not path.is_file():
        if path.is_dir():
            what = f"{str(path)!r} is a folder, not a file"
        else:
            what = f"file not found: {str(path)!r}"
        raise InputError(f"{what}; check the path (relative ones start from the current folder)")
    head = _read_head(path)
    ext, gz = split_extension(path)
    kind = _describe(head)
    if kind == "empty" or not head.strip():
        raise EmptyInputError(
            f"file {str(path)!r} is empty; export the data again (a header line and data rows)"
        )
    if gz or kind == "gzip":
        if kind != "gzip":
            raise InputError(
                f"file {str(path)!r} has a .gz extension but is not gzip-compressed "
                f"(it seems to be {kind}); rename it or compress it"
            )
        inner = _gunzip_head(path, 4096)
        if not inner.strip():
            raise EmptyInputError(f"file {str(path)!r} is empty (after decompression)")
        kind = _describe(inner)
    expected = next((f for f, exts in EXTENSIONS.items() if ext in exts), None)
    if expected in ("parquet", "excel") and gz:
        raise InputError(f"file {str(path)!r}: gzip-compressed {expected} files are not supported")
    seen = _content_format(kind)
    if expected is None:
        if seen is None:
            raise InputError(
                f"cannot tell the format of {str(path)!r} (extension {ext or 'none'!r}, "
                f"content seems to be {kind}); use .csv, .parquet, .xlsx or .jsonl"
            )
        logger.info("%s: unknown extension %r, reading it as %s by content", path, ext, seen)
        return seen
    if expected == "csv" and kind == "jsonl":
        return "jsonl" if ext == ".txt" else _mismatch(path, expected, kind)
    if seen != expected:
        _mismatch(path, expected, kind)
    return expected


def _mismatch(path: Path, expected: str, kind: str) -> str:
    raise InputError(
        f"file {str(path)!r} has a {expected} extension but its content seems to be {kind}; "
        f"fix the extension or export the file again"
    )


def normalise_encoding(encoding: str) -> str:
    """Return Python's canonical codec name or raise ParameterError."""
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError) as exc:
        raise ParameterError(
            f"encoding must be a known text encoding such as 'utf-8' or 'cp1252'; got {encoding!r}"
        ) from exc


def scan_file(path: Path, *, check_utf8: bool, gz: bool = False) -> FileScan:
    """Stream the file once: size, ``sha256:<hex>`` of its bytes, and (optionally) whether the
    (decompressed) content is valid UTF-8 and the line of the first invalid byte.

    A gzip file that ends mid-stream raises :class:`InputError` naming the file and the last
    complete line (Polars would report "unexpected end of file" without either).
    """
    sha = hashlib.sha256()
    size = 0
    decoder = codecs.getincrementaldecoder("utf-8")() if check_utf8 else None
    inflate = zlib.decompressobj(wbits=31) if gz else None
    ok: bool | None = True if check_utf8 else None
    lines = 0  # newlines in the (decompressed) data checked so far
    bad_line: int | None = None
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
            data = chunk
            if inflate is not None:
                try:
                    data = inflate.decompress(chunk)
                    while inflate.eof and inflate.unused_data:  # concatenated gzip members
                        rest = inflate.unused_data
                        inflate = zlib.decompressobj(wbits=31)
                        data += inflate.decompress(rest)
                except zlib.error as exc:
                    raise InputError(
                        f"file {str(path)!r} is not valid gzip after line {lines + 1:,} of its "
                        f"data ({exc}); copy or export it again"
                    ) from exc
            if ok:
                try:
                    decoder.decode(data)  # type: ignore[union-attr]
                except UnicodeDecodeError as exc:
                    ok = False
                    bad_line = lines + data.count(b"\n", 0, max(exc.start, 0)) + 1
            if decoder is not None or inflate is not None:
                lines += data.count(b"\n")
    if inflate is not None and not inflate.eof:
        raise InputError(
            f"file {str(path)!r} is a truncated gzip file: its data stops in the middle, after "
            f"line {lines + 1:,}; copy or export it again (was the download complete?)"
        )
    if ok and decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            ok, bad_line = False, lines + 1
    return FileScan(size, f"sha256:{sha.hexdigest()}", ok, bad_line)


def sample_text(path: Path, *, gz: bool, encoding: str, n: int = _SAMPLE) -> str:
    """The first ``n`` bytes of the (decompressed) file decoded with ``encoding``."""
    raw = _gunzip_head(path, n) if gz else _read_head(path, n)
    return raw.decode(encoding, errors="replace")


def sniff_delimiter(sample: str) -> str:
    """Pick the delimiter among ``, ; TAB |`` that splits the sample into the most columns,
    consistently on every complete line; ``,`` when nothing splits the header.

    Example:
        >>> sniff_delimiter("a\\tb\\tc\\n1\\t2,5\\t3\\n")
        '\\t'
    """
    lines = sample.splitlines()
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last line
    lines = [ln for ln in lines[:200] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", (0, 0)
    for delim in _DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
        except csv.Error:
            continue
        widths = [len(r) for r in rows if r]
        if not widths or widths[0] < 2:
            continue
        consistent = sum(w == widths[0] for w in widths)
        score = (consistent, widths[0])
        if score > best_score:
            best, best_score = delim, score
    return best


def check_delimiter(delimiter: str) -> str:
    """Validate a user-given delimiter (``"\\t"`` and ``"tab"`` mean TAB)."""
    if delimiter in ("\\t", "tab", "TAB"):
        return "\t"
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"':
        raise ParameterError(
            f"delimiter must be a single character such as ',', ';' or '\\t'; got {delimiter!r}"
        )
    return delimiter
