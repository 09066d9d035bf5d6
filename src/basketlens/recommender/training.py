"""The time split inside the training data: choose EASE's λ, train the ranker and the spend model.

The lines given to the recommender are cut at ``end − horizon`` (the *inner cut-off*):
everything before it plays the past, the last ``horizon`` plays the future. On that split

1. EASE's λ is chosen by the hit rate at ``top_n`` on the customers who bought something new
   after the inner cut-off (ties: the larger λ), from
   :data:`~basketlens.recommender.itemitem.LAMBDA_FACTORS` × the mean buyers of a model item
   (the diagonal of ``XᵀX``, so the grid follows the size of the data), extended one step
   beyond an edge of the grid when the edge wins. The backtest's own test period is never
   seen: the backtest hands the recommender only the lines before its split.
2. The candidates of (a sample of at most :data:`MAX_TRAINING_CUSTOMERS`) customers are
   labelled 1 when the customer bought the item after the inner cut-off, and the
   :class:`~basketlens.recommender.ranker.Ranker` is fitted on them.
3. What the converted customers spent on those items fits the
   :class:`~basketlens.recommender.spend.SpendModel`.

The rules for the inner features are mined on the lines before the inner cut-off (the
pipeline passes a ``mine`` function), so they too never see the inner labels; beyond
:data:`MAX_MINING_LINES` lines on a seeded sample of whole baskets (mining thresholds are
relative, so a sample finds the same strong rules; on 10M lines it saves most of a minute;
the sample is drawn by a seeded hash of the basket ids, the same on every engine).
Segments are those fitted on all the given lines: a customer's segment is a description of
the customer, not a purchase of the items being predicted.

When the split is impossible (lines spanning less than the horizon plus
:data:`MIN_HISTORY_DAYS`, or nobody buying anything new after it) :class:`Training` says why
in ``note`` and the recommender falls back to a fixed ordering (see ``stage``).

Example:
    >>> training = train(lines, customers, options=options, horizon_days=91.3)  # doctest: +SKIP
    >>> training.lam, training.note                                             # doctest: +SKIP
    (300.0, '')
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from basketlens._arrays import isin_sorted, unique_sorted
from basketlens.errors import EmptyInputError
from basketlens.opportunities.matrix import CustomerItems
from basketlens.opportunities.options import RecommendOptions
from basketlens.opportunities.purchases import Purchases, as_purchases
from basketlens.opportunities.value import DAYS_PER_MONTH
from basketlens.recommender.candidates import (
    CUSTOMER_FEATURES,
    FEATURE_NAMES,
    RANK_FEATURES,
    candidate_features,
)
from basketlens.recommender.itemitem import LAMBDA_FACTORS, Ease, chunks, top_k
from basketlens.recommender.ranker import Ranker
from basketlens.recommender.signals import Basis, Signals, cross_sell_rules
from basketlens.recommender.spend import SpendModel

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_TRAINING_CUSTOMERS",
    "MIN_HISTORY_DAYS",
    "Training",
    "choose_lambda",
    "new_purchases",
    "train",
]

#: Customers whose candidates train the ranker (a seeded sample beyond this).
MAX_TRAINING_CUSTOMERS = 20_000
#: Customers who score each λ (a seeded sample beyond this).
MAX_VALIDATION_CUSTOMERS = 5_000
#: Lines the inner rules are mined on (whole baskets sampled beyond this; the rules only
#: teach the ranker how much a rule's confidence and lift are worth).
MAX_MINING_LINES = 1_000_000
#: History needed before the inner cut-off.
MIN_HISTORY_DAYS = 28
CHUNK = 4_000

Mine = Callable[[pl.DataFrame], pl.DataFrame | None]


@dataclass(frozen=True, eq=False)
class Training:
    """What the inner split taught: λ, the ranker, the spend model, and how it went."""

    lam: float
    ranker: Ranker | None
    spend: SpendModel
    cut: datetime | None = None
    note: str = ""  # why there is no ranker (empty when there is one)
    lam_scores: dict[float, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


def new_purchases(
    matrix: CustomerItems, later: pl.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, col, net sales) of the items the matrix's customers bought later (``later``:
    unit, item, net_sales — :meth:`~basketlens.opportunities.purchases.Purchases.spend`) that
    they had not bought before (both customer and item known to the matrix); sorted by key."""
    customers = pl.DataFrame(
        {"unit": pl.Series(matrix.customers, dtype=pl.String), "row": np.arange(matrix.n_customers)}
    )
    items = pl.DataFrame(
        {"item": pl.Series(matrix.items, dtype=pl.String), "col": np.arange(matrix.n_items)}
    )
    bought = later.join(customers, on="unit", how="inner").join(items, on="item", how="inner")
    rows = bought["row"].to_numpy().astype(np.int64)
    cols = bought["col"].to_numpy().astype(np.int64)
    sales = bought["net_sales"].to_numpy()
    fresh = ~matrix.has(rows, cols)
    rows, cols, sales = rows[fresh], cols[fresh], sales[fresh]
    order = np.argsort(rows * matrix.n_items + cols, kind="stable")
    return rows[order], cols[order], sales[order]


