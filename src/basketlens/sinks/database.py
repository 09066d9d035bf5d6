"""``--to-db postgresql://…?schema=NAME``: the BI star tables in a PostgreSQL schema.

The tables are those of ``bi/`` (:func:`basketlens.report.bi.star_tables`, reshaped from the
run, nothing recomputed), with primary keys and the foreign keys of ``docs/bi.md``. One
transaction drops the previous run's star tables, creates and fills the new ones, adds the
keys and appends the run to ``runs``; if anything fails, it rolls back and the schema keeps the
previous run, whole. Readers (Power BI) see the old tables until the commit, then the new.

Example:
    >>> [t.name for t in STAR][:3]
    ['dim_segment', 'dim_customer', 'dim_item']
    >>> STAR_BY_NAME["fact_rules"].key
    ('rule_id',)
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import polars as pl

from basketlens.errors import SinkError
from basketlens.report.bi import star_tables
from basketlens.runfolder.analysis import Analysis
from basketlens.runfolder.write import jsonable
from basketlens.stores import postgres
from basketlens.stores.postgres import quote_ident
from basketlens.uris import PostgresLocation

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SCHEMA",
    "RUNS_TABLE",
    "STAR",
    "StarTable",
    "check_database",
    "describe",
    "write_star",
]

#: The schema written when the URI names none.
DEFAULT_SCHEMA = "basketlens"
RUNS_TABLE = "runs"
#: PostgreSQL truncates longer identifiers.
MAX_IDENTIFIER = 63


@dataclass(frozen=True)
class StarTable:
    """One BI table: its primary key and its foreign keys (column → referenced table)."""

    name: str
    key: tuple[str, ...]
    references: tuple[tuple[str, str], ...]
    description: str


#: The star tables in creation order (dimensions first), with their keys.
STAR: tuple[StarTable, ...] = (
    StarTable(
        "dim_segment",
        ("segment_key",),
        (),
        "One row per customer segment, plus segment_key -1: all customers.",
    ),
    StarTable(
        "dim_customer",
        ("customer_id",),
        (("segment_key", "dim_segment"),),
        "One row per customer: segment and features.",
    ),
    StarTable(
        "dim_item",
        ("item_id",),
        (),
        "One row per item: name and basket support over all customers.",
    ),
    StarTable(
        "fact_rules",
        ("rule_id",),
        (("segment_key", "dim_segment"), ("consequent_item_id", "dim_item")),
        "One row per association rule: scope, sides, counts and measures.",
    ),
    StarTable(
        "bridge_rule_items",
        ("rule_id", "item_id", "role"),
        (("rule_id", "fact_rules"), ("item_id", "dim_item")),
        "Rule x item x role (antecedent/consequent).",
    ),
    StarTable(
        "fact_opportunities",
        ("customer_id", "item_id"),
        (
            ("customer_id", "dim_customer"),
            ("item_id", "dim_item"),
            ("rule_id", "fact_rules"),
            ("segment_key", "dim_segment"),
            ("scope_segment_key", "dim_segment"),
        ),
        "The call list: customer x item to offer, with its lead rule (rule_id) and value.",
    ),
    StarTable(
        "fact_recommendations",
        ("customer_id", "item_id"),
        (
            ("customer_id", "dim_customer"),
            ("item_id", "dim_item"),
            ("segment_key", "dim_segment"),
        ),
        "Customer x recommended item, with score, rank and reason.",
    ),
)
STAR_BY_NAME: dict[str, StarTable] = {t.name: t for t in STAR}

_RUNS_DDL = """
CREATE TABLE IF NOT EXISTS {runs} (
    run_id text PRIMARY KEY,
    created_at timestamptz NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    is_current boolean NOT NULL,
    basketlens_version text,
    layout text,
    lines_read bigint,
    lines_kept bigint,
    customers bigint,
    baskets bigint,
    items bigint,
    segments integer,
    rules bigint,
    first_date timestamp,
    last_date timestamp,
    parameters jsonb,
    inputs jsonb,
    cleaning jsonb,
    timings jsonb
)"""
_RUN_COLUMNS = (
    "run_id", "created_at", "is_current", "basketlens_version", "layout", "lines_read",
    "lines_kept", "customers", "baskets", "items", "segments", "rules", "first_date",
    "last_date", "parameters", "inputs", "cleaning", "timings",
)  # fmt: skip
_RUN_CASTS = {"created_at": "timestamptz", "first_date": "timestamp", "last_date": "timestamp"}
_JSON_COLUMNS = ("parameters", "inputs", "cleaning", "timings")


def schema_name(loc: PostgresLocation) -> str:
    """The target schema as PostgreSQL names it: unquoted names fold to lower case.

    Example:
        >>> from basketlens.uris import parse_location
        >>> schema_name(parse_location("postgresql://h/db?schema=BI", sink=True))
        'bi'
    """
    raw = loc.schema or DEFAULT_SCHEMA
    if raw.startswith('"'):
        return raw[1:-1].replace('""', '"')
    return raw.lower()


def describe(loc: PostgresLocation) -> str:
    """The database and schema written, password masked (for messages)."""
    return loc.label if loc.schema else f"{loc.label} (schema {schema_name(loc)})"


def check_database(loc: PostgresLocation) -> None:
    """Fail before any work when the database is unreachable or the schema not writable.

    Checks the connection, the right to create the schema (or to create tables in it) and
    that the previous run's tables belong to this user (only their owner may replace them).
    """
    schema = schema_name(loc)
    names = ", ".join(f"'{t.name}'" for t in STAR)
    with closing(postgres.connect(loc, error=SinkError)) as conn:
        cursor = conn.cursor()
        try:
            cursor.execute(
                "SELECT current_user, "
                "  (SELECT has_schema_privilege(n.oid, 'CREATE') AND "
                "          has_schema_privilege(n.oid, 'USAGE') "
                "   FROM pg_namespace n WHERE n.nspname = $1), "
                "  has_database_privilege(current_database(), 'CREATE'), "
                "  (SELECT string_agg(c.relname, ', ' ORDER BY c.relname) "
                "   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                f"  WHERE n.nspname = $1 AND c.relname IN ({names}) "
                "     AND NOT pg_has_role(current_user, c.relowner, 'USAGE'))",
                (schema,),
            )
            user, can_schema, can_database, foreign = cursor.fetchone()
        except postgres.DriverError as exc:
            raise SinkError(postgres.explain(exc, describe(loc))) from None
        finally:
            cursor.close()
            conn.rollback()
    if can_schema is None and not can_database:
        raise SinkError(
            f"{describe(loc)}: permission denied: user {user!r} may not create schema "
            f"{schema!r}; create it first or GRANT CREATE ON DATABASE to {user}"
        )
    if can_schema is False:
        raise SinkError(
            f"{describe(loc)}: permission denied: user {user!r} may not create tables in "
            f"schema {schema!r}; GRANT USAGE, CREATE ON SCHEMA {schema} TO {user}"
        )
    if foreign:
        raise SinkError(
            f"{describe(loc)}: permission denied: tables {foreign} belong to another user; only "
            "their owner may replace them (ALTER TABLE … OWNER TO, or use another schema)"
        )


def _sql_ready(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Columns PostgreSQL can store: lists as text, null-typed as text, names ≤ 63 bytes."""
    exprs = []
    for column, dtype in frame.schema.items():
        col = pl.col(column)
        if isinstance(dtype, pl.List | pl.Array):
            col = col.cast(pl.List(pl.String)).list.join(" | ")
        elif isinstance(dtype, pl.Struct):
            col = col.struct.json_encode()
        elif dtype == pl.Null or isinstance(dtype, pl.Categorical | pl.Enum | pl.Object):
            col = col.cast(pl.String)
        exprs.append(col.alias(_short_name(name, column, frame.columns)))
    return frame.select(exprs)


