"""Backtest: do the recommendations convert? Fit before a date, measure after it.

The cleaned lines are split at ``split`` (lines dated before it train, lines on or after it
test). The whole analysis — features, segmentation, rule mining — is fitted on the training
lines only (the pipeline's ``run_backtest`` fits the stages on them and calls
:func:`evaluate`), so nothing from after the split can leak into it. Every customer active
before the split then gets ``top_n`` items they had never bought, from each method:

* ``segment_rules`` – the rules mined in the customer's segment only;
* ``global_rules`` – the rules mined on all orders only;
* ``segment_then_global`` – what ``recommendations.parquet`` does: segment rules first, global
  rules fill in (:func:`basketlens.opportunities.recommend`);
* ``popularity`` – the items bought by the most customers of the customer's segment;
* ``random`` – items drawn uniformly from the training catalogue (``seed``).

Measures over the ``customers`` active before the split (customers with no recommendation
count as misses): ``hit_rate`` = share of customers who bought at least one recommended item
after the split; ``precision`` = hits / (customers × top_n); ``recall`` = mean, over the
customers who bought at least one item new to them after the split, of the share of those new
items that were recommended; ``hit_revenue`` = net sales after the split of the hit
(customer, item) pairs.

Example:
    >>> from basketlens.pipeline import run_backtest
    >>> result = run_backtest(config)                                          # doctest: +SKIP
    >>> result.table.select("method", "hit_rate", "precision", "recall")       # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl

from basketlens.backtest.options import BacktestOptions
from basketlens.errors import EmptyInputError, ParameterError
from basketlens.opportunities.matrix import CustomerItems
from basketlens.opportunities.opportunities import find_opportunities
from basketlens.opportunities.recommendations import recommend

logger = logging.getLogger(__name__)

__all__ = [
    "BACKTEST_SCHEMA",
    "METHODS",
    "BacktestResult",
    "evaluate",
    "resolve_split",
    "split_lines",
]

#: Methods compared, in table order.
METHODS: tuple[str, ...] = (
    "segment_rules",
    "global_rules",
    "segment_then_global",
    "popularity",
    "random",
)
_RULE_SOURCES = {
    "segment_rules": "segment",
    "global_rules": "all",
    "segment_then_global": "segment_then_all",
}

BACKTEST_SCHEMA: pl.Schema = pl.Schema(
    {
        "method": pl.String,
        "top_n": pl.Int32,
        "split": pl.Datetime("us"),
        "customers": pl.Int64,
        "customers_with_recs": pl.Int64,
        "customers_with_new_items": pl.Int64,
        "recommendations": pl.Int64,
        "hits": pl.Int64,
        "hit_customers": pl.Int64,
        "hit_rate": pl.Float64,
        "precision": pl.Float64,
        "recall": pl.Float64,
        "hit_revenue": pl.Float64,
    }
)


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """The measures (``table``, ``BACKTEST_SCHEMA``), every recommendation made with whether
    it hit (``recommendations``: method, customer_id, rank, item, hit, revenue) and the split."""

    table: pl.DataFrame
    recommendations: pl.DataFrame
    split: datetime
    train_lines: int
    test_lines: int
    seconds: float


def resolve_split(lines: pl.DataFrame, options: BacktestOptions) -> datetime:
    """The split instant: ``options.split`` itself, or the day after the last date minus N months.

    Example:
        >>> from datetime import datetime
        >>> lines = pl.DataFrame({"date": [datetime(2011, 1, 5), datetime(2011, 12, 9, 12)]})
        >>> resolve_split(lines, BacktestOptions(holdout_months=3))
        datetime.datetime(2011, 9, 10, 0, 0)
    """
    options.validate()
    split, holdout_months = options.split, options.holdout_months
    if split is None and holdout_months is None:
        raise ParameterError("give a split date (--split 2011-09-01) or --holdout-months N")
    if holdout_months is not None:
        last = lines["date"].max()
        if last is None:
            raise EmptyInputError("the ledger has no dated lines to split")
        day_after = pl.Series([last]).dt.truncate("1d").dt.offset_by("1d")
        return day_after.dt.offset_by(f"-{holdout_months}mo").item()
    try:
        return datetime.fromisoformat(str(split).strip())
    except ValueError:
        raise ParameterError(f"split must be a date like 2011-09-01; got {split!r}") from None


def split_lines(lines: pl.DataFrame, at: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(training lines before ``at``, test lines on or after it); both must be non-empty."""
    train = lines.filter(pl.col("date") < at)
    test = lines.filter(pl.col("date") >= at)
    if train.height == 0 or test.height == 0:
        first, last = lines["date"].min(), lines["date"].max()
        side = "before" if train.height == 0 else "on or after"
        raise ParameterError(
            f"split {at:%Y-%m-%d} leaves no lines {side} it; the ledger runs from "
            f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"
        )
    logger.info(
        "backtest split %s: %d training lines, %d test lines", at, train.height, test.height
    )
    return train, test


