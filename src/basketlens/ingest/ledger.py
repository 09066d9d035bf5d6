"""``load_ledger``: read the sales file (plus optional item and customer tables), map the
columns to canonical fields, join the side tables and coerce everything to ``LEDGER_SCHEMA``.

The result is lazy: the sales file is scanned once at load time (to count its lines and check
that every date and number parses), and ``Ledger.lines`` re-scans it when collected.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sales.csv"
    >>> _ = p.write_text("invoice,date,customer,item,quantity,unit_price\\n"
    ...                  "A1,2024-01-02,007,X,2,1.5\\n")
    >>> ledger = load_ledger(p)
    >>> ledger.layout, ledger.n_lines, ledger.lines.collect()["net_sales"].to_list()
    ('canonical', 1, [3.0])
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from basketlens.errors import EmptyInputError, InputError
from basketlens.ingest.coerce import (
    FileReadError,
    ParseTask,
    choose_parsers,
    date_source,
    id_expr,
    parse_expr,
    placeholder_expr,
    text_expr,
    typed_expr,
)
from basketlens.ingest.layouts import KEY_FIELDS, Resolution, resolve_columns
from basketlens.ingest.readers import RawTable, read_error
from basketlens.ingest.sources import open_source
from basketlens.schema import CANONICAL_FIELDS, LEDGER_SCHEMA

logger = logging.getLogger(__name__)

#: How each canonical field is coerced.
FIELD_KINDS: dict[str, str] = {
    "invoice": "id",
    "date": "date",
    "customer": "id",
    "customer_name": "text",
    "customer_group": "id",
    "item": "id",
    "item_name": "text",
    "quantity": "number",
    "unit_price": "number",
    "net_sales": "number",
    "brand": "text",
    "category": "text",
    "credit_note": "flag",
}
_KEY = "\x00key"


@dataclass(frozen=True)
class SourceInfo:
    """One input file as recorded in ``run.json``."""

    role: str  # "sales" | "items" | "customers"
    path: str
    format: str  # "csv" | "parquet" | "excel" | "jsonl"
    bytes: int
    fingerprint: str  # "sha256:<hex>" of the file's bytes
    rows: int


@dataclass(frozen=True)
class Ledger:
    """The canonical sales ledger (lazy) and where it came from.

    ``cancel_prefix`` is the invoice prefix that marks cancellations in the recognised layout
    ('C' for Online Retail), None when returns are negative quantities (credit-note lines,
    when a ``credit_note`` flag is mapped, are made negative at ingest). ``service_items`` are
    the layout's item codes that are services, not goods (Online Retail's POST, C2, M, …).
    """

    lines: pl.LazyFrame  # LEDGER_SCHEMA
    n_lines: int  # lines in the sales file
    sources: tuple[SourceInfo, ...]
    layout: str  # recognised layout name, or "mapped"
    column_map: dict[str, str]  # canonical field -> source column actually used
    cancel_prefix: str | None = None
    service_items: tuple[str, ...] = ()  # the layout's service (non-goods) item codes


def _convert(
    table: RawTable,
    fields: Mapping[str, str],
    *,
    key: str | None = None,
    extra: list[pl.LazyFrame] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[pl.LazyFrame, int | None, list[pl.DataFrame]]:
    """Canonical columns (``line_no``, the join ``key`` if any, the fields) of one table.

    Runs one pass over the table when a string column must be parsed, the row count is
    unknown (sales only: ``key`` is None) or ``extra`` queries are given. For the sales table
    the placeholders found in id columns are counted in that pass and reported.
    """
    lf = table.frame.with_row_index("line_no")
    schema = lf.collect_schema()
    file = str(table.path)
    exprs: dict[str, pl.Expr] = {} if key is None else {_KEY: id_expr(key, schema[key])}
    typed, parse = field_expressions(fields, schema, file)
    exprs.update(typed)
    tasks = [(f"\x00s{i}", task) for i, task in enumerate(parse)]
    ids = {f: c for f, c in fields.items() if FIELD_KINDS[f] == "id" and schema[c] == pl.String}
    queries = list(extra or [])
    if key is None and ids:
        queries.append(lf.select(placeholder_expr(c).sum().alias(f) for f, c in ids.items()))
    rows, results = table.rows, []
    if tasks or queries or (rows is None and key is None):
        try:
            chosen, rows, results = choose_parsers(
                lf,
                [t for _, t in tasks],
                file=file,
                extra=queries,
                read_all=table.format == "csv",
                progress=progress,
            )
        except FileReadError as exc:
            raise read_error(table, exc.cause) from exc
        for tmp, task in tasks:
            exprs[task.field] = parse_expr(task, chosen[task.column], source=tmp)
            logger.info("%s: column %r read with format %r", file, task.column, chosen[task.column])
        lf = lf.with_columns(task.as_string.alias(tmp) for tmp, task in tasks)
    if key is None and ids:
        _report_placeholders(file, ids, results.pop().row(0, named=True))
    out = lf.select("line_no", *(e.alias(f) for f, e in exprs.items()))
    return out, rows, results


def field_expressions(
    fields: Mapping[str, str], schema: pl.Schema, file: str
) -> tuple[dict[str, pl.Expr], list[ParseTask]]:
    """Each field's canonical expression from its column, for both engines: ids and text
    directly, typed columns by their type; string dates and numbers become
    :class:`ParseTask` s, whose format is chosen from the data (``choose_parsers``).

    Example:
        >>> schema = pl.Schema({"Cust": pl.Int64, "Day": pl.String})
        >>> exprs, tasks = field_expressions({"customer": "Cust", "date": "Day"}, schema, "s.csv")
        >>> list(exprs), [t.field for t in tasks]
        (['customer'], ['date'])
    """
    exprs: dict[str, pl.Expr] = {}
    tasks: list[ParseTask] = []
    for field, col in fields.items():
        kind, dtype = FIELD_KINDS[field], schema[col]
        if kind == "id":
            exprs[field] = id_expr(col, dtype)
        elif kind == "text":
            exprs[field] = text_expr(col, dtype)
        else:
            typed = typed_expr(field, col, dtype, kind, file)
            if typed is not None:
                exprs[field] = typed
                continue
            source = date_source(col, dtype) if kind == "date" else pl.col(col).cast(pl.String)
            tasks.append(ParseTask(field, col, kind, source))
    return exprs, tasks


def _report_placeholders(file: str, ids: Mapping[str, str], counts: Mapping[str, int]) -> None:
    """Warn about id values such as 'NaN' or 'N/A' (they count as missing at cleaning)."""
    found = {f: n for f, n in counts.items() if n}
    if found:
        listed = ", ".join(f"{n:,} in {ids[f]!r} ({f})" for f, n in found.items())
        logger.warning(
            "%s: id values such as %s mean 'missing' and are read as empty: %s; cleaning "
            "counts those lines under missing_ids",
            file,
            ", ".join(repr(v) for v in ("NaN", "null", "N/A", "#N/A")),
            listed,
        )


def _side_table(table: RawTable, key: str, fields: Mapping[str, str]) -> tuple[pl.DataFrame, int]:
    """Collect a side table's key + fields; reject duplicated keys."""
    lf, _, _ = _convert(table, fields, key=key)
    try:
        df = lf.drop("line_no").collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise read_error(table, exc) from exc
    if df.height == 0:
        raise EmptyInputError(f"{table.role} file {str(table.path)!r} has no data rows")
    rows = df.height
    n_null = df[_KEY].null_count()
    if n_null:
        logger.warning("%s: %d row(s) without a key in column %r ignored", table.path, n_null, key)
        df = df.filter(pl.col(_KEY).is_not_null())
    dup = df.group_by(_KEY).len().filter(pl.col("len") > 1).sort(_KEY).head(1)
    if dup.height:
        value, count = dup.row(0)
        raise InputError(
            f"{table.role} file {str(table.path)!r} has duplicated keys in column {key!r}, "
            f"e.g. {value!r} appears {count} times; each {KEY_FIELDS[table.role]} must appear "
            f"once (remove the duplicates or map another key column)"
        )
    return df, rows


