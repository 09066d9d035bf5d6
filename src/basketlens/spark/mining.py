"""Rule mining on Spark: exact counts over every basket, the local rules code on top.

Baskets are built inside the basket partitions left by cleaning (item codes on the one
vocabulary of the item table, the first unit's segment). Then, per scope:

* **all baskets**, and any segment with more than ``scope_max_baskets`` baskets: the
  partition-then-count miner (:mod:`basketlens.spark.son`) with the C miner in each
  partition, at the same integer ``min_count`` the local engine uses — given
  (``min_support`` → ``⌈s·N⌉``, ``min_count``) or found by threshold help on the exact global
  counts (:mod:`basketlens.spark.threshold`). The frequent itemsets and their counts are
  identical to the local miner's, and the rules come from them through the local rules code
  (:meth:`Itemsets.rules`, then pruning, significance and ``top`` as ``mine_rules`` does);
* **a segment that fits one task**: ``groupBy(segment).applyInArrow`` runs the local
  :func:`~basketlens.mining.scopes.mine_scopes` (threshold help included) on its baskets in
  line order — the very code and the very basket matrix of the local engine.

Item support is one Spark aggregation per scope and item.

Example:
    >>> options = MiningOptions()
    >>> result = mine_on_spark(lines, seg, options, items, EngineOptions())  # doctest: +SKIP
    >>> result.rules.table["scope"].unique().sort().to_list()  # doctest: +SKIP
    ['0', '1', 'all']
"""

from __future__ import annotations

import io
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from basketlens.errors import MiningBudgetError, ParameterError
from basketlens.items import item_names
from basketlens.mining.encode import BasketMatrix
from basketlens.mining.itemsets import Itemsets, mine_itemsets, resolve_min_count
from basketlens.mining.options import MiningOptions
from basketlens.mining.rules import Rules, count_rules, rule_filters
from basketlens.mining.scopes import ALL_SCOPE, ScopedRules, _scope_table, mine_scopes
from basketlens.mining.stage import ITEMSETS_SCHEMA, MiningResult, scope_itemsets
from basketlens.mining.thresholds import SEARCH_BUDGET, ThresholdProbe, _bounds
from basketlens.schema import ITEM_SUPPORT_SCHEMA
from basketlens.spark.frames import collect, map_partitions, to_spark
from basketlens.spark.options import EngineOptions
from basketlens.spark.son import count_candidates, local_min_count, unique_itemsets
from basketlens.spark.threshold import search_min_count

logger = logging.getLogger(__name__)

__all__ = ["BASKETS_SCHEMA", "basket_rows", "mine_on_spark"]

#: One row per basket: where it starts in the ledger, its first unit's segment, its items.
BASKETS_SCHEMA = pl.Schema(
    {
        "basket": pl.String,
        "first_line": pl.Int64,
        "unit": pl.String,
        "codes": pl.List(pl.Int32),
    }
)
_LINES = pl.Schema({"basket": pl.String, "item": pl.String, "unit": pl.String, "line_no": pl.Int64})
_ROWS = pl.Schema({**BASKETS_SCHEMA, "segment": pl.Int32})
_LOCAL = pl.Schema({"codes": pl.List(pl.Int32), "exceeded": pl.Boolean})
_COUNTS = pl.Schema({"counts": pl.List(pl.Int64)})
_WHOLE = "scope string, rules binary, itemsets binary, info string"
#: The partition-then-count miner keeps each partition's threshold at least this high.
MIN_LOCAL_COUNT = 4
#: A partition may find this many times the itemset budget (candidates) before giving up.
LOCAL_BUDGET_FACTOR = 4


# ------------------------------------------------------------------ baskets
def _baskets(frame: pl.DataFrame, vocabulary: pl.Enum) -> pl.DataFrame:
    """The partition's baskets (all their lines are here): codes ascending, first unit."""
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
    """One row per basket (``BASKETS_SCHEMA`` + ``segment``), from lines partitioned by basket."""
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


def _matrix(frame: pl.DataFrame, vocabulary: tuple[str, ...]) -> BasketMatrix:
    codes = frame["codes"]
    lengths = codes.list.len().to_numpy().astype(np.int64)
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = codes.explode().drop_nulls().to_numpy().astype(np.int32)
    return BasketMatrix(indptr, indices, vocabulary)


