"""Backtest: do the recommendations convert? Fit before a date, measure after it.

The cleaned lines are split at ``split`` (lines dated before it train, lines on or after it
test). The whole analysis — features, segmentation, rule mining and the recommender — is
fitted on the training lines only (the pipeline's ``backtest_lines`` fits the stages on them
and calls :func:`evaluate`), so nothing from after the split can leak into it; the
recommender's own choices (EASE's λ, the ranker, the spend model) are made on a time split
*inside* the training lines. Every customer active before the split then gets ``top_n``
items they had never bought, from each method (:data:`METHODS`):

* ``recommender`` – the default two-stage recommender of ``basketlens run``
  (:mod:`basketlens.recommender`), the one row with ``default`` true;
* ``ease``, ``item_knn``, ``segment_popularity``, ``popularity``, ``random`` – the baselines of
  :mod:`basketlens.recommender.baselines`;
* ``segment_then_global`` – the rule-based recommender of basketlens 0.1: segment rules
  first, global rules fill in (:func:`basketlens.opportunities.recommend`);
  ``segment_rules`` / ``global_rules`` – one kind of rule only.

Measures: :mod:`basketlens.backtest.measures`. With ``rolling = N`` the backtest runs at N
origins (:func:`origins`), each ``step_months`` before the next, with test periods of the
same length; ``backtest.parquet`` then has one row per method and split.

Example:
    >>> from basketlens.pipeline import run_backtest
    >>> result = run_backtest(config)                                          # doctest: +SKIP
    >>> result.table.select("method", "default", "hit_rate", "hit_rate_low")   # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from basketlens.backtest.measures import (
    CALIBRATION_SCHEMA,
    bootstrap_interval,
    calibration_table,
    measures,
)
from basketlens.backtest.options import BacktestOptions
from basketlens.errors import EmptyInputError, ParameterError
from basketlens.opportunities.opportunities import find_opportunities
from basketlens.opportunities.purchases import Purchases, as_purchases
from basketlens.opportunities.recommendations import recommend
from basketlens.recommender.baselines import baseline
from basketlens.recommender.signals import cross_sell_rules
from basketlens.recommender.stage import RecommenderResult

logger = logging.getLogger(__name__)

__all__ = [
    "BACKTEST_SCHEMA",
    "CALIBRATION_SCHEMA",
    "DEFAULT_METHOD",
    "METHODS",
    "BacktestResult",
    "check_split",
    "combine",
    "evaluate",
    "origins",
    "resolve_split",
    "split_lines",
]

#: The method ``basketlens run`` uses.
DEFAULT_METHOD = "recommender"

#: Methods compared, in table order.
METHODS: tuple[str, ...] = (
    DEFAULT_METHOD,
    "ease",
    "item_knn",
    "segment_then_global",
    "segment_rules",
    "global_rules",
    "segment_popularity",
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
        "default": pl.Boolean,
        "top_n": pl.Int32,
        "split": pl.Datetime("us"),
        "test_end": pl.Datetime("us"),
        "customers": pl.Int64,
        "customers_with_recs": pl.Int64,
        "customers_with_new_items": pl.Int64,
        "recommendations": pl.Int64,
        "hits": pl.Int64,
        "hit_customers": pl.Int64,
        "hit_rate": pl.Float64,
        "hit_rate_low": pl.Float64,
        "hit_rate_high": pl.Float64,
        "precision": pl.Float64,
        "recall": pl.Float64,
        "ndcg": pl.Float64,
        "coverage": pl.Float64,
        "catalogue_coverage": pl.Float64,
        "hit_revenue": pl.Float64,
        "expected_revenue": pl.Float64,
        "brier": pl.Float64,
    }
)

_MADE_SCHEMA = pl.Schema(
    {
        "split": pl.Datetime("us"),
        "method": pl.String,
        "customer_id": pl.String,
        "rank": pl.Int32,
        "item": pl.String,
        "hit": pl.Boolean,
        "revenue": pl.Float64,
        "probability": pl.Float64,
        "expected_value": pl.Float64,
    }
)


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """The measures (``table``, ``BACKTEST_SCHEMA``: one row per method and split), every
    recommendation made with whether it hit (``recommendations``), the default recommender's
    reliability and money per decile (``calibration``, ``CALIBRATION_SCHEMA``) and the splits."""

    table: pl.DataFrame
    recommendations: pl.DataFrame
    calibration: pl.DataFrame
    splits: tuple[datetime, ...]
    train_lines: int
    test_lines: int
    seconds: float

    @property
    def split(self) -> datetime:
        """The latest split (the only one without rolling origin)."""
        return max(self.splits)


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
        return _months_before(_day_after(last), holdout_months)
    try:
        return datetime.fromisoformat(str(split).strip())
    except ValueError:
        raise ParameterError(f"split must be a date like 2011-09-01; got {split!r}") from None


def _day_after(moment: datetime) -> datetime:
    return pl.Series([moment]).dt.truncate("1d").dt.offset_by("1d").item()


def _months_before(moment: datetime, months: int) -> datetime:
    return pl.Series([moment]).dt.offset_by(f"-{months}mo").item()


def origins(lines: pl.DataFrame, options: BacktestOptions) -> list[tuple[datetime, datetime]]:
    """(split, end of the test period) of every origin, latest first.

    The latest origin tests from its split to the day after the last date; with ``rolling``
    each earlier one is ``step_months`` before the next and tests a period of the same length.

    Example:
        >>> from datetime import datetime
        >>> lines = pl.DataFrame({"date": [datetime(2011, 1, 5), datetime(2011, 12, 9)]})
        >>> [(a.date().isoformat(), b.date().isoformat()) for a, b in origins(
        ...     lines, BacktestOptions(split="2011-10-01", rolling=2, step_months=2))]
        [('2011-10-01', '2011-12-10'), ('2011-08-01', '2011-10-10')]
    """
    first = resolve_split(lines, options)
    last = lines["date"].max()
    if last is None:
        raise EmptyInputError("the ledger has no dated lines to split")
    end = _day_after(last)
    window = end - first
    out = [(first, end)]
    for k in range(1, options.rolling):
        at = _months_before(first, k * options.step_months)
        out.append((at, at + window))
    return out


def split_lines(
    lines: pl.DataFrame, at: datetime, until: datetime | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(training lines before ``at``, test lines from ``at`` to ``until``); both non-empty."""
    train = lines.filter(pl.col("date") < at)
    test = lines.filter(pl.col("date") >= at)
    if until is not None:
        test = test.filter(pl.col("date") < until)
    check_split(at, until, train.height, test.height, lines["date"].min(), lines["date"].max())
    return train, test