def _missing_query(sales: pl.LazyFrame, field: str, keys: pl.DataFrame) -> pl.LazyFrame:
    ids = sales.select(pl.col(field)).filter(pl.col(field).is_not_null())
    missing = ids.join(keys.lazy().select(pl.col(_KEY).alias(field)), on=field, how="anti")
    return missing.select(pl.len().alias("lines"), pl.col(field).n_unique().alias("distinct"))


def _finish(lf: pl.LazyFrame, present: set[str]) -> pl.LazyFrame:
    """Derive net_sales / unit_price, add null columns, cast to LEDGER_SCHEMA in order.

    Lines flagged as credit notes become returns: negative quantity and net sales.
    """
    if "credit_note" in present:
        credit = pl.col("credit_note")
        signed = {
            c: pl.when(credit).then(-pl.col(c).abs()).otherwise(pl.col(c))
            for c in ("quantity", "net_sales")
            if c in present
        }
        lf = lf.with_columns(**signed)
    derived: dict[str, pl.Expr] = {}
    if "net_sales" not in present:
        derived["net_sales"] = pl.col("quantity") * pl.col("unit_price")
    elif "unit_price" not in present:
        q = pl.col("quantity")
        derived["unit_price"] = pl.when(q != 0).then(pl.col("net_sales") / q)
    cols = []
    for name, dtype in LEDGER_SCHEMA.items():
        if name in present or name == "line_no":
            expr = pl.col(name)
        elif name in derived:
            expr = derived[name]
        else:
            expr = pl.lit(None)
        cols.append(expr.cast(dtype).alias(name))
    return lf.select(cols)


