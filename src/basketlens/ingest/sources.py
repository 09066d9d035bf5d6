"""Open a sales, item or customer table wherever it lives: a local file or data frame, an
object (or a set of Parquet objects) in an S3-compatible store, or a PostgreSQL table or query.

A remote table is copied once into a private local folder — an object as it is, a query's
rows streamed batch by batch into a Parquet *spool* file — and opened there by
:func:`~basketlens.ingest.readers.read_table`. So layout detection, column mapping, type
coercion and the cleaning account are exactly those of files; every later pass reads one
consistent snapshot (the query runs once); and memory holds one Arrow batch at a time, never
a second full copy of the table. The table's ``path`` is the location with its password
masked, which is what messages and ``run.json`` show.

Example:
    >>> t = open_source("postgresql://etl@db/erp?table=erp.sales", role="sales")  # doctest: +SKIP
    >>> t.format, t.rows                                                          # doctest: +SKIP
    ('postgresql', 541909)
    >>> t = open_source("s3://acme/ledger/2024/", role="sales")   # Parquet parts as one table
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import logging
import re
import shutil
import tempfile
from contextlib import closing
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from basketlens.errors import BasketlensError, EmptyInputError, InputError, ParameterError
from basketlens.ingest.readers import RawTable, read_table
from basketlens.ingest.sniff import FileScan
from basketlens.stores import postgres, s3
from basketlens.uris import PostgresLocation, S3Location, parse_location

log = logging.getLogger(__name__)

__all__ = ["PARQUET_SUFFIXES", "glob_regex", "open_source", "spool_query"]

#: Object names read as Parquet when a prefix or a pattern names several objects.
PARQUET_SUFFIXES = (".parquet", ".pq")
_CHUNK = 1 << 20
_SPOOL: Path | None = None
_COUNTER = itertools.count()


def _spool_dir() -> Path:
    """A new private folder (under one removed when the interpreter exits)."""
    global _SPOOL
    if _SPOOL is None:
        _SPOOL = Path(tempfile.mkdtemp(prefix="basketlens-sources-"))
        atexit.register(shutil.rmtree, _SPOOL, ignore_errors=True)
    folder = _SPOOL / f"{next(_COUNTER):04d}"
    folder.mkdir()
    return folder


def open_source(
    source: str | Path | Any,
    *,
    role: str,
    query: str | None = None,
    sheet: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> RawTable:
    """Open ``source`` — a path, ``s3://…``, ``postgresql://…`` or a data frame — lazily.

    ``query`` (``--query``) gives the SQL of a ``postgresql://`` source named without
    ``?table=``/``?query=``. ``sheet``/``delimiter``/``encoding`` apply to Excel and CSV files,
    local or in an object store. Errors name the location with its password masked.
    """
    loc = parse_location(source) if isinstance(source, str) else source
    if query is not None and not isinstance(loc, PostgresLocation):
        shown = getattr(loc, "label", loc) if isinstance(loc, S3Location | Path) else "a frame"
        raise ParameterError(f"--query applies to a postgresql:// {role} source; got {shown}")
    if not isinstance(loc, Path | S3Location | PostgresLocation):
        return read_table(loc, role=role)
    if isinstance(loc, Path):
        return read_table(loc, role=role, sheet=sheet, delimiter=delimiter, encoding=encoding)
    if isinstance(loc, S3Location):
        return _open_s3(loc, role=role, sheet=sheet, delimiter=delimiter, encoding=encoding)
    if query is not None:
        if loc.table is not None or loc.query is not None:
            raise ParameterError(f"{loc.label}: give ?table=/?query= or --query, not both")
        loc = loc.with_query(query)
    return _open_postgres(loc, role=role)


# ----------------------------------------------------------------------------- PostgreSQL
def _open_postgres(loc: PostgresLocation, *, role: str) -> RawTable:
    if loc.table is None and loc.query is None:
        raise ParameterError(
            f"{loc.label}: name the {role} rows with ?table=schema.name, ?query=SELECT … "
            "or (for the sales) --query"
        )
    path = _spool_dir() / f"{role}.parquet"
    rows, received = spool_query(loc, path)
    if rows == 0:
        raise EmptyInputError(f"{role} source {loc.label!r} returned no rows")
    table = read_table(path, role=role)
    log.info("%s: %d rows (%d bytes) read into %s", loc.label, rows, received, path)
    scan = replace(table.scan, bytes=received)
    return replace(table, path=loc.label, format="postgresql", scan=scan)  # type: ignore[arg-type]


def spool_query(loc: PostgresLocation, path: Path) -> tuple[int, int]:
    """Stream the rows of ``loc`` into the Parquet file ``path``; return (rows, Arrow bytes)."""
    rows = received = 0
    writer: pq.ParquetWriter | None = None
    try:
        with closing(postgres.connect(loc)) as conn:
            for batch in postgres.read_batches(conn, loc.select(), label=loc.label):
                if writer is None:
                    _check_names(batch.schema, loc.label)
                    writer = pq.ParquetWriter(path, batch.schema)
                if batch.num_rows:
                    writer.write_batch(batch)
                    rows += batch.num_rows
                    received += batch.nbytes
    except BaseException:
        if writer is not None:
            writer.close()
        path.unlink(missing_ok=True)
        raise
    if writer is None:  # no batch at all: an empty result
        return 0, 0
    writer.close()
    return rows, received


def _check_names(schema: pa.Schema, label: str) -> None:
    seen: set[str] = set()
    for name in schema.names:
        if name in seen:
            raise InputError(
                f"{label}: the query returns two columns named {name!r}; give them distinct "
                f"names (… AS {name}_2)"
            )
        seen.add(name)


# ----------------------------------------------------------------------------- S3
def _open_s3(
    loc: S3Location,
    *,
    role: str,
    sheet: str | None,
    delimiter: str | None,
    encoding: str | None,
) -> RawTable:
    client = s3.client()
    with s3.translate(loc, client):
        if loc.pattern or loc.prefix:
            return _open_parquet_set(client, loc, role=role)
        if s3.size_of(client, loc) is None:
            folder = S3Location(loc.bucket, loc.key + "/")
            if s3.list_objects(client, loc.bucket, folder.key):
                return _open_parquet_set(client, folder, role=role)
            _raise_missing(client, loc, "no such object (a prefix must end with '/')")
        local = _spool_dir() / _safe_name(loc.key)
        s3.download(client, loc, local)
    try:
        table = read_table(local, role=role, sheet=sheet, delimiter=delimiter, encoding=encoding)
    except BasketlensError as exc:  # name the object, not the private copy
        raise type(exc)(str(exc).replace(str(local), loc.url)) from None
    return replace(table, path=loc.url)  # type: ignore[arg-type]


def _safe_name(key: str) -> str:
    name = PurePosixPath(key).name
    return name if name not in ("", ".", "..") else "object"


def _raise_missing(client: Any, loc: S3Location, why: str) -> None:
    """Raise InputError: the bucket is missing, or else ``why``."""
    try:
        client.list_objects_v2(Bucket=loc.bucket, MaxKeys=1)
    except s3.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise InputError(
                f"{loc.url}: bucket {loc.bucket!r} does not exist at {s3.endpoint_of(client)}"
            ) from None
        raise
    raise InputError(f"{loc.url}: {why}")


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob over object keys: ``*`` and ``?`` stay within one ``/`` level, ``**`` crosses.

    Example:
        >>> bool(glob_regex("in/*.parquet").fullmatch("in/a.parquet"))
        True
        >>> bool(glob_regex("in/*.parquet").fullmatch("in/x/a.parquet"))
        False
    """
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def _selected(loc: S3Location, objects: list[tuple[str, int]]) -> list[tuple[str, int]]:
    if loc.pattern:
        rx = glob_regex(loc.key)
        return [(k, n) for k, n in objects if rx.fullmatch(k)]
    # a prefix: every object below it but folder markers and hidden/marker files (_SUCCESS)
    return [
        (k, n)
        for k, n in objects
        if not k.endswith("/")
        and not any(p.startswith(("_", ".")) for p in k[len(loc.key) :].split("/"))
    ]