def _sample(rows: np.ndarray, limit: int, seed: int) -> np.ndarray:
    if rows.size <= limit:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))


def choose_lambda(
    matrix: CustomerItems,
    labels: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    options: RecommendOptions,
    seed: int = 0,
    basis: Basis | None = None,
) -> tuple[float, dict[float, float], Ease, np.ndarray]:
    """λ with the best hit rate at ``top_n`` on the labelled customers; also that fit and G
    (``basis``: the matrix's :class:`~basketlens.recommender.signals.Basis`, when built)."""
    basis = Basis.of(matrix, None, options=options) if basis is None else basis
    cols, X, G = basis.cols, basis.X, basis.G
    l_rows, l_cols, _ = labels
    pos = np.full(matrix.n_items, -1)
    pos[cols] = np.arange(cols.size)
    target = pos[l_cols] >= 0
    who = _sample(unique_sorted(l_rows[target]), MAX_VALIDATION_CUSTOMERS, seed)
    truth = unique_sorted(l_rows[target] * cols.size + pos[l_cols[target]])
    scale = float(np.mean(np.diag(G))) if cols.size else 1.0
    scores: dict[float, float] = {}
    fits: dict[float, Ease] = {}
    # the validation customers' rows and purchases, the same for every λ
    parts = [(who[part], X[who[part]]) for part in chunks(who.size, CHUNK)]
    owned = [Xv.nonzero() for _, Xv in parts]

    def evaluate(factor: float) -> float:
        lam = round(max(factor * scale, 1.0), 1)
        if lam not in scores:
            ease = Ease.fit(X, lam=lam, G=G)
            fits[lam] = ease
            hits = 0
            for (rows, Xv), (r, c) in zip(parts, owned, strict=True):
                S = ease.scores(Xv)
                S[r, c] = -np.inf
                best = top_k(S, options.top_n)
                keys = rows[:, None] * cols.size + best
                hit = isin_sorted(keys, truth) & (best >= 0)
                hits += int(hit.any(axis=1).sum())
            scores[lam] = hits / max(who.size, 1)
        return scores[lam]

    factors = list(LAMBDA_FACTORS)
    for f in factors:
        evaluate(f)
    # the best at an edge of the grid: look one step further that way (at most twice)
    step = factors[1] / factors[0]
    for _ in range(2):
        best = max(scores, key=lambda lam: (scores[lam], lam))
        if best == max(scores) and evaluate(factors[-1] * step) > scores[best]:
            factors.append(factors[-1] * step)
        elif best == min(scores) and evaluate(factors[0] / step) > scores[best]:
            factors.insert(0, factors[0] / step)
        else:
            break
    best_lam = max(scores, key=lambda lam: (scores[lam], lam))
    logger.info("EASE λ by inner validation (mean buyers %.1f): %s -> %g", scale, scores, best_lam)
    return best_lam, scores, fits[best_lam], G


