"""Ingest on Spark: read the sales lines where they live and coerce them with ingest's own code.

Spark reads the sales file (Parquet, CSV, JSON lines; local paths or ``s3a://``, ``hdfs://``
and other Hadoop URLs) or a JDBC table (``jdbc:postgresql://host/db#schema.table``). The
columns are resolved on the driver by :func:`basketlens.ingest.layouts.resolve_columns`
(same layouts, same ``--map``); every Arrow batch is then converted by the local ingest
expressions (ids, text, typed numbers and dates; string dates and numbers with the format
that reads every value of the column, chosen from failure counts over all batches), joined
to the item and customer tables and finished to ``LEDGER_SCHEMA``. ``line_no`` is the line's
position in the file (for a folder of part files: Spark's partition order).

Example:
    >>> ledger = read_ledger(spark, RunConfig().input, {})  # doctest: +SKIP
    >>> ledger.lines.columns[:3]  # doctest: +SKIP
    ['line_no', 'invoice', 'date']
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from basketlens.errors import EmptyInputError, InputError
from basketlens.ingest.coerce import (
    ParseTask,
    _parsers,
    first_clean_format,
    parse_expr,
    placeholder_expr,
)
from basketlens.ingest.layouts import KEY_FIELDS, resolve_columns
from basketlens.ingest.ledger import (
    _KEY,
    FIELD_KINDS,
    Ledger,
    SourceInfo,
    _finish,
    _report_placeholders,
    _side_table,
    field_expressions,
)
from basketlens.ingest.options import InputOptions
from basketlens.ingest.readers import read_table
from basketlens.ingest.sniff import (
    check_delimiter,
    detect_format,
    normalise_encoding,
    sample_text,
    scan_file,
    sniff_delimiter,
    split_extension,
)
from basketlens.schema import LEDGER_SCHEMA
from basketlens.spark.frames import collect, map_batches, to_spark

logger = logging.getLogger(__name__)

__all__ = ["SparkLedger", "from_local_ledger", "read_ledger"]

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".txt": "csv", ".tsv": "csv"}
_FORMATS.update({".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"})
_FORMATS.update({".xlsx": "excel", ".xls": "excel", ".xlsm": "excel"})
_PLACEHOLDER = "\x00placeholder"
_FAILURES = pl.Schema(
    {"column": pl.String, "format": pl.String, "failures": pl.Int64, "first_bad": pl.Int64}
)


@dataclass(frozen=True)
class SparkLedger:
    """The canonical ledger as a Spark DataFrame (``LEDGER_SCHEMA``) and where it came from.

    Holds what :class:`basketlens.ingest.Ledger` records for ``run.json``.
    """

    lines: DataFrame
    n_lines: int
    sources: tuple[SourceInfo, ...]
    layout: str
    column_map: dict[str, str]
    cancel_prefix: str | None = None
    service_items: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Raw:
    frame: DataFrame
    source: SourceInfo
    local: Path | None


def _is_url(path: str) -> bool:
    return "://" in path or path.startswith("jdbc:")


def _spark_path(path: str) -> str:
    return "s3a://" + path[5:] if path.startswith("s3://") else path


def _format_of(path: str) -> str:
    if path.startswith("jdbc:"):
        return "jdbc"
    local = Path(path)
    if not _is_url(path) and local.is_dir():
        if any(local.glob("*.parquet")):
            return "parquet"
        if any(local.glob("*.csv*")):
            return "csv"
        raise InputError(f"folder {path!r} holds no .parquet or .csv files to read")
    if not _is_url(path):
        return detect_format(local)  # checks the content against the extension
    ext, _ = split_extension(PurePosixPath(path.split("?")[0]))
    if ext not in _FORMATS:
        raise InputError(
            f"cannot tell the format of {path!r} from its extension; use .parquet, .csv, "
            ".csv.gz or .jsonl"
        )
    return _FORMATS[ext]


def _read_raw(spark: SparkSession, path: str, role: str, inp: InputOptions) -> _Raw:
    """The table as Spark reads it (text formats: every column a string)."""
    fmt = _format_of(path)
    local = None if _is_url(path) else Path(path)
    size, fingerprint = -1, "not computed (read by Spark)"
    if local is not None and local.is_file():
        scan = scan_file(local, check_utf8=fmt == "csv", gz=split_extension(local)[1])
        size, fingerprint = scan.bytes, scan.fingerprint
    reader = spark.read
    if fmt == "jdbc":
        url, _, table = path.partition("#")
        if not table:
            raise InputError(f"give the table after '#' in the JDBC URL, e.g. {url}#public.sales")
        frame = reader.format("jdbc").option("url", url).option("dbtable", table).load()
    elif fmt == "parquet":
        frame = _read_parquet(spark, path, local)
    elif fmt == "jsonl":
        frame = reader.json(_spark_path(path))
    elif fmt == "excel":  # a workbook fits in memory by nature: read it here, ship it
        frame = to_spark(spark, read_table(path, role=role, sheet=inp.sheet).frame.collect())
    else:
        encoding, sep = _csv_dialect(spark, path, local, inp)
        frame = reader.csv(
            _spark_path(path),
            header=True,
            sep=sep,
            encoding=encoding,
            quote='"',
            escape='"',
            inferSchema=False,
            mode="FAILFAST",
        )
    frame = frame.toDF(*(c.lstrip("\ufeff") for c in frame.columns))
    return _Raw(frame, SourceInfo(role, path, fmt, size, fingerprint, -1), local)


def _nanosecond_columns(local: Path | None) -> list[str]:
    """Timestamp columns stored in nanoseconds (Spark reads those only as integers)."""
    if local is None:
        return []
    first = next(iter(sorted(local.glob("*.parquet"))), None) if local.is_dir() else local
    if first is None:
        return []
    schema = pq.read_schema(first)
    return [f.name for f in schema if pa.types.is_timestamp(f.type) and f.type.unit == "ns"]


def _read_parquet(spark: SparkSession, path: str, local: Path | None) -> DataFrame:
    """Parquet on Spark; nanosecond timestamps (pandas and Polars write them) become
    microsecond ``timestamp_ntz`` wall-clock times, as the local reader reads them."""
    nanos = _nanosecond_columns(local)
    if nanos:
        spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    frame = spark.read.parquet(_spark_path(path))
    for name in nanos:
        micros = F.expr(f"timestamp_micros(floor(`{name}` / 1000))")
        frame = frame.withColumn(name, micros.cast("timestamp_ntz"))
    return frame


def _csv_dialect(
    spark: SparkSession, path: str, local: Path | None, inp: InputOptions
) -> tuple[str, str]:
    """(encoding, delimiter): given, else sniffed like the local reader."""
    encoding = normalise_encoding(inp.encoding) if inp.encoding else None
    if local is not None and local.is_file():
        gz = split_extension(local)[1]
        if encoding is None:
            encoding = "utf-8" if scan_file(local, check_utf8=True, gz=gz).utf8 else "cp1252"
        sample = sample_text(local, gz=gz, encoding=encoding)
    else:
        encoding = encoding or "utf-8"
        rows = spark.read.text(_spark_path(path)).limit(50).collect()
        sample = "\n".join(r[0] for r in rows) + "\n"
    sep = check_delimiter(inp.delimiter) if inp.delimiter else sniff_delimiter(sample)
    return ("utf-8" if encoding == "utf-8-sig" else encoding), sep


def _polars_schema(frame: DataFrame) -> pl.Schema:
    """The Polars types the Arrow batches of ``frame`` will arrive in."""
    empty = pl.from_arrow(frame.limit(0).toArrow())
    assert isinstance(empty, pl.DataFrame)
    return empty.schema


def _with_line_no(frame: DataFrame) -> tuple[DataFrame, int]:
    """``frame`` with ``line_no`` (0-based, in partition order) and the number of lines."""
    tagged = frame.withColumn("__pid", F.spark_partition_id()).withColumn(
        "__mid", F.monotonically_increasing_id()
    )
    parts = (
        tagged.groupBy("__pid")
        .agg(F.count(F.lit(1)).alias("n"), F.min("__mid").alias("first"))
        .orderBy("__pid")
        .collect()
    )
    bases, offset = [], 0
    for row in parts:
        bases.append((row["__pid"], offset - row["first"]))
        offset += row["n"]
    base = frame.sparkSession.createDataFrame(bases or [(0, 0)], "__pid int, __base bigint")
    numbered = tagged.join(F.broadcast(base), on="__pid", how="left").withColumn(
        "line_no", F.col("__mid") + F.col("__base")
    )
    return numbered.drop("__pid", "__mid", "__base"), offset


def _parse_failures(frame: pl.DataFrame, tasks: list[ParseTask], ids: list[str]) -> pl.DataFrame:
    """Per task column and candidate format: unreadable non-blank values, first such line;
    per id column (format :data:`_PLACEHOLDER`): values that mean "missing" ('NaN', 'N/A')."""
    rows = []
    for col in ids:
        n = frame.select(placeholder_expr(col).sum()).item()
        rows.append((col, _PLACEHOLDER, int(n or 0), None))
    for task in tasks:
        parsers = _parsers(task.kind)
        staged = frame.select("line_no", task.as_string.alias(task.column))
        filled = pl.col(task.column).str.strip_chars().replace("", None).is_not_null()
        for name in parsers:
            bad = filled & parse_expr(task, name).is_null()
            found = staged.select(
                bad.sum().alias("failures"), pl.col("line_no").filter(bad).min().alias("first_bad")
            ).row(0)
            rows.append((task.column, name, int(found[0]), found[1]))
    return pl.DataFrame(rows, schema=_FAILURES, orient="row")


def _choose_formats(
    numbered: DataFrame, tasks: list[ParseTask], ids: dict[str, str], schema: pl.Schema, file: str
) -> dict[str, str]:
    """The first format (in the local order of preference) reading every value of each column;
    the placeholders found in the id columns (``ids``: field → column) are reported as the
    local reader reports them. One pass over the lines."""
    if not tasks and not ids:
        return {}
    columns = {t.column for t in tasks} | set(ids.values())
    needed = pl.Schema({"line_no": pl.Int64, **{c: schema[c] for c in sorted(columns)}})
    counts = map_batches(
        numbered.select(*needed.names()),
        _parse_failures,
        _FAILURES,
        tasks,
        sorted(set(ids.values())),
        in_schema=needed,
    )
    totals = collect(
        counts.groupBy("column", "format").agg(
            F.sum("failures").alias("failures"), F.min("first_bad").alias("first_bad")
        )
    )
    if ids:
        found = totals.filter(pl.col("format") == _PLACEHOLDER)
        per_column = dict(zip(found["column"].to_list(), found["failures"].to_list(), strict=True))
        _report_placeholders(file, ids, {f: per_column.get(c, 0) for f, c in ids.items()})
    chosen: dict[str, str] = {}
    for task in tasks:
        mine = {r["format"]: r for r in totals.filter(column=task.column).iter_rows(named=True)}
        failures = {name: mine[name]["failures"] for name in _parsers(task.kind)}
        fmt = first_clean_format(task, failures, file)
        if fmt is None:
            _raise_unreadable(numbered, task, mine[min(failures, key=failures.__getitem__)], file)
        chosen[task.column] = fmt
        logger.info("%s: column %r read with format %r", file, task.column, fmt)
    return chosen


def _raise_unreadable(
    numbered: DataFrame, task: ParseTask, best: dict[str, Any], file: str
) -> None:
    line_no = best["first_bad"]
    value = numbered.filter(F.col("line_no") == line_no).select(task.column).first()[0]
    hint = {
        "number": "numbers must look like 1234.5 or 1234,5",
        "flag": "flags must read true/false, yes/no, 1/0, y/n, x, or be empty",
    }.get(task.kind, f"the other values read as {best['format']!r}")
    raise InputError(
        f"cannot read column {task.column!r} of {file!r} ({task.field}) as a {task.kind}: "
        f"value {value!r} at row {line_no + 1} (line_no {line_no}) is not readable "
        f"({best['failures']:,} bad value(s); {hint}); fix the data or map another column"
    )


def _convert(
    frame: pl.DataFrame,
    exprs: dict[str, pl.Expr],
    joins: list[tuple[str, pl.DataFrame]],
    present: set[str],
) -> pl.DataFrame:
    """One batch of raw sales lines → ``LEDGER_SCHEMA`` (the local ingest's expressions)."""
    out = frame.select(pl.col("line_no").cast(pl.UInt64), *(e.alias(f) for f, e in exprs.items()))
    for field, keys in joins:
        out = out.join(keys, on=field, how="left", maintain_order="left")
    return _finish(out.lazy(), present).collect()


def _side_tables(
    spark: SparkSession, inp: InputOptions, by_table: dict[str, dict[str, str]], keys: dict
) -> tuple[list[tuple[str, pl.DataFrame]], list[SourceInfo]]:
    joins, sources = [], []
    for role, path in (("items", inp.items), ("customers", inp.customers)):
        if path is None or keys.get(role) is None:
            continue
        if _is_url(path):
            table = read_table(collect(_read_raw(spark, path, role, inp).frame), role=role)
        else:
            table = read_table(path, role=role, delimiter=inp.delimiter, encoding=inp.encoding)
        side, rows = _side_table(table, keys[role], by_table[role])
        field = KEY_FIELDS[role]
        if side.width > 1:
            joins.append((field, side.rename({_KEY: field})))
        s = table.scan
        sources.append(SourceInfo(role, path, table.format, s.bytes, s.fingerprint, rows))
    return joins, sources


def read_ledger(
    spark: SparkSession,
    inp: InputOptions,
    column_map: Mapping[str, str] | None,
    *,
    basket_by: str = "invoice",
) -> SparkLedger:
    """Read ``inp.sales`` (and the side tables) on Spark as canonical ledger lines
    (``basket_by="customer_day"``: the invoice is optional, as for the local reader)."""
    if not inp.sales:
        raise InputError("no sales file given: pass SALES (or set [input] sales in the config)")
    raw = _read_raw(spark, inp.sales, "sales", inp)
    columns = {"sales": raw.frame.columns}
    side_cols: dict[str, list[str]] = {}
    for role, path in (("items", inp.items), ("customers", inp.customers)):
        if path is not None:
            side_cols[role] = (
                _read_raw(spark, path, role, inp).frame.columns
                if _is_url(path)
                else list(read_table(path, role=role, delimiter=inp.delimiter).columns)
            )
    files = {"sales": inp.sales, "items": inp.items, "customers": inp.customers}
    res = resolve_columns(
        sales_columns=columns["sales"],
        items_columns=side_cols.get("items"),
        customers_columns=side_cols.get("customers"),
        column_map=column_map,
        files={role: path for role, path in files.items() if path},
        basket_by=basket_by,
    )
    by_table: dict[str, dict[str, str]] = {"sales": {}, "items": {}, "customers": {}}
    for field, src in res.fields.items():
        by_table[src.table][field] = src.column
    joins, side_sources = _side_tables(
        spark, inp, by_table, {"items": res.item_key, "customers": res.customer_key}
    )

    numbered, n_lines = _with_line_no(raw.frame.select(*sorted(set(by_table["sales"].values()))))
    if n_lines == 0:
        raise EmptyInputError(f"sales file {inp.sales!r} has a header but no data rows")
    schema = _polars_schema(numbered)
    exprs, parse = field_expressions(by_table["sales"], schema, inp.sales)
    tasks = [(task.field, task) for task in parse]
    ids = {
        f: c
        for f, c in by_table["sales"].items()
        if FIELD_KINDS[f] == "id" and schema[c] == pl.String
    }
    chosen = _choose_formats(numbered, [t for _, t in tasks], ids, schema, inp.sales)
    for field, task in tasks:
        exprs[field] = parse_expr(task, chosen[task.column], source=f"\x00{field}")
    staged = {f"\x00{field}": task.as_string for field, task in tasks}
    lines = map_batches(
        numbered,
        _stage_and_convert,
        LEDGER_SCHEMA,
        staged,
        exprs,
        joins,
        set(res.fields),
        in_schema=schema,
    )
    used = {f: res.fields[f].column for f in LEDGER_SCHEMA.names() if f in res.fields}
    if res.item_key is not None:
        used["items.item"] = res.item_key
    if res.customer_key is not None:
        used["customers.customer"] = res.customer_key
    sales_source = SourceInfo(
        "sales", inp.sales, raw.source.format, raw.source.bytes, raw.source.fingerprint, n_lines
    )
    logger.info("Spark read %d sales lines from %s (layout %s)", n_lines, inp.sales, res.layout)
    return SparkLedger(
        lines,
        n_lines,
        (sales_source, *side_sources),
        res.layout,
        used,
        res.cancel_prefix,
        res.service_items,
    )


def _stage_and_convert(
    frame: pl.DataFrame,
    staged: dict[str, pl.Expr],
    exprs: dict[str, pl.Expr],
    joins: list[tuple[str, pl.DataFrame]],
    present: set[str],
) -> pl.DataFrame:
    if staged:
        frame = frame.with_columns(e.alias(name) for name, e in staged.items())
    return _convert(frame, exprs, joins, present)


def from_local_ledger(spark: SparkSession, ledger: Ledger) -> SparkLedger:
    """A ledger already loaded in this process (data frames given to the API), on Spark."""
    try:
        lines = ledger.lines.collect()
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot read the ledger lines: {exc}") from exc
    return SparkLedger(
        to_spark(spark, lines, LEDGER_SCHEMA),
        ledger.n_lines,
        ledger.sources,
        ledger.layout,
        dict(ledger.column_map),
        ledger.cancel_prefix,
        ledger.service_items,
    )