def _open_parquet_set(client: Any, loc: S3Location, *, role: str) -> RawTable:
    """Every Parquet object under a prefix or matching a pattern, in key order, as one table."""
    chosen = _selected(loc, s3.list_objects(client, loc.bucket, loc.listing_prefix))
    if not chosen:
        _raise_missing(client, loc, "no objects match" if loc.pattern else "no objects here")
    other = [k for k, _ in chosen if not k.lower().endswith(PARQUET_SUFFIXES)]
    if other:
        raise InputError(
            f"{loc.url}: a prefix or pattern reads Parquet objects as one table, but "
            f"s3://{loc.bucket}/{other[0]} is not Parquet ({len(other)} such object(s)); name "
            "one CSV or JSON lines object, or narrow the pattern (e.g. *.parquet)"
        )
    folder = _spool_dir()
    paths: list[Path] = []
    for n, (key, _) in enumerate(chosen):
        part = S3Location(loc.bucket, key)
        paths.append(folder / f"{n:06d}-{_safe_name(key)}")
        s3.download(client, part, paths[-1])
    rows, schema = 0, None
    for key, path in zip((k for k, _ in chosen), paths, strict=True):
        url = f"s3://{loc.bucket}/{key}"
        try:
            rows += pq.ParquetFile(path).metadata.num_rows
            this = pl.read_parquet_schema(path)
        except (pa.ArrowException, pl.exceptions.PolarsError, OSError) as exc:
            raise InputError(f"{url}: not a readable Parquet file ({exc})") from None
        if schema is None:
            schema, first = this, url
        elif list(this.items()) != list(schema.items()):
            why = _difference(schema, this)
            raise InputError(f"{url}: its columns differ from those of {first}: {why}")
    assert schema is not None
    if rows == 0:
        raise EmptyInputError(f"{role} source {loc.url!r} has columns but no rows")
    scan = FileScan(bytes=sum(n for _, n in chosen), fingerprint=_fingerprint(paths), utf8=None)
    log.info("%s: %d Parquet object(s), %d rows", loc.url, len(paths), rows)
    frame = pl.scan_parquet(paths)
    return RawTable(role, loc.url, "parquet", frame, tuple(schema), scan, rows)  # type: ignore[arg-type]


def _difference(a: dict[str, Any], b: dict[str, Any]) -> str:
    for name in dict.fromkeys([*a, *b]):
        if name not in b:
            return f"column {name!r} is missing"
        if name not in a:
            return f"it has an extra column {name!r}"
        if a[name] != b[name]:
            return f"column {name!r} is {b[name]} there, {a[name]} in the first"
    return "the column order differs"


def _fingerprint(paths: list[Path]) -> str:
    """sha256 of the objects' bytes, concatenated in key order (one object: its own hash)."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"