def evaluate(
    train: pl.DataFrame,
    test: pl.DataFrame,
    *,
    rules: pl.DataFrame,
    customers: pl.DataFrame,
    split: datetime,
    options: BacktestOptions,
    started: float | None = None,
) -> BacktestResult:
    """Measure every method on ``test`` with what was fitted on ``train`` (rules, segments).

    ``rules``: the rules table mined on the training lines; ``customers``: customer_id,
    customer_name, segment, segment_name of the training customers.
    """
    started = time.perf_counter() if started is None else started
    top_n, seed = options.top_n, options.seed
    matrix = CustomerItems.from_lines(train)
    customers = customers.select("customer_id", "customer_name", "segment", "segment_name")
    opp = find_opportunities(matrix, rules, customers)
    recs = {
        method: recommend(opp, top_n=top_n, source=source).select("customer_id", "rank", "item")
        for method, source in _RULE_SOURCES.items()
    }
    recs["popularity"] = _popularity(matrix, customers, top_n)
    recs["random"] = _random(matrix, top_n, seed)
    new_items = _new_items(test, matrix)
    rows, made = [], []
    for method in METHODS:
        scored = _score(recs[method], new_items)
        made.append(scored.with_columns(method=pl.lit(method)))
        rows.append(_measures(method, scored, new_items, matrix.n_customers, top_n, split))
    table = pl.DataFrame(rows, schema=BACKTEST_SCHEMA, orient="row")
    recommendations = pl.concat(made).select(
        "method", "customer_id", "rank", "item", "hit", "revenue"
    )
    return BacktestResult(
        table=table,
        recommendations=recommendations,
        split=split,
        train_lines=train.height,
        test_lines=test.height,
        seconds=round(time.perf_counter() - started, 3),
    )


def _new_items(test: pl.DataFrame, matrix: CustomerItems) -> pl.DataFrame:
    """(customer_id, item, revenue) bought after the split by training customers, new to them."""
    bought = test.group_by("unit", "item").agg(pl.col("net_sales").sum().alias("revenue"))
    bought = bought.rename({"unit": "customer_id"})
    known = pl.DataFrame({"customer_id": pl.Series(matrix.customers, dtype=pl.String)})
    bought = bought.join(known, on="customer_id", how="semi")
    before = matrix.to_table().select("customer_id", "item")
    return bought.join(before, on=["customer_id", "item"], how="anti")


def _score(recs: pl.DataFrame, new_items: pl.DataFrame) -> pl.DataFrame:
    joined = recs.join(new_items, on=["customer_id", "item"], how="left", maintain_order="left")
    return joined.with_columns(
        hit=pl.col("revenue").is_not_null(), revenue=pl.col("revenue").fill_null(0.0)
    )


def _measures(
    method: str,
    scored: pl.DataFrame,
    new_items: pl.DataFrame,
    n_customers: int,
    top_n: int,
    at: datetime,
) -> tuple[object, ...]:
    hits_per = scored.group_by("customer_id").agg(pl.col("hit").sum().alias("hits"))
    new_per = new_items.group_by("customer_id").agg(pl.len().alias("new"))
    recall_parts = new_per.join(hits_per, on="customer_id", how="left").with_columns(
        pl.col("hits").fill_null(0)
    )
    recall = (
        float((recall_parts["hits"] / recall_parts["new"]).mean())
        if recall_parts.height
        else float("nan")
    )
    hits = int(scored["hit"].sum())
    hit_customers = int((hits_per["hits"] > 0).sum())
    denominator = max(n_customers, 1)
    return (
        method,
        top_n,
        at,
        n_customers,
        scored["customer_id"].n_unique(),
        new_per.height,
        scored.height,
        hits,
        hit_customers,
        hit_customers / denominator,
        hits / (denominator * top_n),
        recall,
        float(scored["revenue"].sum()),
    )


def _popularity(matrix: CustomerItems, customers: pl.DataFrame, top_n: int) -> pl.DataFrame:
    """Per customer: the items bought by most customers of their segment, not yet bought."""
    csr = matrix.csr().astype(np.int32)
    info = pl.DataFrame({"customer_id": pl.Series(matrix.customers, dtype=pl.String)}).join(
        customers.select("customer_id", "segment"),
        on="customer_id",
        how="left",
        maintain_order="left",
    )
    segment = info["segment"].fill_null(-1).to_numpy()
    out_c, out_i, out_r = [], [], []
    for seg in np.unique(segment):
        rows = np.flatnonzero(segment == seg)
        counts = np.asarray(csr[rows].sum(axis=0)).ravel()
        order = np.argsort(-counts, kind="stable")  # ties: item id order
        order = order[counts[order] > 0]
        for row in rows:
            owned = set(matrix.row_items(row).tolist())
            picked = []
            for col in order:
                if col not in owned:
                    picked.append(col)
                    if len(picked) == top_n:
                        break
            out_c.extend([row] * len(picked))
            out_i.extend(picked)
            out_r.extend(range(1, len(picked) + 1))
    return _recs_frame(matrix, out_c, out_i, out_r)


def _random(matrix: CustomerItems, top_n: int, seed: int) -> pl.DataFrame:
    """Per customer: ``top_n`` never-bought items drawn uniformly with a fixed seed."""
    rng = np.random.default_rng(seed)
    everything = np.arange(matrix.n_items)
    out_c, out_i, out_r = [], [], []
    for row in range(matrix.n_customers):
        pool = np.setdiff1d(everything, matrix.row_items(row), assume_unique=True)
        picked = rng.choice(pool, size=min(top_n, pool.size), replace=False)
        out_c.extend([row] * picked.size)
        out_i.extend(picked.tolist())
        out_r.extend(range(1, picked.size + 1))
    return _recs_frame(matrix, out_c, out_i, out_r)


def _recs_frame(
    matrix: CustomerItems, rows: list[int], cols: list[int], ranks: list[int]
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": pl.Series(matrix.customers, dtype=pl.String).gather(rows),
            "rank": pl.Series(ranks, dtype=pl.Int32),
            "item": pl.Series(matrix.items, dtype=pl.String).gather(cols),
        }
    )