# ------------------------------------------------------------------ partition-then-count
def _local_itemsets(
    frame: pl.DataFrame, min_count: int, n_total: int, max_len: int | None, budget: int | None,
    vocabulary: tuple[str, ...],
) -> pl.DataFrame:  # fmt: skip
    """Phase 1 in one partition: its frequent itemsets at the scaled threshold."""
    matrix = _matrix(frame, vocabulary)
    local = local_min_count(min_count, matrix.n_baskets, n_total)
    try:
        found = mine_itemsets(matrix, min_count=local, max_len=max_len, max_itemsets=budget)
    except MiningBudgetError:
        return pl.DataFrame({"codes": [None], "exceeded": [True]}, schema=_LOCAL)
    flat, offsets, _ = found.frequent_arrays()
    lists = pl.Series("codes", np.split(flat, offsets[1:-1]) if len(offsets) > 1 else [])
    return pl.DataFrame({"codes": lists}).with_columns(exceeded=pl.lit(False)).cast(dict(_LOCAL))


def _partition_counts(
    frame: pl.DataFrame, flat: np.ndarray, offsets: np.ndarray, vocabulary: tuple[str, ...]
) -> pl.DataFrame:
    """Phase 2 in one partition: the count of every candidate among its baskets."""
    counts = count_candidates(_matrix(frame, vocabulary), flat, offsets)
    return pl.DataFrame({"counts": [counts]}, schema=_COUNTS)


@dataclass
class _Shape:
    """What :class:`Itemsets` reads from a basket matrix: the vocabulary and the basket count."""

    items: tuple[str, ...]
    n_baskets: int