def train(
    lines: pl.DataFrame | Purchases,
    customers: pl.DataFrame | None,
    *,
    options: RecommendOptions,
    horizon_days: float,
    mine: Mine | None = None,
    include_variants: bool = False,
    seed: int = 0,
) -> Training:
    """Run the inner split (see the module docstring) on cleaned lines, or on the
    :class:`~basketlens.opportunities.purchases.Purchases` of another engine."""
    purchases = as_purchases(lines)
    first, end = purchases.first_date, purchases.last_date
    cut = end - timedelta(days=horizon_days)
    fallback_lam = 300.0
    if first is None or (cut - first).days < MIN_HISTORY_DAYS:
        span = 0 if first is None else (end - first).days
        return Training(
            fallback_lam,
            None,
            SpendModel(float(np.log(horizon_days / DAYS_PER_MONTH)), 1.0, 0.0, 1.0, 0),
            note=(
                f"the lines span {span} days: too short to hold out a {horizon_days:.0f}-day "
                f"horizon after at least {MIN_HISTORY_DAYS} days of history"
            ),
        )
    matrix = purchases.matrix(before=cut)
    labels = new_purchases(matrix, purchases.spend(since=cut))
    months = horizon_days / DAYS_PER_MONTH
    if labels[0].size == 0:
        return Training(
            fallback_lam,
            None,
            SpendModel(float(np.log(months)), 1.0, 0.0, 1.0, 0),
            cut=cut,
            note="no customer bought an item new to them in the last horizon of the lines",
        )
    basis = Basis.of(matrix, customers, options=options)
    lam, lam_scores, ease, _ = choose_lambda(
        matrix, labels, options=options, seed=seed, basis=basis
    )
    rules = None
    if mine is not None:
        sample = purchases.basket_sample(before=cut, limit=MAX_MINING_LINES, seed=seed)
        rules = cross_sell_rules(mine(sample), include_variants=include_variants)
    signals = Signals.fit(
        matrix, customers, rules=rules, lam=lam, options=options, ease=ease, basis=basis
    )
    news = unique_sorted(labels[0])
    who = _sample(news, MAX_TRAINING_CUSTOMERS, seed)  # customers with news
    # customers who bought nothing new carry the negatives of a quiet period: keep a share
    everyone = np.arange(matrix.n_customers)
    quiet = everyone[~isin_sorted(everyone, news)]
    quiet = _sample(quiet, max(MAX_TRAINING_CUSTOMERS - who.size, 0), seed + 1)
    train_rows = unique_sorted(np.concatenate([who, quiet]))
    key_true = labels[0] * matrix.n_items + labels[1]
    feats, ys, groups, values, spends, spent = [], [], [], [], [], []
    for part in chunks(train_rows.size, CHUNK):
        cands = candidate_features(signals, train_rows[part], candidates=options.candidates)
        key = cands.rows * matrix.n_items + cands.cols
        at = np.minimum(np.searchsorted(key_true, key), key_true.size - 1)
        y = key_true[at] == key
        feats.append(cands.features)
        ys.append(y)
        groups.append(cands.rows)
        values.append(signals.item_value(cands.rows[y], cands.cols[y]) * months)
        spends.append(signals.monthly_spend[cands.rows[y]])
        spent.append(labels[2][at[y]])
    y = np.concatenate(ys)
    try:
        ranker = Ranker.fit(
            np.vstack(feats),
            y,
            rows=np.concatenate(groups),
            names=FEATURE_NAMES,
            rank_features=RANK_FEATURES,
            calibration_features=CUSTOMER_FEATURES,
            seed=seed,
        )
    except EmptyInputError as exc:
        return Training(lam, None, SpendModel(float(np.log(months)), 1.0, 0.0, 1.0, 0), cut=cut,
                        note=str(exc), lam_scores=lam_scores)  # fmt: skip
    spend = SpendModel.fit(np.concatenate(values), np.concatenate(spends), np.concatenate(spent))
    trained = isin_sorted(labels[0], train_rows)  # the new purchases of the training customers
    stats = {
        "inner_cut": cut.isoformat(sep=" "),
        "customers_before_cut": matrix.n_customers,
        "customers_buying_new_items_after_cut": int(news.size),
        "training_customers": int(train_rows.size),
        "training_pairs": int(y.size),
        "training_pairs_bought": int(y.sum()),
        "candidate_recall": round(float(y.sum()) / max(int(trained.sum()), 1), 4),
        "inner_rules": 0 if rules is None else rules.height,
    }
    return Training(lam, ranker, spend, cut=cut, lam_scores=lam_scores, stats=stats)
