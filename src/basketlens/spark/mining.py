"""Rule mining on Spark: the mine stage's own code, on baskets the cluster holds.

:class:`SparkSource` is the Spark engine's :class:`~basketlens.mining.source.BasketSource`;
:func:`mine_on_spark` hands it to :func:`~basketlens.mining.stage.mine_baskets`, the local
stage's second half, so item support, families, every level's rules, names, kinds, mirror
and parent rules and the pruning accounting are the local code. What differs is where each
scope is mined — always by :func:`~basketlens.mining.scopes.mine_scope`:

* **a segment that fits one task** (at most ``scope_max_baskets`` baskets): its baskets go to
  one task (``groupBy(segment).applyInArrow``), which builds the local basket matrix and runs
  ``mine_scope`` at every level (threshold help, Fisher's tests, ``min_customers`` included);
* **all baskets**, and larger segments: ``mine_scope`` on the driver with
  :class:`~basketlens.spark.son.PartsCounts`, whose frequent itemsets are counted exactly
  by partition-then-count (the C miner in every part, the local integer thresholds) and whose
  customer counts are sums over parts that hold whole customers.

Item support per scope is one Spark aggregation; the driver receives counts, itemsets and
rules — never baskets.

Example:
    >>> result = mine_on_spark(lines, assignments, MiningOptions(), items, EngineOptions())
    ... # doctest: +SKIP
    >>> result.rules.table["scope"].unique().sort().to_list()  # doctest: +SKIP
    ['0', '1', 'all']
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from basketlens.errors import ParameterError
from basketlens.mining.counts import BasketCounts
from basketlens.mining.levels import group_vocabulary
from basketlens.mining.options import MiningOptions
from basketlens.mining.scopes import ALL_SCOPE, ScopedRules, ScopeResult, mine_scope, scoped_rules
from basketlens.mining.source import ITEMSETS_SCHEMA, BasketSource
from basketlens.mining.stage import MiningResult, mine_baskets
from basketlens.spark.baskets import SparkParts, basket_rows, part_counts
from basketlens.spark.frames import collect
from basketlens.spark.options import EngineOptions
from basketlens.spark.son import PartsCounts

logger = logging.getLogger(__name__)

__all__ = ["SparkSource", "mine_on_spark"]

_WHOLE = "segment int, blob binary"
#: Baskets per part of the partition-then-count passes (by default).
BASKETS_PER_PART = 1_000_000

LevelGroups = Mapping[str, Mapping[str, str] | None]


def _mine_whole(
    table: pa.Table, vocabulary: tuple[str, ...], options: MiningOptions, levels: LevelGroups
) -> pa.Table:
    """One segment's baskets, in one task: ``mine_scope`` at every level (and the item
    level's itemsets when asked), as the local engine mines a segment."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    out: dict[str, tuple[ScopeResult, pl.DataFrame | None]] = {}
    for level, group_of in levels.items():
        counts = part_counts(frame, vocabulary, group_of)
        result = mine_scope(counts, options)
        found = None
        if level == "item" and options.itemsets and result[0] is not None:
            found = _itemsets_table(counts, result[1]["rules"]["min_count"], options)
        out[level] = (result, found)
    blob = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
    return pa.table({"segment": pa.array([frame["segment"][0]], pa.int32()), "blob": [blob]})


def _itemsets_table(counts: BasketCounts, min_count: int, options: MiningOptions) -> pl.DataFrame:
    """The itemsets of a scope at its rules' min_count (as ``scope_itemsets`` mines them)."""
    return counts.itemsets(
        min_count=min_count,
        max_len=options.max_len,
        max_itemsets=options.max_itemsets,
        max_memory=options.max_memory,
    ).table