def _short_name(table: str, column: str, columns: list[str]) -> str:
    if len(column.encode("utf-8")) <= MAX_IDENTIFIER:
        return column
    stem = column.encode("utf-8")[: MAX_IDENTIFIER - 6].decode("utf-8", "ignore")
    short = f"{stem}__{columns.index(column):04d}"
    log.warning(
        "%s: column %r is longer than PostgreSQL allows; stored as %r", table, column, short
    )
    return short


def _run_row(info: Mapping[str, Any], run_id: str, tables: Mapping[str, pl.DataFrame]) -> list:
    rows = info.get("rows", {})
    seg = info.get("segmentation", {})
    values: dict[str, Any] = {
        "run_id": run_id,
        "created_at": info.get("created_at"),
        "is_current": True,
        "basketlens_version": info.get("basketlens_version"),
        "layout": info.get("layout"),
        "lines_read": rows.get("lines_read"),
        "lines_kept": rows.get("lines_kept"),
        "customers": rows.get("customers"),
        "baskets": rows.get("baskets"),
        "items": rows.get("items"),
        "segments": seg.get("k"),
        "rules": tables["fact_rules"].height if "fact_rules" in tables else None,
        "first_date": _date(rows.get("first_date")),
        "last_date": _date(rows.get("last_date")),
        "parameters": info.get("parameters"),
        "inputs": info.get("inputs"),
        "cleaning": info.get("cleaning"),
        "timings": info.get("timings_s"),
    }
    for name in _JSON_COLUMNS:
        values[name] = json.dumps(jsonable(values[name]), ensure_ascii=False)
    return [values[c] for c in _RUN_COLUMNS]