class GlobalCounts:
    """Exact frequent itemsets of one scope's baskets on Spark, mined once per new low threshold.

    ``frequent(mc)`` answers from the counts mined at the lowest threshold so far when it is
    at most ``mc`` (filtering counts ≥ ``mc``), else runs the partition-then-count miner at
    ``mc``. The itemset budget is checked on the global count, as the local miner does.
    """

    def __init__(
        self,
        rows: DataFrame,
        n_baskets: int,
        vocabulary: tuple[str, ...],
        max_len: int | None,
        partitions: int,
    ) -> None:
        self.rows, self.n_baskets, self.vocabulary = rows, n_baskets, vocabulary
        self.max_len, self.partitions = max_len, partitions
        self.mined: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
        self.exceeded_at = 0  # the local budget was exceeded at this min_count (and below)
        self.passes: list[dict[str, Any]] = []
        self._parts: dict[int, DataFrame] = {}

    def _rows_in(self, n: int) -> DataFrame:
        if n not in self._parts:
            self._parts[n] = self.rows.repartition(n).persist(StorageLevel.MEMORY_AND_DISK)
        return self._parts[n]

    def _mine(self, mc: int, budget: int | None) -> bool:
        """Run the miner at ``mc``; False when a partition exceeded its candidate budget."""
        t0 = time.perf_counter()
        n_parts = max(1, min(self.partitions, mc // MIN_LOCAL_COUNT, self.n_baskets))
        rows = self._rows_in(n_parts)
        local_budget = None if budget is None else LOCAL_BUDGET_FACTOR * budget
        found = collect(
            map_partitions(
                rows,
                _local_itemsets,
                _LOCAL,
                mc,
                self.n_baskets,
                self.max_len,
                local_budget,
                self.vocabulary,
                in_schema=_ROWS,
            )
        )
        if found["exceeded"].any():
            self.exceeded_at = max(self.exceeded_at, mc)
            self.passes.append({"min_count": mc, "partitions": n_parts, "exceeded": True})
            return False
        lists = found["codes"]
        lengths = lists.list.len().to_numpy().astype(np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat, offsets = unique_itemsets(lists.explode().to_numpy().astype(np.int32), offsets)
        partial = collect(
            map_partitions(
                rows, _partition_counts, _COUNTS, flat, offsets, self.vocabulary, in_schema=_ROWS
            )
        )
        counts = np.zeros(len(offsets) - 1, dtype=np.int64)
        for part in partial["counts"].to_list():
            counts += np.asarray(part, dtype=np.int64)
        keep = counts >= mc
        lengths = np.diff(offsets)[keep]
        mask = np.repeat(keep, np.diff(offsets))
        new_off = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=new_off[1:])
        self.mined = (mc, flat[mask], new_off, counts[keep])
        self.passes.append(
            {
                "min_count": mc,
                "partitions": n_parts,
                "candidates": len(counts),
                "frequent": int(keep.sum()),
                "seconds": round(time.perf_counter() - t0, 3),
            }
        )
        logger.info(
            "partition-then-count at min_count=%d over %d partitions: %d candidates, %d frequent",
            mc,
            n_parts,
            len(counts),
            int(keep.sum()),
        )
        return True

    def frequent(self, mc: int, budget: int | None) -> tuple[np.ndarray, ...] | None:
        """(flat, offsets, counts) of the itemsets with at least ``mc`` baskets; None when
        there are more than ``budget``."""
        if mc <= self.exceeded_at:
            return None
        if (self.mined is None or self.mined[0] > mc) and not self._mine(mc, budget):
            return None
        assert self.mined is not None
        _, flat, offsets, counts = self.mined
        keep = counts >= mc
        if budget is not None and int(keep.sum()) > budget:
            return None
        lengths = np.diff(offsets)[keep]
        new_off = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=new_off[1:])
        return flat[np.repeat(keep, np.diff(offsets))], new_off, counts[keep]

    def itemsets(self, mc: int, min_support: float | None, budget: int | None) -> Itemsets:
        """The frequent itemsets at ``mc`` as an :class:`Itemsets` (rules come from it)."""
        arrays = self.frequent(mc, budget)
        if arrays is None:
            raise MiningBudgetError(
                f"more than max_itemsets={budget:,} frequent itemsets at min_count={mc} of "
                f"{self.n_baskets:,} baskets; raise min_support, set max_len, or raise "
                "max_itemsets"
            )
        flat, offsets, counts = arrays
        info = {
            "algorithm": "partition-then-count (C miner per partition)",
            "target": "all",
            "min_count": mc,
            "min_support": min_support,
            "max_len": self.max_len,
            "n_baskets": self.n_baskets,
            "n_items": len(self.vocabulary),
            "n_itemsets": len(counts),
            "n_frequent": len(counts),
            "elapsed_s": sum(p.get("seconds", 0.0) for p in self.passes),
            "fingerprint": None,
            "passes": list(self.passes),
        }
        return Itemsets(
            matrix=_Shape(self.vocabulary, self.n_baskets),  # type: ignore[arg-type]
            min_count=mc,
            min_support=min_support,
            target="all",
            all_arrays=(flat.astype(np.int32), offsets.astype(np.int64), counts.astype(np.int64)),
            keep=None,
            info=info,
        )

    def release(self) -> None:
        for frame in self._parts.values():
            frame.unpersist()


def _probe(counts: GlobalCounts, mc: int, opts: MiningOptions, budget: int) -> ThresholdProbe:
    t0 = time.perf_counter()
    arrays = counts.frequent(mc, budget)
    if arrays is None:
        return ThresholdProbe(mc, None, None, True, round(time.perf_counter() - t0, 6))
    its = counts.itemsets(mc, None, budget)
    n_rules = count_rules(its, **rule_filters(opts))
    return ThresholdProbe(mc, len(its), n_rules, False, round(time.perf_counter() - t0, 6))


def _son_rules(
    counts: GlobalCounts, item_counts: np.ndarray, opts: MiningOptions
) -> tuple[Rules, Itemsets]:
    """``mine_rules`` on the global counts: threshold help, itemsets, rules, pruning, top."""
    search = None
    if opts.searches_threshold:
        budget = SEARCH_BUDGET if opts.max_itemsets is None else opts.max_itemsets
        lo, hi = _bounds(_Counted(item_counts), opts.min_len, None)  # type: ignore[arg-type]
        search = search_min_count(
            lambda mc: _probe(counts, mc, opts, budget),
            lo=lo,
            hi=hi,
            n_baskets=counts.n_baskets,
            target_rules=opts.target_rules or 0,
            budget=budget,
        )
        min_count = search.min_count
    else:
        min_count = resolve_min_count(
            counts.n_baskets, min_support=opts.min_support, min_count=opts.min_count
        )
    itemsets = counts.itemsets(min_count, opts.min_support, opts.max_itemsets)
    rules = itemsets.rules(**rule_filters(opts), measures=opts.measures, sort_by=opts.sort_by)
    if opts.prune_redundant:
        rules = rules.prune_redundant()
    if opts.significant is not None:
        rules = rules.significant(alpha=opts.significant, adjust=opts.adjust)
    if opts.top is not None:
        rules = rules.top(opts.top, by=opts.sort_by)
    info = {**rules.info, "threshold_search": None if search is None else search.to_dict()}
    return Rules(rules.table, info), itemsets


@dataclass
class _Counted:
    """What the threshold bounds read from a basket matrix: the item counts."""

    counts: np.ndarray

    def item_counts(self) -> np.ndarray:
        return self.counts


# ------------------------------------------------------------------ whole scopes
def _ipc(frame: pl.DataFrame | None) -> bytes | None:
    if frame is None:
        return None
    buffer = io.BytesIO()
    frame.write_ipc(buffer)
    return buffer.getvalue()


def _json_default(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)


def _mine_whole(table: pa.Table, vocabulary: tuple[str, ...], options: MiningOptions) -> pa.Table:
    """One segment's baskets, in line order, mined by the local ``mine_scopes``."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.sort("first_line")
    scope = str(frame["segment"][0])
    matrix = _matrix(frame, vocabulary)
    rows = {scope: np.arange(matrix.n_baskets, dtype=np.int64)}
    found = mine_scopes(matrix, rows, options, include_all=False)
    rules = found.rules[scope]
    itemsets = scope_itemsets(matrix, rows, found, options) if options.itemsets else None
    return pa.table(
        {
            "scope": [scope],
            "rules": pa.array([_ipc(None if rules is None else rules.table)], pa.binary()),
            "itemsets": pa.array([_ipc(itemsets)], pa.binary()),
            "info": [json.dumps(found.info["scopes"][scope], default=_json_default)],
        }
    )


def _read_ipc(blob: bytes | None) -> pl.DataFrame | None:
    return None if blob is None else pl.read_ipc(io.BytesIO(blob))


# ------------------------------------------------------------------ the stage
def _item_support(
    counts: dict[str, np.ndarray], sizes: dict[str, int], vocabulary: tuple[str, ...],
    names: dict[str, str],
) -> pl.DataFrame:  # fmt: skip
    """``ITEM_SUPPORT_SCHEMA`` rows per scope, built as the local ``item_support`` builds them."""
    items = pl.Series("item", vocabulary, dtype=pl.String)
    frames = []
    for scope, per_item in counts.items():
        present = np.flatnonzero(per_item)
        df = pl.DataFrame(
            {
                "item": items.gather(present),
                "baskets": per_item[present],
                "support": per_item[present] / max(sizes[scope], 1),
            }
        )
        df = df.sort(["baskets", "item"], descending=[True, False]).with_columns(
            scope=pl.lit(scope),
            item_name=pl.col("item").replace_strict(names, default=None, return_dtype=pl.String),
            rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int32),
        )
        frames.append(df.select(list(ITEM_SUPPORT_SCHEMA)).cast(dict(ITEM_SUPPORT_SCHEMA)))
    if not frames:
        return pl.DataFrame(schema=ITEM_SUPPORT_SCHEMA)
    return pl.concat(frames, how="vertical")


def mine_on_spark(
    lines: DataFrame,
    assignments: pl.DataFrame | None,
    options: MiningOptions,
    items: pl.DataFrame,
    engine: EngineOptions,
) -> MiningResult:
    """The mine stage on Spark (same result as :func:`basketlens.mining.run_mining`).

    ``lines``: cleaned lines on Spark, partitioned by basket; ``assignments``:
    ``customer_id`` → ``segment`` (None: scope "all" only); ``items``: the item table (its
    ``item`` column is the vocabulary).
    """
    options.validate()
    if not options.enabled:
        raise ParameterError("mining is disabled (enabled=False); skip the mine stage instead")
    t0 = time.perf_counter()
    vocabulary = tuple(items["item"].to_list())
    per_segment = options.per_segment and assignments is not None
    rows = basket_rows(lines, vocabulary, assignments if per_segment else None)
    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)
    exploded = rows.select("segment", F.explode("codes").alias("code"))
    per_item = collect(exploded.groupBy("segment", "code").agg(F.count(F.lit(1)).alias("n")))
    sizes_df = collect(rows.groupBy("segment").agg(F.count(F.lit(1)).alias("n")))
    n_items = len(vocabulary)
    sizes = {ALL_SCOPE: int(sizes_df["n"].sum())}
    counts = {ALL_SCOPE: np.zeros(n_items, dtype=np.int64)}
    np.add.at(counts[ALL_SCOPE], per_item["code"].to_numpy(), per_item["n"].to_numpy())
    segments = sorted(s for s in sizes_df["segment"].to_list() if s is not None)
    for seg in segments:
        scope = str(seg)
        sizes[scope] = int(sizes_df.filter(pl.col("segment") == seg)["n"].item())
        mine = per_item.filter(pl.col("segment") == seg)
        counts[scope] = np.zeros(n_items, dtype=np.int64)
        counts[scope][mine["code"].to_numpy()] = mine["n"].to_numpy()
    names = item_names(items, ids=vocabulary)
    support = _item_support(counts, sizes, vocabulary, names)

    parallelism = lines.sparkSession.sparkContext.defaultParallelism
    whole = [s for s in segments if sizes[str(s)] <= engine.scope_max_baskets]
    mined_whole: dict[str, tuple[pl.DataFrame | None, pl.DataFrame | None, dict]] = {}
    if whole:
        small = rows.filter(F.col("segment").isin(whole))
        done = small.groupBy("segment").applyInArrow(
            lambda t: _mine_whole(t, vocabulary, options), _WHOLE
        )
        for rec in done.collect():
            mined_whole[rec["scope"]] = (
                _read_ipc(rec["rules"]),
                _read_ipc(rec["itemsets"]),
                json.loads(rec["info"]),
            )

    per_rules: dict[str, Rules | None] = {}
    per_info: dict[str, dict[str, Any]] = {}
    itemset_tables: list[pl.DataFrame] = []
    for scope in [ALL_SCOPE, *(str(s) for s in segments)]:
        if scope in mined_whole:
            table, found, record = mined_whole[scope]
            per_rules[scope] = None if table is None else Rules(table, record.get("rules") or {})
            per_info[scope] = record
            if found is not None:
                itemset_tables.append(found)
            continue
        rules, record, found = _mine_big(
            rows if scope == ALL_SCOPE else rows.filter(F.col("segment") == int(scope)),
            scope, sizes[scope], counts[scope], vocabulary, options, engine, parallelism,
        )  # fmt: skip
        per_rules[scope], per_info[scope] = rules, record
        if found is not None and options.itemsets:
            itemset_tables.append(found.table.select(pl.lit(scope).alias("scope"), pl.all()))
    rows.unpersist()

    empty = _empty_scopes(vocabulary, options)
    frames = [_scope_table(s, r.table) for s, r in per_rules.items() if r is not None]
    table = pl.concat([empty.table, *frames], how="vertical") if frames else empty.table
    info = {**empty.info, "n_jobs": parallelism, "n_rules": table.height, "scopes": per_info}
    info["engine"] = {
        "name": "spark",
        "scope_max_baskets": engine.scope_max_baskets,
        "whole_scopes": sorted(mined_whole),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    scoped = ScopedRules(table, per_rules, info).with_item_names(items)
    itemsets = None
    if options.itemsets:
        itemsets = (
            pl.concat(itemset_tables, how="vertical").cast(dict(ITEMSETS_SCHEMA))
            if itemset_tables
            else pl.DataFrame(schema=ITEMSETS_SCHEMA)
        )
    result_info = {"enabled": True, "rules": scoped.info, "n_rules": scoped.table.height}
    logger.info("Spark mine stage: %d rules, %d scopes", scoped.table.height, len(per_info))
    return MiningResult(rules=scoped, item_support=support, itemsets=itemsets, info=result_info)


def _empty_scopes(vocabulary: tuple[str, ...], options: MiningOptions) -> ScopedRules:
    """``mine_scopes`` on no scope: the run's parameter record and the empty rules table."""
    nothing = BasketMatrix(np.zeros(1, np.int64), np.zeros(0, np.int32), vocabulary)
    return mine_scopes(nothing, {}, options, include_all=False)


def _mine_big(
    rows: DataFrame,
    scope: str,
    n_baskets: int,
    item_counts: np.ndarray,
    vocabulary: tuple[str, ...],
    options: MiningOptions,
    engine: EngineOptions,
    parallelism: int,
) -> tuple[Rules | None, dict[str, Any], Itemsets | None]:
    """One scope by partition-then-count, with the per-scope record ``mine_scopes`` writes."""
    t0 = time.perf_counter()
    base: dict[str, Any] = {"n_baskets": n_baskets}
    min_scope = options.min_scope_baskets
    if n_baskets < min_scope:
        base.update(
            n_rules=0,
            note=f"scope has {n_baskets} baskets; at least "
            f"min_scope_baskets={min_scope} are needed to mine rules",
        )
        return None, base, None
    partitions = engine.mining_partitions or max(parallelism, -(-n_baskets // 1_000_000))
    counts = GlobalCounts(rows, n_baskets, vocabulary, options.max_len, partitions)
    try:
        rules, itemsets = _son_rules(counts, item_counts, options.validate())
    finally:
        counts.release()
    base.update(
        n_rules=len(rules),
        seconds=round(time.perf_counter() - t0, 6),
        note=None,
        rules=rules.info,
    )
    return rules, base, itemsets
