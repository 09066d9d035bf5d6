"""Tables between Spark and Polars: schemas, Arrow batches, and stage code run per partition.

Spark hands Python workers Arrow record batches; :func:`map_batches` turns each one into a
Polars frame, applies a function (the stages' own Polars code) and hands the result back in
the declared schema; :func:`map_partitions` does the same on a whole partition at once (for
code that must see every line of a basket or a customer: partition by that key first).
Dates are ``timestamp_ntz`` in Spark (wall-clock, like ``Datetime("us")`` in Polars).

Example:
    >>> spark_ddl(pl.Schema({"item": pl.String, "n": pl.Int64}))
    '`item` string, `n` bigint'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

import polars as pl
import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "arrow_schema",
    "collect",
    "from_batches",
    "map_batches",
    "map_partitions",
    "partitioned_by",
    "spark_ddl",
    "to_batches",
    "to_spark",
]

Frame = Callable[..., pl.DataFrame]


def _spark_type(dtype: pl.DataType) -> str:
    if dtype == pl.String:
        return "string"
    if dtype == pl.Float64:
        return "double"
    if dtype in (pl.Int64, pl.UInt64, pl.UInt32):
        return "bigint"
    if dtype in (pl.Int32, pl.Int16, pl.Int8, pl.UInt16, pl.UInt8):
        return "int"
    if dtype == pl.Boolean:
        return "boolean"
    if isinstance(dtype, pl.Datetime):
        return "timestamp_ntz"
    if dtype == pl.Date:
        return "date"
    if dtype == pl.Binary:
        return "binary"
    if isinstance(dtype, pl.List):
        return f"array<{_spark_type(dtype.inner)}>"
    raise TypeError(f"no Spark type for Polars {dtype}")


def _arrow_type(dtype: pl.DataType) -> pa.DataType:
    if dtype == pl.String:
        return pa.string()
    if dtype == pl.Float64:
        return pa.float64()
    if dtype in (pl.Int64, pl.UInt64, pl.UInt32):
        return pa.int64()
    if dtype in (pl.Int32, pl.Int16, pl.Int8, pl.UInt16, pl.UInt8):
        return pa.int32()
    if dtype == pl.Boolean:
        return pa.bool_()
    if isinstance(dtype, pl.Datetime):
        return pa.timestamp("us")
    if dtype == pl.Date:
        return pa.date32()
    if dtype == pl.Binary:
        return pa.binary()
    if isinstance(dtype, pl.List):
        return pa.list_(_arrow_type(dtype.inner))
    raise TypeError(f"no Arrow type for Polars {dtype}")


def spark_ddl(schema: pl.Schema) -> str:
    """The Spark DDL string of a Polars schema (unsigned ints widen, dates are timestamp_ntz)."""
    return ", ".join(f"`{name}` {_spark_type(dtype)}" for name, dtype in schema.items())


def arrow_schema(schema: pl.Schema) -> pa.Schema:
    """The Arrow schema Spark expects back from Python for ``schema`` (no large types)."""
    return pa.schema([(name, _arrow_type(dtype)) for name, dtype in schema.items()])


def to_batches(df: pl.DataFrame, schema: pl.Schema) -> list[pa.RecordBatch]:
    """``df`` in ``schema`` (column order and types) as Arrow batches Spark accepts."""
    table = df.select(schema.names()).cast(dict(schema)).to_arrow()
    return table.cast(arrow_schema(schema)).to_batches()


def from_batches(
    batches: Iterable[pa.RecordBatch], schema: pl.Schema | None = None
) -> pl.DataFrame:
    """One Polars frame from Arrow batches (cast to ``schema`` when given, even when empty)."""
    batches = list(batches)
    if not batches:
        return pl.DataFrame(schema=schema)
    df = pl.from_arrow(pa.Table.from_batches(batches))
    assert isinstance(df, pl.DataFrame)
    return df if schema is None else df.cast(dict(schema))


def _per_batch(
    func: Frame, schema: pl.Schema, in_schema: pl.Schema | None, args: tuple[Any, ...], it: Any
) -> Iterator[pa.RecordBatch]:
    for batch in it:
        if batch.num_rows:
            yield from to_batches(func(from_batches([batch], in_schema), *args), schema)


def _per_partition(
    func: Frame,
    schema: pl.Schema,
    in_schema: pl.Schema | None,
    order_by: str | None,
    args: tuple[Any, ...],
    it: Any,
) -> Iterator[pa.RecordBatch]:
    frame = from_batches(it, in_schema)
    if frame.height:
        if order_by is not None:
            frame = frame.sort(order_by)
        yield from to_batches(func(frame, *args), schema)


def map_batches(
    sdf: DataFrame,
    func: Frame,
    schema: pl.Schema,
    *args: Any,
    in_schema: pl.Schema | None = None,
) -> DataFrame:
    """``func(frame, *args)`` on every Arrow batch of ``sdf`` (row-wise code); out: ``schema``.

    ``func`` must be picklable by reference (a module-level function); ``in_schema`` casts the
    input (Spark's ``bigint`` back to ``UInt64``, for example).
    """
    body = partial(_per_batch, func, schema, in_schema, args)
    return sdf.mapInArrow(body, spark_ddl(schema))


def map_partitions(
    sdf: DataFrame,
    func: Frame,
    schema: pl.Schema,
    *args: Any,
    in_schema: pl.Schema | None = None,
    order_by: str | None = None,
) -> DataFrame:
    """``func(frame, *args)`` once per partition, on all its rows together (sorted by
    ``order_by`` when given, e.g. ``line_no``); out: ``schema``."""
    body = partial(_per_partition, func, schema, in_schema, order_by, args)
    return sdf.mapInArrow(body, spark_ddl(schema))


def partitioned_by(sdf: DataFrame, key: str, partitions: int) -> DataFrame:
    """``sdf`` hash-partitioned by ``key`` (every row of a key value in one partition),
    persisted: the frame stages that aggregate per customer or per item run on.

    Example:
        >>> by_unit = partitioned_by(lines, "unit", 8)  # doctest: +SKIP
    """
    return sdf.repartition(partitions, key).persist(StorageLevel.MEMORY_AND_DISK)


def collect(sdf: DataFrame, schema: pl.Schema | None = None) -> pl.DataFrame:
    """Bring a (small) Spark result to the driver as a Polars frame, via Arrow."""
    table = sdf.toArrow()
    df = pl.from_arrow(table) if table.num_rows else pl.DataFrame(schema=_schema_of(table))
    assert isinstance(df, pl.DataFrame)
    return df if schema is None else df.select(schema.names()).cast(dict(schema))


def _schema_of(table: pa.Table) -> pl.Schema:
    return pl.DataFrame(pa.table({f.name: pa.array([], f.type) for f in table.schema})).schema


def to_spark(spark: SparkSession, df: pl.DataFrame, schema: pl.Schema | None = None) -> DataFrame:
    """A Polars frame as a Spark DataFrame (through the driver: for tables that fit there)."""
    schema = schema or df.schema
    table = pa.Table.from_batches(to_batches(df, schema), arrow_schema(schema))
    return spark.createDataFrame(table, schema=spark_ddl(schema))