def _date(text: Any) -> str | None:
    return text if isinstance(text, str) and re.match(r"^\d{4}-\d{2}-\d{2}", text) else None


def write_star(analysis: Analysis, loc: PostgresLocation, *, run_id: str) -> str:
    """Replace the star tables in the schema of ``loc`` with those of ``analysis``, in one
    transaction; append the run to ``runs``. Returns where it wrote (password masked).

    Raises :class:`SinkError` after a rollback: the schema then holds the previous run, whole.
    """
    schema = schema_name(loc)
    tables = star_tables(analysis)
    q = quote_ident(schema)

    def qualified(name: str) -> str:
        return f"{q}.{quote_ident(name)}"

    with closing(postgres.connect(loc, error=SinkError)) as conn:
        cursor = conn.cursor()
        try:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {q}")
            # every star table goes, also those this run has none of (no stale facts)
            cursor.execute("DROP TABLE IF EXISTS " + ", ".join(qualified(t.name) for t in STAR))
            written = []
            for name, frame in tables.items():
                ready = _sql_ready(name, frame).to_arrow()
                cursor.adbc_ingest(name, ready, mode="create", db_schema_name=schema)
                written.append(name)
            for name in written:
                _add_keys(cursor, qualified, name, set(written))
            for name in written:
                text = STAR_BY_NAME[name].description if name in STAR_BY_NAME else name
                cursor.execute(f"COMMENT ON TABLE {qualified(name)} IS '{_literal(text)}'")
            runs = qualified(RUNS_TABLE)
            cursor.execute(_RUNS_DDL.format(runs=runs))
            cursor.execute(
                f"CREATE UNIQUE INDEX IF NOT EXISTS runs_one_current ON {runs} (is_current) "
                "WHERE is_current"
            )
            cursor.execute(f"UPDATE {runs} SET is_current = false WHERE is_current")
            casts = {**_RUN_CASTS, **dict.fromkeys(_JSON_COLUMNS, "jsonb")}
            placeholders = ", ".join(
                f"${i}::{casts[c]}" if c in casts else f"${i}"
                for i, c in enumerate(_RUN_COLUMNS, start=1)
            )
            cursor.execute(
                f"INSERT INTO {qualified(RUNS_TABLE)} ({', '.join(_RUN_COLUMNS)}) "
                f"VALUES ({placeholders})",
                _run_row(analysis.info, run_id, tables),
            )
            conn.commit()
        except postgres.DriverError as exc:
            _rollback(conn)
            raise SinkError(postgres.explain(exc, describe(loc))) from None
        except BaseException:
            _rollback(conn)
            raise
        finally:
            cursor.close()
    log.info("wrote %d star tables and run %s to %s", len(tables), run_id, describe(loc))
    return describe(loc)


def _add_keys(cursor: Any, qualified: Any, name: str, present: set[str]) -> None:
    spec = STAR_BY_NAME.get(name)
    if spec is None:
        log.warning("BI table %s has no declared keys; written without keys", name)
        return
    cols = ", ".join(quote_ident(c) for c in spec.key)
    cursor.execute(f"ALTER TABLE {qualified(name)} ADD PRIMARY KEY ({cols})")
    for column, target in spec.references:
        if target not in present:
            continue
        ref = STAR_BY_NAME[target].key[0]
        cursor.execute(
            f"ALTER TABLE {qualified(name)} ADD CONSTRAINT "
            f"{quote_ident(f'{name}_{column}_fkey')} FOREIGN KEY ({quote_ident(column)}) "
            f"REFERENCES {qualified(target)} ({quote_ident(ref)})"
        )


def _literal(text: str) -> str:
    return text.replace("'", "''")


def _rollback(conn: Any) -> None:
    try:
        conn.rollback()
    except postgres.DriverError:  # the connection is gone: the server rolled back already
        log.debug("rollback failed: the connection is closed")