def load_ledger(
    sales: str | Path | Any,
    *,
    items: str | Path | Any | None = None,
    customers: str | Path | Any | None = None,
    column_map: Mapping[str, str] | None = None,
    sheet: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    query: str | None = None,
    basket_by: str = "invoice",
    progress: Callable[[int, int | None], None] | None = None,
) -> Ledger:
    """Load a sales ledger (optionally with item and customer tables) as canonical lines.

    Known layouts are recognised by their header; ``column_map`` (canonical field → column,
    ``items.item``/``customers.customer`` for side-table keys) overrides fields. ``sheet``
    selects the Excel sheet of the sales file; ``delimiter``/``encoding`` apply to CSV files
    (sniffed when None). Each of ``sales``, ``items`` and ``customers`` may also be an
    ``s3://`` object URL (a prefix or pattern of Parquet objects reads as one table), a
    ``postgresql://…?table=schema.name`` or ``?query=SELECT …`` URI (``query`` gives the sales
    SQL instead), or a Polars or pandas data frame; layout detection and type coercion apply
    to all of them as to files (see ``docs/sources.md``). ``basket_by="customer_day"`` (how
    cleaning will make baskets) makes the invoice optional. ``progress(lines read, None)`` is
    called as the pass that checks every value reads the sales lines.

    Example:
        >>> ledger = load_ledger("sales.csv", items="items.xlsx",
        ...                      column_map={"items.item": "Code"})  # doctest: +SKIP
    """
    tables = {
        "sales": open_source(
            sales, role="sales", query=query, sheet=sheet, delimiter=delimiter, encoding=encoding
        )
    }
    for role, path in (("items", items), ("customers", customers)):
        if path is not None:
            tables[role] = open_source(path, role=role, delimiter=delimiter, encoding=encoding)
    res: Resolution = resolve_columns(
        sales_columns=tables["sales"].columns,
        items_columns=tables["items"].columns if "items" in tables else None,
        customers_columns=tables["customers"].columns if "customers" in tables else None,
        column_map=column_map,
        files={role: str(t.path) for role, t in tables.items()},
        basket_by=basket_by,
    )
    by_table: dict[str, dict[str, str]] = {role: {} for role in tables}
    for field, src in res.fields.items():
        by_table[src.table][field] = src.column

    side: dict[str, pl.DataFrame] = {}
    rows: dict[str, int] = {}
    for role, key in (("items", res.item_key), ("customers", res.customer_key)):
        if role in tables and key is not None:
            side[role], rows[role] = _side_table(tables[role], key, by_table[role])

    sales_t = tables["sales"]
    schema = sales_t.frame.collect_schema()
    extra = []
    for role in side:
        field = KEY_FIELDS[role]
        col = res.fields[field].column
        ids = sales_t.frame.select(id_expr(col, schema[col]).alias(field))
        extra.append(_missing_query(ids, field, side[role]))
    tell = None if progress is None else lambda n: progress(n, None)
    lf, n_lines, results = _convert(sales_t, by_table["sales"], extra=extra, progress=tell)
    if not n_lines:  # None cannot happen: the pass counts rows the reader did not know
        raise EmptyInputError(f"sales file {str(sales_t.path)!r} has a header but no data rows")
    rows["sales"] = n_lines

    for (role, keys), counts in zip(side.items(), results, strict=True):
        field = KEY_FIELDS[role]
        missing, distinct = counts.row(0)
        if missing:
            logger.warning(
                "%d of %d sales lines (%d distinct %s ids) have no match in %s file %r; their "
                "%s attributes stay null",
                missing,
                n_lines,
                distinct,
                field,
                role,
                str(tables[role].path),
                field,
            )
        if keys.width > 1:
            lf = lf.join(
                keys.rename({_KEY: field}).lazy(), on=field, how="left", maintain_order="left"
            )
    lines = _finish(lf, set(res.fields))

    used = {f: res.fields[f].column for f in CANONICAL_FIELDS if f in res.fields}
    if res.item_key is not None:
        used["items.item"] = res.item_key
    if res.customer_key is not None:
        used["customers.customer"] = res.customer_key
    sources = tuple(
        SourceInfo(role, str(t.path), t.format, t.scan.bytes, t.scan.fingerprint, rows[role])
        for role, t in tables.items()
    )
    logger.info("loaded %d sales lines from %s (layout %s)", n_lines, sales_t.path, res.layout)
    return Ledger(lines, n_lines, sources, res.layout, used, res.cancel_prefix, res.service_items)