class SparkSource(BasketSource):
    """The baskets of a run on Spark (see the module docstring): ``rows`` (persisted basket
    rows, ``ROWS_SCHEMA``), the vocabulary, each scope's baskets and item counts."""

    def __init__(
        self,
        rows: DataFrame,
        vocabulary: tuple[str, ...],
        sizes: dict[str, int],
        item_counts: dict[str, np.ndarray],
        engine: EngineOptions,
        parallelism: int,
    ) -> None:
        self.rows, self.sizes, self.item_counts = rows, sizes, item_counts
        self._vocabulary, self.engine, self.parallelism = vocabulary, engine, parallelism
        self.segments = [s for s in sizes if s != ALL_SCOPE]
        self.whole = [s for s in self.segments if sizes[s] <= engine.scope_max_baskets]
        self._caches: dict[str, dict[int, DataFrame]] = {}
        self._counts: dict[str, PartsCounts] = {}  # item level, per scope mined on the driver
        self._whole_itemsets: dict[str, pl.DataFrame | None] = {}

    @classmethod
    def from_lines(
        cls,
        lines: DataFrame,
        assignments: pl.DataFrame | None,
        vocabulary: tuple[str, ...],
        engine: EngineOptions,
    ) -> SparkSource:
        """Basket rows of cleaned lines (partitioned by basket) and their counts per scope."""
        rows = basket_rows(lines, vocabulary, assignments).persist(StorageLevel.MEMORY_AND_DISK)
        exploded = rows.select("segment", F.explode("codes").alias("code"))
        per_item = collect(exploded.groupBy("segment", "code").agg(F.count(F.lit(1)).alias("n")))
        per_scope = collect(rows.groupBy("segment").agg(F.count(F.lit(1)).alias("n")))
        n_items = len(vocabulary)
        total = np.zeros(n_items, dtype=np.int64)
        np.add.at(total, per_item["code"].to_numpy(), per_item["n"].to_numpy())
        sizes = {ALL_SCOPE: int(per_scope["n"].sum())}
        counts = {ALL_SCOPE: total}
        for seg in sorted(s for s in per_scope["segment"].to_list() if s is not None):
            sizes[str(seg)] = int(per_scope.filter(pl.col("segment") == seg)["n"].item())
            mine = per_item.filter(pl.col("segment") == seg)
            counts[str(seg)] = np.zeros(n_items, dtype=np.int64)
            counts[str(seg)][mine["code"].to_numpy()] = mine["n"].to_numpy()
        parallelism = lines.sparkSession.sparkContext.defaultParallelism
        return cls(rows, vocabulary, sizes, counts, engine, parallelism)

    @property
    def vocabulary(self) -> tuple[str, ...]:
        return self._vocabulary

    def scope_item_counts(self) -> dict[str, tuple[np.ndarray, int]]:
        return {scope: (self.item_counts[scope], n) for scope, n in self.sizes.items()}

    def _partitions(self, scope: str) -> int:
        if self.engine.mining_partitions:
            return self.engine.mining_partitions
        return max(self.parallelism, -(-self.sizes[scope] // BASKETS_PER_PART))

    def _level_vocabulary(self, group_of: Mapping[str, str] | None) -> tuple[str, ...]:
        if group_of is None:
            return self._vocabulary
        return group_vocabulary(self._vocabulary, group_of)

    def _scope_counts(self, scope: str, group_of: Mapping[str, str] | None) -> PartsCounts:
        rows = self.rows
        if scope != ALL_SCOPE:
            rows = rows.filter(F.col("segment") == int(scope))
        items = self._level_vocabulary(group_of)
        parts = SparkParts(
            rows,
            self._vocabulary,
            group_of,
            self._partitions(scope),
            self._caches.setdefault(scope, {}),
        )
        known = self.item_counts[scope] if group_of is None else None
        return PartsCounts(parts, items, self.sizes[scope], item_counts=known)

    def counts(self) -> BasketCounts:
        return self._scope_counts(ALL_SCOPE, None)

    def _mine_wholes(
        self, options: MiningOptions, levels: LevelGroups
    ) -> dict[str, dict[str, tuple[ScopeResult, pl.DataFrame | None]]]:
        if not self.whole:
            return {}
        vocabulary = self._vocabulary
        small = self.rows.filter(F.col("segment").isin([int(s) for s in self.whole]))
        done = small.groupBy("segment").applyInArrow(
            lambda t: _mine_whole(t, vocabulary, options, levels), _WHOLE
        )
        return {str(r["segment"]): pickle.loads(r["blob"]) for r in done.collect()}

    def mine_levels(
        self,
        options: MiningOptions,
        levels: LevelGroups,
        *,
        n_jobs: int | None = -1,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, ScopedRules]:
        whole = self._mine_wholes(options, levels)
        scopes = [ALL_SCOPE, *self.segments]
        out: dict[str, ScopedRules] = {}
        for k, (level, group_of) in enumerate(levels.items()):
            results: dict[str, ScopeResult] = {}
            for done, scope in enumerate(scopes, start=1):
                if scope in whole:
                    results[scope], found = whole[scope][level]
                    if level == "item":
                        self._whole_itemsets[scope] = found
                else:
                    counts = self._scope_counts(scope, group_of)
                    results[scope] = mine_scope(counts, options)
                    if level == "item":
                        self._counts[scope] = counts
                if progress is not None and k == 0:
                    progress(done, len(scopes))
            size = len(self._level_vocabulary(group_of))
            out[level] = scoped_rules(results, options, vocabulary_size=size)
        return out

    def itemsets(self, rules: ScopedRules, options: MiningOptions) -> pl.DataFrame:
        tables = []
        for scope, record in rules.info["scopes"].items():
            min_count = (record.get("rules") or {}).get("min_count")
            if min_count is None:
                continue
            if scope in self._whole_itemsets:
                found = self._whole_itemsets[scope]
            else:
                found = _itemsets_table(self._counts[scope], min_count, options)
            if found is not None:
                tables.append(found.select(pl.lit(scope).alias("scope"), pl.all()))
        if not tables:
            return pl.DataFrame(schema=ITEMSETS_SCHEMA)
        return pl.concat(tables, how="vertical").cast(dict(ITEMSETS_SCHEMA))

    def record(self) -> dict[str, Any]:
        """How each scope was mined (``run.json``: mining → spark)."""
        return {
            "scope_max_baskets": self.engine.scope_max_baskets,
            "whole_scopes": sorted(self._whole_itemsets, key=int),
            "partition_then_count": {s: c.passes() for s, c in self._counts.items()},
        }

    def release(self) -> None:
        """Unpersist the basket rows and every partitioning of them."""
        for cache in self._caches.values():
            for frame in cache.values():
                frame.unpersist()
        self.rows.unpersist()


def mine_on_spark(
    lines: DataFrame,
    assignments: pl.DataFrame | None,
    options: MiningOptions,
    items: pl.DataFrame,
    engine: EngineOptions,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> MiningResult:
    """The mine stage on Spark (same result as :func:`basketlens.mining.run_mining`).

    ``lines``: cleaned lines on Spark, partitioned by basket; ``assignments``:
    ``customer_id`` → ``segment`` (None: scope "all" only); ``items``: the item table (names,
    brands, categories; the vocabulary is its items present in ``lines``).
    """
    options.validate()
    if not options.enabled:
        raise ParameterError("mining is disabled (enabled=False); skip the mine stage instead")
    t0 = time.perf_counter()
    present = {r[0] for r in lines.select("item").distinct().collect()}
    vocabulary = tuple(i for i in items["item"].to_list() if i in present)
    per_segment = options.per_segment and assignments is not None
    source = SparkSource.from_lines(lines, assignments if per_segment else None, vocabulary, engine)
    try:
        result = mine_baskets(source, options, items, n_jobs=1, progress=progress)
    finally:
        source.release()
    result.info["spark"] = {**source.record(), "seconds": round(time.perf_counter() - t0, 3)}
    logger.info("Spark mine stage: %s", result.summary)
    return result
