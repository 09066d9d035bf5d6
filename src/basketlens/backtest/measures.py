"""Measures of one method's recommendations against what customers bought after the split.

Over the ``customers`` active before the split (a customer with no recommendation is a miss):

* ``hit_rate`` — share of customers who bought at least one recommended item after the split,
  with a 95% per-customer bootstrap interval (``hit_rate_low``, ``hit_rate_high``);
* ``precision`` — hits / (customers × top_n);
* ``recall`` — mean, over the customers who bought an item new to them after the split, of
  the share of those new items that were recommended;
* ``ndcg`` — mean over the same customers of DCG / ideal DCG at top_n (gain 1 for a bought
  item, discount ``1 / log2(rank + 1)``);
* ``coverage`` — share of the customers given at least one recommendation;
  ``catalogue_coverage`` — share of the training catalogue recommended to anyone;
* ``hit_revenue`` — net sales after the split of the hit (customer, item) pairs;
* for methods that state probabilities and money (the default recommender): ``brier`` — the
  mean squared difference between the probability and the 0/1 outcome over its
  recommendations, and ``expected_revenue`` — the sum of its ``expected_value``.

The bootstrap resamples customers with Poisson(1) weights (seeded), the same draws for every
method, so intervals of two methods are comparable.

Example:
    >>> scored = pl.DataFrame({"customer_id": ["a", "a", "b"], "rank": [1, 2, 1],
    ...                        "item": ["x", "y", "x"], "hit": [False, True, False],
    ...                        "revenue": [0.0, 5.0, 0.0]})
    >>> new = pl.DataFrame({"customer_id": ["a"], "item": ["y"], "revenue": [5.0]})
    >>> m = measures(scored, new, customers=["a", "b", "c"], top_n=2)
    >>> m["hit_rate"], m["coverage"], round(m["ndcg"], 4)
    (0.3333333333333333, 0.6666666666666666, 0.6309)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

__all__ = ["CALIBRATION_SCHEMA", "bootstrap_interval", "calibration_table", "measures"]

CALIBRATION_SCHEMA: pl.Schema = pl.Schema(
    {
        "split": pl.Datetime("us"),
        "by": pl.String,
        "decile": pl.Int32,
        "recommendations": pl.Int64,
        "mean_probability": pl.Float64,
        "hit_share": pl.Float64,
        "expected_revenue": pl.Float64,
        "realised_revenue": pl.Float64,
    }
)


def measures(
    scored: pl.DataFrame,
    new_items: pl.DataFrame,
    *,
    customers: Sequence[str],
    top_n: int,
    n_items: int | None = None,
) -> dict[str, Any]:
    """Every measure of the module docstring but the bootstrap interval.

    ``scored``: customer_id, rank, item, hit, revenue (and probability, expected_value when
    the method states them); ``new_items``: customer_id, item, revenue bought after the split
    and new to the customer.
    """
    n = max(len(customers), 1)
    hits_per = scored.group_by("customer_id").agg(pl.col("hit").sum().alias("hits"))
    new_per = new_items.group_by("customer_id").agg(pl.len().alias("new"))
    # in customer order, so that the means add the same numbers in the same order every run
    per = (
        new_per.join(hits_per, on="customer_id", how="left")
        .with_columns(pl.col("hits").fill_null(0))
        .sort("customer_id")
    )
    recall = float((per["hits"] / per["new"]).mean()) if per.height else float("nan")
    gains = (
        scored.filter(pl.col("hit"))
        .group_by("customer_id")
        .agg((1.0 / (pl.col("rank").cast(pl.Float64) + 1.0).log(2)).sum().alias("dcg"))
    )
    discounts = 1.0 / np.log2(np.arange(2, top_n + 2))
    ideal = np.cumsum(discounts)
    per = per.join(gains, on="customer_id", how="left", maintain_order="left").with_columns(
        pl.col("dcg").fill_null(0.0)
    )
    idcg = ideal[np.minimum(per["new"].to_numpy(), top_n) - 1] if per.height else np.empty(0)
    ndcg = float(np.mean(per["dcg"].to_numpy() / idcg)) if per.height else float("nan")
    hit_customers = int((hits_per["hits"] > 0).sum())
    hits = int(scored["hit"].sum())
    out: dict[str, Any] = {
        "customers": len(customers),
        "customers_with_recs": scored["customer_id"].n_unique(),
        "customers_with_new_items": new_per.height,
        "recommendations": scored.height,
        "hits": hits,
        "hit_customers": hit_customers,
        "hit_rate": hit_customers / n,
        "precision": hits / (n * top_n),
        "recall": recall,
        "ndcg": ndcg,
        "coverage": scored["customer_id"].n_unique() / n,
        "catalogue_coverage": (scored["item"].n_unique() / n_items) if n_items else None,
        "hit_revenue": float(scored["revenue"].sum()),
        "brier": None,
        "expected_revenue": None,
    }
    if "probability" in scored.columns and scored.height:
        outcome = scored["hit"].cast(pl.Float64)
        out["brier"] = float(((scored["probability"] - outcome) ** 2).mean())
        out["expected_revenue"] = float(scored["expected_value"].sum())
    return out


def bootstrap_interval(
    hits: dict[str, np.ndarray], *, resamples: int, seed: int, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Per method, the ``level`` percentile interval of the hit rate over customer resamples.

    ``hits[method]`` is the 0/1 hit of every customer (same customers, same order). Every
    method sees the same Poisson(1) weights.

    Example:
        >>> h = {"m": np.r_[np.ones(30), np.zeros(70)].astype(bool)}
        >>> low, high = bootstrap_interval(h, resamples=2000, seed=0)["m"]
        >>> 0.2 < low < 0.3 < high < 0.4
        True
    """
    if resamples <= 0 or not hits:
        return {m: (float("nan"), float("nan")) for m in hits}
    rng = np.random.default_rng(seed)
    names = list(hits)
    H = np.column_stack([hits[m].astype(np.float64) for m in names])  # customers × methods
    n = H.shape[0]
    rates = np.empty((resamples, len(names)))
    step = max(1, min(resamples, 20_000_000 // max(n, 1)))  # bound the weight matrix
    for lo in range(0, resamples, step):
        k = min(step, resamples - lo)
        w = rng.poisson(1.0, size=(k, n)).astype(np.float64)
        rates[lo : lo + k] = (w @ H) / np.maximum(w.sum(axis=1, keepdims=True), 1.0)
    tail = (1.0 - level) / 2.0 * 100.0
    low = np.percentile(rates, tail, axis=0)
    high = np.percentile(rates, 100.0 - tail, axis=0)
    return {m: (float(low[i]), float(high[i])) for i, m in enumerate(names)}


def calibration_table(scored: pl.DataFrame, split: Any, *, bins: int = 10) -> pl.DataFrame:
    """Reliability (deciles of probability) and money (deciles of expected value) of the
    recommendations of a method that states them: per decile the recommendations, the mean
    probability against the share bought, and expected against realised revenue."""
    frames = []
    for by, column in (("probability", "probability"), ("expected_value", "expected_value")):
        if scored.height == 0:
            continue
        ranked = scored.with_columns(
            decile=((pl.col(column).rank("ordinal") - 1) * bins // pl.len() + 1).cast(pl.Int32)
        )
        frames.append(
            ranked.group_by("decile")
            .agg(
                pl.len().cast(pl.Int64).alias("recommendations"),
                pl.col("probability").mean().alias("mean_probability"),
                pl.col("hit").cast(pl.Float64).mean().alias("hit_share"),
                pl.col("expected_value").sum().alias("expected_revenue"),
                pl.col("revenue").sum().alias("realised_revenue"),
            )
            .sort("decile")
            .with_columns(split=pl.lit(split, pl.Datetime("us")), by=pl.lit(by))
        )
    if not frames:
        return pl.DataFrame(schema=CALIBRATION_SCHEMA)
    return pl.concat(frames).select(list(CALIBRATION_SCHEMA)).cast(dict(CALIBRATION_SCHEMA))