def check_split(
    at: datetime,
    until: datetime | None,
    n_train: int,
    n_test: int,
    first: datetime | None,
    last: datetime | None,
) -> None:
    """Refuse a split that leaves no training or no test lines (``first``/``last``: the
    ledger's dates, for the message); log the sizes otherwise."""
    if n_train == 0 or n_test == 0:
        if n_train == 0:
            where = "before it"
        elif until is None or last is None or until > last:
            where = "on or after it"
        else:
            where = f"from it to {until:%Y-%m-%d} (a rolling-origin test period)"
        raise ParameterError(
            f"split {at:%Y-%m-%d} leaves no lines {where}; the ledger runs from "
            f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"
        )
    logger.info("backtest split %s: %d training lines, %d test lines", at, n_train, n_test)


def test_days(split: datetime, until: datetime) -> float:
    """Length of a test period in days (the horizon the recommender is fitted for)."""
    return max((until - split) / timedelta(days=1), 1.0)


def evaluate(
    train: pl.DataFrame | Purchases,
    test: pl.DataFrame | Purchases,
    *,
    rules: pl.DataFrame | None,
    customers: pl.DataFrame,
    recommender: RecommenderResult,
    split: datetime,
    options: BacktestOptions,
    test_end: datetime | None = None,
    started: float | None = None,
) -> BacktestResult:
    """Measure every method on ``test`` with what was fitted on ``train``.

    ``rules``: the rules mined on the training lines (None: the rule methods recommend
    nothing); ``customers``: customer_id, customer_name, segment, segment_name of the
    training customers; ``recommender``: the recommender fitted on the training lines with
    the test period's length as its horizon. ``train`` and ``test`` are cleaned lines, or
    their :class:`~basketlens.opportunities.purchases.Purchases` (another engine's).
    """
    started = time.perf_counter() if started is None else started
    top_n, seed = options.top_n, options.seed
    fitted = recommender.fitted
    signals = fitted.signals
    matrix = signals.matrix
    recs = {DEFAULT_METHOD: _default_recommendations(recommender, top_n)}
    for method in ("ease", "item_knn", "segment_popularity", "popularity", "random"):
        recs[method] = baseline(signals, method, top_n=top_n, seed=seed)
    # the rules the recommender may offer (variants only with `include_variants`, issue 10)
    variants = bool(getattr(fitted.options, "include_variants", False))
    usable = cross_sell_rules(rules, include_variants=variants)
    opp = None
    if usable is not None and usable.height:
        info = customers.select("customer_id", "customer_name", "segment", "segment_name")
        opp = find_opportunities(matrix, usable, info)
    for method, source in _RULE_SOURCES.items():
        if opp is None:
            recs[method] = pl.DataFrame(schema={"customer_id": pl.String, "rank": pl.Int32,
                                                "item": pl.String})  # fmt: skip
        else:
            made = recommend(opp, top_n=top_n, source=source)  # type: ignore[arg-type]
            recs[method] = made.select("customer_id", "rank", "item")
    train, test = as_purchases(train), as_purchases(test)
    new_items = _new_items(test.spend(), matrix.customers, matrix.to_table())
    ids = list(matrix.customers)
    rows, made, hits = [], [], {}
    for method in METHODS:
        scored = _score(recs[method], new_items)
        made.append(
            scored.with_columns(split=pl.lit(split, pl.Datetime("us")), method=pl.lit(method))
        )
        m = measures(scored, new_items, customers=ids, top_n=top_n, n_items=matrix.n_items)
        rows.append({"method": method, "default": method == DEFAULT_METHOD, "top_n": top_n,
                     "split": split, "test_end": test_end, **m})  # fmt: skip
        hits[method] = _customer_hits(scored, ids)
    intervals = bootstrap_interval(hits, resamples=options.bootstrap, seed=seed)
    for row in rows:
        row["hit_rate_low"], row["hit_rate_high"] = intervals[row["method"]]
    table = pl.DataFrame(rows).select(list(BACKTEST_SCHEMA)).cast(dict(BACKTEST_SCHEMA))
    recommendations = pl.concat(made, how="diagonal_relaxed").select(list(_MADE_SCHEMA))
    default = made[0]
    return BacktestResult(
        table=table,
        recommendations=recommendations.cast(dict(_MADE_SCHEMA)),
        calibration=calibration_table(default, split),
        splits=(split,),
        train_lines=train.n_lines,
        test_lines=test.n_lines,
        seconds=round(time.perf_counter() - started, 3),
    )


