"""Baskets on Spark: one row per basket, cut into parts that hold whole customers, and the
:class:`~basketlens.mining.counts.BasketCounts` mining reads them through.

Baskets are built inside the basket partitions cleaning leaves (every line of a basket is in
one partition): item codes on the run's one vocabulary, ascending and unique, the first line
and the first unit (in line order, as the local matrix takes them) and that unit's segment.
The rows are then hash-partitioned by unit, so a part holds every basket of its customers:
the customers behind a rule, and the customer-level counts of item families, are sums over
parts. Each Spark task builds its part's :class:`~basketlens.mining.encode.BasketMatrix` (the
level's groups applied with the local ``group_matrix``) and asks the local
:class:`~basketlens.mining.counts.MatrixCounts` — so every count is the local definition,
added up by :class:`~basketlens.spark.son.PartsCounts`.

Example:
    >>> rows = basket_rows(cleaned.lines, vocabulary, assignments)  # doctest: +SKIP
    >>> counts = PartsCounts(SparkParts(rows, vocabulary, None, 4), vocabulary, n)  # doctest: +SKIP
    >>> counts.itemsets(min_count=20, max_len=4).table.height  # doctest: +SKIP
    812
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import polars as pl
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from basketlens.errors import ParameterError
from basketlens.mining.counts import MatrixCounts
from basketlens.mining.encode import BasketMatrix
from basketlens.mining.levels import group_matrix
from basketlens.spark.frames import collect, map_partitions, to_spark

__all__ = ["BASKETS_SCHEMA", "ROWS_SCHEMA", "SparkParts", "basket_rows", "part_counts"]

#: One row per basket: its first line, its first unit, its item codes (ascending, unique).
BASKETS_SCHEMA = pl.Schema(
    {
        "basket": pl.String,
        "first_line": pl.Int64,
        "unit": pl.String,
        "codes": pl.List(pl.Int32),
    }
)
#: The basket rows mining reads: ``BASKETS_SCHEMA`` and the segment of the unit (null: none).
ROWS_SCHEMA = pl.Schema({**BASKETS_SCHEMA, "segment": pl.Int32})
_LINES = pl.Schema({"basket": pl.String, "item": pl.String, "unit": pl.String, "line_no": pl.Int64})
_BLOB = pl.Schema({"blob": pl.Binary})


def _baskets(frame: pl.DataFrame, vocabulary: pl.Enum) -> pl.DataFrame:
    """The partition's baskets (all their lines are here), in order of their first line."""
    if frame["item"].null_count():
        raise ParameterError("lines have a missing item; clean with drop_missing_ids=True")
    return (
        frame.sort("line_no")
        .group_by("basket", maintain_order=True)
        .agg(
            pl.col("line_no").first().alias("first_line"),
            pl.col("unit").first(),
            pl.col("item")
            .cast(vocabulary)
            .to_physical()
            .cast(pl.Int32)
            .unique()
            .sort()
            .alias("codes"),
        )
    )


def basket_rows(
    lines: DataFrame, vocabulary: tuple[str, ...], assignments: pl.DataFrame | None
) -> DataFrame:
    """One row per basket (``ROWS_SCHEMA``) from cleaned lines partitioned by basket;
    ``assignments``: ``customer_id`` → ``segment`` (None: every segment null)."""
    rows = map_partitions(
        lines.select(*_LINES.names()),
        _baskets,
        BASKETS_SCHEMA,
        pl.Enum(list(vocabulary)),
        in_schema=_LINES,
    )
    if assignments is None:
        return rows.withColumn("segment", F.lit(None).cast("int"))
    seg = to_spark(
        lines.sparkSession,
        assignments.select(
            pl.col("customer_id").cast(pl.String).alias("unit"), pl.col("segment").cast(pl.Int32)
        ).unique("unit", keep="first"),
    )
    return rows.join(F.broadcast(seg), on="unit", how="left")


def part_counts(
    frame: pl.DataFrame, vocabulary: tuple[str, ...], group_of: Mapping[str, str] | None
) -> MatrixCounts:
    """The local counts of a part's basket rows: the matrix in basket order (first line), on
    the vocabulary (grouped by ``group_of`` when given), and each basket's unit code."""
    frame = frame.sort("first_line")
    codes = frame["codes"]
    lengths = codes.list.len().to_numpy().astype(np.int64)
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = codes.explode().drop_nulls().to_numpy().astype(np.int32)
    matrix = BasketMatrix(indptr, indices, vocabulary)
    if group_of is not None:
        matrix = group_matrix(matrix, group_of)
    units = frame["unit"].fill_null("").rank("dense").cast(pl.Int64) - 1
    return MatrixCounts(matrix, units.to_numpy())


def _run_part(
    frame: pl.DataFrame,
    vocabulary: tuple[str, ...],
    group_of: Mapping[str, str] | None,
    func: Callable[..., Any],
    args: tuple[Any, ...],
) -> pl.DataFrame:
    result = func(part_counts(frame, vocabulary, group_of), *args)
    return pl.DataFrame({"blob": [pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)]})


class SparkParts:
    """One scope's basket rows on Spark, cut into parts by unit (the
    :class:`~basketlens.spark.son.Parts` of :class:`~basketlens.spark.son.PartsCounts`);
    ``group_of`` groups the items of a level above them; ``partitions``: the parts of the
    passes that add counts up."""

    def __init__(
        self,
        rows: DataFrame,
        vocabulary: tuple[str, ...],
        group_of: Mapping[str, str] | None,
        partitions: int,
        cache: dict[int, DataFrame] | None = None,
    ) -> None:
        self.rows, self.vocabulary, self.group_of = rows, vocabulary, group_of
        self.partitions = partitions
        self.cache = {} if cache is None else cache  # shared by the levels of one scope

    def by_unit(self, n_parts: int) -> DataFrame:
        """The rows in ``n_parts`` partitions by unit (persisted, reused)."""
        if n_parts not in self.cache:
            frame = self.rows.repartition(n_parts, "unit")
            self.cache[n_parts] = frame.persist(StorageLevel.MEMORY_AND_DISK)
        return self.cache[n_parts]

    def __call__(
        self, n_parts: int, func: Callable[..., Any], args: tuple[Any, ...] = ()
    ) -> list[Any]:
        out = map_partitions(
            self.by_unit(n_parts),
            _run_part,
            _BLOB,
            self.vocabulary,
            self.group_of,
            func,
            args,
            in_schema=ROWS_SCHEMA,
        )
        return [pickle.loads(blob) for blob in collect(out, _BLOB)["blob"].to_list()]
