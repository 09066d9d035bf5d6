"""Cleaned lines on Spark, in the two partitionings the stages need.

Cleaning leaves the lines hash-partitioned by basket (mining builds baskets there); the stages
that aggregate per customer — features, the customer × item purchases, the recommender, the
backtest's test spend — read the same lines hash-partitioned by unit, persisted once. A
filter (the backtest's split) keeps both partitionings.

Example:
    >>> lines = SparkLines.of(cleaned)  # doctest: +SKIP
    >>> train = lines.where(F.col("date") < F.lit(split))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame

from basketlens.spark.clean import SparkCleaned
from basketlens.spark.features import FEATURE_COLUMNS
from basketlens.spark.frames import partitioned_by
from basketlens.spark.purchases import PURCHASE_COLUMNS

__all__ = ["UNIT_COLUMNS", "SparkLines"]

#: The columns of the lines partitioned by unit: what features and purchases read.
UNIT_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys((*FEATURE_COLUMNS, *PURCHASE_COLUMNS)))


@dataclass(frozen=True)
class SparkLines:
    """``lines``: cleaned lines partitioned by basket; ``by_unit``: the same lines
    (:data:`UNIT_COLUMNS`) partitioned by unit; ``partitions``: how many of each."""

    lines: DataFrame
    by_unit: DataFrame
    partitions: int

    @classmethod
    def of(cls, cleaned: SparkCleaned) -> SparkLines:
        """The cleaned lines and their partitioning by unit (persisted)."""
        by_unit = partitioned_by(cleaned.lines.select(*UNIT_COLUMNS), "unit", cleaned.partitions)
        return cls(cleaned.lines, by_unit, cleaned.partitions)

    def where(self, condition: Column) -> SparkLines:
        """The lines for which ``condition`` holds, in both partitionings."""
        return SparkLines(
            self.lines.filter(condition), self.by_unit.filter(condition), self.partitions
        )

    def count(self) -> int:
        """Number of lines."""
        return self.by_unit.count()

    def release(self) -> None:
        """Unpersist both partitionings."""
        self.by_unit.unpersist()
        self.lines.unpersist()