def combine(results: Sequence[BacktestResult]) -> BacktestResult:
    """One result from the origins of a rolling backtest (tables stacked, latest first)."""
    if len(results) == 1:
        return results[0]
    return BacktestResult(
        table=pl.concat([r.table for r in results]),
        recommendations=pl.concat([r.recommendations for r in results]),
        calibration=pl.concat([r.calibration for r in results]),
        splits=tuple(s for r in results for s in r.splits),
        train_lines=results[0].train_lines,
        test_lines=results[0].test_lines,
        seconds=round(sum(r.seconds for r in results), 3),
    )


def _default_recommendations(result: RecommenderResult, top_n: int) -> pl.DataFrame:
    ranked = result.ranked
    deepest = int(ranked["rank"].max() or 0) if ranked.height else 0
    if top_n > deepest and ranked.height:
        ranked = result.fitted.rank(depth=top_n)
    return ranked.filter(pl.col("rank") <= top_n).select(
        "customer_id", "rank", "item", "probability", "expected_value"
    )


def _new_items(spend: pl.DataFrame, customers: Sequence[str], before: pl.DataFrame) -> pl.DataFrame:
    """(customer_id, item, revenue) bought after the split by training customers, new to them
    (``spend``: the test period's unit, item, net_sales)."""
    bought = spend.rename({"unit": "customer_id", "net_sales": "revenue"})
    known = pl.DataFrame({"customer_id": pl.Series(list(customers), dtype=pl.String)})
    bought = bought.join(known, on="customer_id", how="semi")
    return bought.join(before.select("customer_id", "item"), on=["customer_id", "item"], how="anti")


def _score(recs: pl.DataFrame, new_items: pl.DataFrame) -> pl.DataFrame:
    joined = recs.join(new_items, on=["customer_id", "item"], how="left", maintain_order="left")
    return joined.with_columns(
        hit=pl.col("revenue").is_not_null(), revenue=pl.col("revenue").fill_null(0.0)
    )


def _customer_hits(scored: pl.DataFrame, customers: Sequence[str]) -> np.ndarray:
    hit = scored.group_by("customer_id").agg(pl.col("hit").any())
    frame = pl.DataFrame({"customer_id": pl.Series(list(customers), dtype=pl.String)})
    return (
        frame.join(hit, on="customer_id", how="left", maintain_order="left")["hit"]
        .fill_null(False)
        .to_numpy()
    )
