"""PostgreSQL through ADBC (Arrow Database Connectivity, ``adbc-driver-postgresql``).

libpq does the connecting, so everything libpq reads applies: the password in the URI,
``PGPASSWORD``, ``~/.pgpass``, ``PGSSLMODE``, ``PGSERVICE`` and the other ``PG*`` variables.
A connection attempt gives up after :data:`CONNECT_TIMEOUT_S` seconds unless the URI or
``PGCONNECT_TIMEOUT`` says otherwise. Query results arrive as Arrow record batches streamed
with ``COPY … TO STDOUT (FORMAT binary)``, so a large table never sits in memory whole.

Driver errors become one line naming the location (password masked) and what to check:
:func:`explain`.

Example:
    >>> from basketlens.uris import parse_location
    >>> loc = parse_location("postgresql://etl@db.example.com/erp?table=sales")
    >>> with connect(loc) as conn:                          # doctest: +SKIP
    ...     for batch in read_batches(conn, loc.select(), label=loc.label):
    ...         print(batch.num_rows)
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from basketlens.errors import BasketlensError, InputError, MissingExtraError
from basketlens.uris import PostgresLocation, redact

try:  # the [sql] extra
    import adbc_driver_manager
    import adbc_driver_postgresql.dbapi as adbc_pg
except ImportError:  # pragma: no cover - exercised only without the extra
    adbc_driver_manager = None  # type: ignore[assignment]
    adbc_pg = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

EXTRA = "sql"
CONNECT_TIMEOUT_S = 10
#: Driver errors (connection, server and protocol errors).
DriverError: tuple[type[BaseException], ...] = (
    (adbc_driver_manager.Error,) if adbc_driver_manager is not None else ()
)

_UNREACHABLE = (
    "connection refused",
    "could not translate host name",
    "timeout expired",
    "no route to host",
    "network is unreachable",
    "could not connect",
    "server closed the connection",
    "connection timed out",
)
_AUTH = ("password authentication failed", "no password supplied", "authentication failed")
#: SQLSTATE → what to check (the server's own message is shown first).
_HINTS = {
    "42P01": "check ?table= (schema.table) or the query's FROM",
    "42703": "check the column names in the query",
    "42501": "ask for SELECT on the source tables, or USAGE and CREATE on the --to-db schema",
    "3F000": "check the schema name",
    "42601": "check the SQL",
    "57014": "the statement was cancelled (statement_timeout?)",
    "25006": "the source connection is read-only: a source must be a SELECT query",
    "57P01": "the server was shut down or the session was terminated",
    "40P01": "another session held a conflicting lock (deadlock); retry",
    "55P03": "another session holds a lock on the tables (lock_timeout); retry later",
    "2BP01": "objects of your own (views, foreign keys) depend on the star tables; a run "
    "replaces the tables, so drop those objects or build them on the runs' tables by query",
    "23503": "a foreign key of the star tables does not hold",
    "23505": "a primary key of the star tables is not unique",
}


def require() -> None:
    """Raise :class:`MissingExtraError` when the PostgreSQL driver is not installed."""
    if adbc_pg is None:
        raise MissingExtraError(
            "postgresql:// locations need the PostgreSQL driver: "
            f"pip install 'basketlens[{EXTRA}]' (adbc-driver-postgresql)"
        )


def _with_timeout(conninfo: str) -> str:
    if "connect_timeout=" in conninfo or os.environ.get("PGCONNECT_TIMEOUT"):
        return conninfo
    return conninfo + ("&" if "?" in conninfo else "?") + f"connect_timeout={CONNECT_TIMEOUT_S}"


def connect(loc: PostgresLocation, *, error: type[BasketlensError] = InputError) -> Any:
    """An ADBC DB-API connection (transactions on: nothing is committed unless asked).

    Raises ``error`` (InputError for sources, SinkError for sinks) with :func:`explain`'s line.
    """
    require()
    try:
        return adbc_pg.connect(_with_timeout(loc.conninfo))
    except DriverError as exc:
        raise error(explain(exc, loc.label)) from None


def _server_message(text: str) -> str:
    """The useful line of a driver error: the server's ERROR/FATAL text or libpq's reason."""
    for marker in ("ERROR:", "FATAL:"):
        if marker in text:
            message = text.split(marker, 1)[1].strip().splitlines()[0].strip()
            if "DETAIL:" in text:  # e.g. the view that depends on a table, the missing key
                detail = text.split("DETAIL:", 1)[1].strip().splitlines()[0].strip()
                message += f": {detail}"
            return message
    if "Failed to connect:" in text:
        rest = text.split("Failed to connect:", 1)[1].strip()
        rest = re.sub(r'^connection to server at "[^"]*", port \d+ failed:\s*', "", rest)
        return " ".join(rest.split())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else type(text).__name__
    return re.sub(r"^[A-Z_]+: ", "", first)


def explain(exc: BaseException, label: str) -> str:
    """One line for a driver error: the location, the server's reason and what to check.

    Example:
        >>> class E(Exception):
        ...     sqlstate = "42P01"
        >>> explain(E('NOT_FOUND: ERROR:  relation "s.x" does not exist\\nLINE 1'), "pg://h/db")
        'pg://h/db: relation "s.x" does not exist (check ?table= (schema.table) or the query\\'s FROM)'
    """  # noqa: E501
    text = str(exc)
    detail = _server_message(text)
    low = text.lower()
    state = getattr(exc, "sqlstate", None) or _sqlstate(text)
    if any(m in low for m in _AUTH) or state in ("28P01", "28000"):
        why = f"authentication failed ({detail}); check the user and the password (in the URI, "
        why += "PGPASSWORD or ~/.pgpass)"
    elif state is None and any(m in low for m in _UNREACHABLE):
        why = f"cannot reach the database server: {detail}; check the host, the port and that "
        why += "the server accepts TCP connections"
    elif state == "3D000" or re.search(r'database "[^"]*" does not exist', text):
        why = f"{detail}; check the database name in the URI"
    elif state in _HINTS:
        why = f"{detail} ({_HINTS[state]})"
    else:
        why = detail
    return redact(f"{label}: {why}")


def _sqlstate(text: str) -> str | None:
    match = re.search(r"SQLSTATE: ([0-9A-Z]{5})", text)
    return match.group(1) if match else None


def plain_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch without extension types: PostgreSQL ``numeric`` (and other types Arrow has no
    type for) arrive as opaque extensions over text; keep the text, drop field metadata.

    Example:
        >>> b = pa.RecordBatch.from_pydict({"a": [1]})
        >>> plain_batch(b).schema.field("a").type
        DataType(int64)
    """
    arrays = [
        col.storage if isinstance(col.type, pa.BaseExtensionType) else col for col in batch.columns
    ]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def read_batches(conn: Any, sql: str, *, label: str) -> Iterator[pa.RecordBatch]:
    """Run ``sql`` in a read-only transaction; yield its rows as plain Arrow batches.

    Raises :class:`InputError` (via :func:`explain`) for a missing table, column, permission,
    a syntax error or a lost connection.
    """
    cursor = conn.cursor()
    try:
        cursor.execute("SET TRANSACTION READ ONLY")
        cursor.execute(sql)
        reader = cursor.fetch_record_batch()
        for batch in reader:
            yield plain_batch(batch)
    except DriverError as exc:
        raise InputError(explain(exc, label)) from None
    finally:
        try:  # a source only reads: end its transaction
            cursor.close()
            conn.rollback()
        except DriverError:  # the connection is gone already
            log.debug("%s: rollback after reading failed", label)


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier.

    Example:
        >>> quote_ident('a"b')
        '"a""b"'
    """
    return '"' + name.replace('"', '""') + '"'
