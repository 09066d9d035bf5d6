"""The RECOMMEND stage entry point: a two-stage recommender fitted on cleaned lines.

:func:`run_recommender` trains on a time split inside the lines (``training``), fits the
signals on all of them (``signals``), generates candidates (``candidates``), ranks them with
the calibrated ranker (``ranker``), values them (``spend``) and explains them (``reasons``).
Every customer of the lines gets ``top_n`` never-bought items unless fewer candidates exist.

``recommendations.parquet`` (:data:`RECOMMENDATIONS_SCHEMA`): probability of buying within
the horizon, expected spend if bought and expected value (= probability × spend) with the
currency and the period, the evidence group behind the reason, the supporting rules and the
reason itself.

Example:
    >>> result = run_recommender(lines, customers, items=items, rules=rules)   # doctest: +SKIP
    >>> result.recommendations.select("item_name", "value_text", "reason")     # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from basketlens._arrays import rank_within_rows
from basketlens.items import item_names
from basketlens.opportunities.matrix import CustomerItems
from basketlens.opportunities.model import RecommenderModel
from basketlens.opportunities.options import RecommendOptions
from basketlens.opportunities.purchases import Purchases, as_purchases
from basketlens.opportunities.value import DAYS_PER_MONTH
from basketlens.recommender.candidates import (
    CUSTOMER_FEATURES,
    EVIDENCE,
    FEATURE_NAMES,
    FEATURES,
    Candidates,
    candidate_features,
)
from basketlens.recommender.explain import candidate_reasons
from basketlens.recommender.itemitem import chunks
from basketlens.recommender.ranker import Ranker
from basketlens.recommender.reasons import value_texts
from basketlens.recommender.signals import Signals, cross_sell_rules
from basketlens.recommender.training import CHUNK, Mine, Training, train
from basketlens.schema import RULES_BASE_SCHEMA

if TYPE_CHECKING:
    from basketlens.segment import CustomerSegmenter

logger = logging.getLogger(__name__)

__all__ = [
    "DEPTH",
    "RECOMMENDATIONS_SCHEMA",
    "FittedRecommender",
    "RecommenderResult",
    "run_recommender",
    "single_threaded_blas",
]

#: Items kept per customer in the saved model (``recommend --top`` up to this or ``top_n``).
DEPTH = 10

RECOMMENDATIONS_SCHEMA: pl.Schema = pl.Schema(
    {
        "customer_id": pl.String,
        "customer_name": pl.String,
        "segment": pl.Int32,
        "segment_name": pl.String,
        "rank": pl.Int32,
        "item": pl.String,
        "item_name": pl.String,
        "probability": pl.Float64,
        "expected_spend": pl.Float64,
        "expected_value": pl.Float64,
        "currency": pl.String,
        "period_months": pl.Float64,
        "value_text": pl.String,
        "evidence": pl.String,
        "rule_ids": pl.List(pl.String),
        "reason": pl.String,
    }
)

#: The rules table of a model without rules: the leading columns of ``rules.parquet`` and the
#: measures the model reads.
_NO_RULES = pl.Schema(
    {
        **{c: RULES_BASE_SCHEMA[c] for c in list(RULES_BASE_SCHEMA)[:6]},  # ids, sides, names
        **dict.fromkeys(("support", "confidence", "lift"), pl.Float64),
    }
)
_GROUP = {f.name: f.group for f in FEATURES}
_EVIDENCE = tuple(EVIDENCE)

# without a trained ranker: order by EASE, then item-kNN, rules and popularity
_FALLBACK_WEIGHTS = {"ease_rank": -1.0, "knn_rank": -0.5, "rule_confidence": 0.3, "popularity": 0.2}


@dataclass(frozen=True, eq=False)
class FittedRecommender:
    """Signals on all the lines + what the inner split taught; ranks any of its customers."""

    signals: Signals
    training: Training
    ranker: Ranker
    options: RecommendOptions
    horizon_days: float
    names: dict[str, str]
    currency: str | None = None  # named beside every amount (None: "the ledger's currency")

    @property
    def period_months(self) -> float:
        return round(self.horizon_days / DAYS_PER_MONTH, 2)

    def probability(self, cands: Candidates, score: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probability of each candidate being bought within the horizon
        (``score``: the ranker's score of the candidates, when computed already)."""
        return self.ranker.probability(cands.features, score=score)

    @property
    def depth(self) -> int:
        """Items ranked per customer for the saved model: ``top_n``, at least :data:`DEPTH`."""
        return max(self.options.top_n, DEPTH)

    def rank(self, rows: np.ndarray | None = None, *, depth: int | None = None) -> pl.DataFrame:
        """The ``depth`` best items of each customer row (all rows by default), with every
        column of :data:`RECOMMENDATIONS_SCHEMA`."""
        s = self.signals
        depth = depth or self.depth
        rows = np.arange(s.matrix.n_customers) if rows is None else np.sort(np.asarray(rows))
        parts = []
        for part in chunks(rows.size, CHUNK):
            cands = candidate_features(s, rows[part], candidates=self.options.candidates)
            parts.append(self._top(cands, depth))
        if not parts:
            return pl.DataFrame(schema=RECOMMENDATIONS_SCHEMA)
        return pl.concat(parts).sort("customer_id", "rank")

    def _top(self, cands: Candidates, depth: int) -> pl.DataFrame:
        score = self.ranker.score(cands.features)
        p = self.probability(cands, score)
        # best first; ties: item code (a customer's candidates are in item order)
        rank = rank_within_rows(cands.rows, score)
        keep = np.flatnonzero(rank < depth)
        keep = keep[np.argsort(cands.rows[keep] * depth + rank[keep], kind="stable")]
        rank = rank[keep] + 1
        strongest = self._evidence(cands, keep)
        return self._table(cands, keep, rank, p[keep], strongest)

    def _evidence(self, cands: Candidates, keep: np.ndarray) -> np.ndarray:
        """Index into EVIDENCE of the strongest group that has something to quote."""
        parts = self.ranker.contributions(cands.features[keep], _GROUP)
        s = self.signals
        groups = s.group(cands.rows[keep])
        available = {
            "rule": cands.rule[keep] >= 0,
            "segment_copurchase": cands.segment_item[keep] >= 0,
            "copurchase": cands.copurchase_item[keep] >= 0,
            "segment": (groups > 0) & (s.share[groups, cands.cols[keep]] > 0),
            "popularity": np.ones(keep.size, dtype=bool),
        }
        stack = np.column_stack(
            [np.where(available[g], parts.get(g, np.zeros(keep.size)), -np.inf) for g in _EVIDENCE]
        )
        return np.argmax(stack, axis=1)

    def _table(
        self,
        cands: Candidates,
        keep: np.ndarray,
        rank: np.ndarray,
        prob: np.ndarray,
        strongest: np.ndarray,
    ) -> pl.DataFrame:
        s = self.signals
        rows, cols = cands.rows[keep], cands.cols[keep]
        months = self.horizon_days / DAYS_PER_MONTH
        spend = self.training.spend.predict(
            s.item_value(rows, cols) * months, s.monthly_spend[rows]
        )
        value = prob * spend
        currency = self.currency
        items = pl.Series(s.matrix.items, dtype=pl.String)
        item_ids = items.gather(cols).to_list()
        item_label = [self.names.get(i, i) for i in item_ids]
        info = s.info[rows]
        seg_names = info["segment_name"].to_list()
        seg_ids = info["segment"].to_list()
        evidence = np.asarray(_EVIDENCE, dtype=object)[strongest].tolist()
        reasons = candidate_reasons(
            s, self.names, cands, keep, strongest, item_label, seg_ids, seg_names
        )
        table = pl.DataFrame(
            {
                "customer_id": info["customer_id"],
                "customer_name": info["customer_name"],
                "segment": pl.Series([x if x >= 0 else None for x in seg_ids], dtype=pl.Int32),
                "segment_name": info["segment_name"],
                "rank": pl.Series(rank, dtype=pl.Int32),
                "item": item_ids,
                "item_name": item_label,
                "probability": prob,
                "expected_spend": spend,
                "expected_value": value,
                "currency": pl.Series([currency] * keep.size, dtype=pl.String),
                "period_months": np.full(keep.size, self.period_months),
                "value_text": value_texts(
                    prob.tolist(), spend.tolist(), value.tolist(), currency, self.period_months
                ),
                "evidence": evidence,
                "reason": reasons,
                "_row": rows,
                "_col": cols,
            }
        )
        supporting = (
            s.rules.pairs.join(
                table.select(pl.col("_row").alias("row"), pl.col("_col").alias("col")),
                on=["row", "col"],
                how="semi",
            )
            .group_by("row", "col", maintain_order=True)
            .agg(pl.col("rule_id").alias("rule_ids"))
        )
        table = table.join(
            supporting.rename({"row": "_row", "col": "_col"}),
            on=["_row", "_col"],
            how="left",
            maintain_order="left",
        ).with_columns(pl.col("rule_ids").fill_null([]))
        return table.select(list(RECOMMENDATIONS_SCHEMA)).cast(dict(RECOMMENDATIONS_SCHEMA))

    def summary(self) -> dict[str, Any]:
        """What ``run.json`` records about the recommender."""
        t = self.training
        s = self.signals
        return {
            "method": "two-stage: candidates from EASE, item-kNN, segment and recent popularity "
            "and rules; pairwise logistic ranking with a calibrated probability",
            "ranker": "trained" if t.ranker is not None else f"fixed ordering ({t.note})",
            "horizon_months": self.period_months,
            "depth": self.depth,
            "currency": self.currency,
            "ease_lambda": t.lam,
            "ease_lambda_validation_hit_rate": {
                str(k): round(v, 4) for k, v in t.lam_scores.items()
            },
            "model_items": int(s.cols.size),
            "items": s.matrix.n_items,
            "customers": s.matrix.n_customers,
            "rules_used": int(s.rules.rules.height),
            "training": t.stats,
            "weights": self.ranker.describe(),
            "spend_model": t.spend.to_dict(),
        }


@dataclass(frozen=True, eq=False)
class RecommenderResult:
    """recommendations.parquet, the deeper per-customer lists of the model, and the fit."""

    recommendations: pl.DataFrame
    ranked: pl.DataFrame  # DEPTH per customer (the saved model's answers)
    fitted: FittedRecommender
    seconds: float

    def model(
        self, base: RecommenderModel | None = None, *, segmenter: CustomerSegmenter | None = None
    ) -> RecommenderModel:
        """The model ``basketlens recommend`` answers from: ``base`` (the rules' model, for
        basket completion) or one without rules, with the ranked lists and their description."""
        if base is None:
            s = self.fitted.signals
            base = RecommenderModel(
                matrix=s.matrix,
                rules=pl.DataFrame(schema=_NO_RULES),
                customers=s.info.with_columns(
                    pl.when(pl.col("segment") >= 0).then(pl.col("segment")).cast(pl.Int32)
                ),
                values=s.values,
                item_names={i: self.fitted.names.get(i, i) for i in s.matrix.items},
                segmenter=segmenter,
            )
        return base.with_recommender(self.ranked, self.summary())

    def summary(self) -> dict[str, Any]:
        recs = self.recommendations
        return {
            **self.fitted.summary(),
            "top_n": self.fitted.options.top_n,
            "recommendations": recs.height,
            "customers_with_recommendations": recs["customer_id"].n_unique(),
            "recommendations_by_evidence": dict(
                recs.group_by("evidence").len().sort("evidence").iter_rows()
            ),
            "seconds": round(self.seconds, 3),
        }


def single_threaded_blas() -> threadpool_limits:
    """A context in which BLAS (numpy/scipy) runs on one thread, restored on exit.

    The recommender's products are small (a 1,500 × 1,500 Cholesky, sparse × dense scores),
    so threads buy little, while on a shared machine OpenBLAS's spinning threads cost a lot:
    fitting on Online Retail took 23.5 s with them and 7.6 s without (2 cores, load 17).
    """
    return threadpool_limits(limits=1, user_api="blas")


def _fallback_ranker() -> Ranker:
    return Ranker.fixed(
        FEATURE_NAMES,
        _FALLBACK_WEIGHTS,
        calibration_features=CUSTOMER_FEATURES,
        intercept=-4.0,
    )


def fit_recommender(
    lines: pl.DataFrame | Purchases,
    customers: pl.DataFrame | None,
    *,
    items: pl.DataFrame | None = None,
    rules: pl.DataFrame | None = None,
    options: RecommendOptions | None = None,
    mine: Mine | None = None,
    horizon_days: float | None = None,
    currency: str | None = None,
    matrix: CustomerItems | None = None,
    seed: int = 0,
) -> FittedRecommender:
    """Train on the inner split and fit the signals on all ``lines`` (see the module doc)."""
    options = (options or RecommendOptions()).validate()
    purchases = as_purchases(lines)
    horizon_days = horizon_days or options.horizon_months * DAYS_PER_MONTH
    # `include_variants` is the call list's option (issue 10) when the options declare it
    variants = bool(getattr(options, "include_variants", False))
    training = train(purchases, customers, options=options, horizon_days=horizon_days,
                     mine=mine, include_variants=variants, seed=seed)  # fmt: skip
    rules = cross_sell_rules(rules, include_variants=variants)
    if training.ranker is None:
        logger.warning("recommender: no ranker trained (%s); using a fixed ordering", training.note)
    matrix = purchases.matrix() if matrix is None else matrix
    signals = Signals.fit(matrix, customers, rules=rules, lam=training.lam, options=options)
    names = item_names(items) if items is not None else {}
    return FittedRecommender(
        signals=signals,
        training=training,
        ranker=training.ranker or _fallback_ranker(),
        options=options,
        horizon_days=horizon_days,
        names=names,
        currency=currency,
    )


def run_recommender(
    lines: pl.DataFrame | Purchases,
    customers: pl.DataFrame | None,
    *,
    items: pl.DataFrame | None = None,
    rules: pl.DataFrame | None = None,
    options: RecommendOptions | None = None,
    mine: Mine | None = None,
    horizon_days: float | None = None,
    currency: str | None = None,
    matrix: CustomerItems | None = None,
    seed: int = 0,
) -> RecommenderResult:
    """Fit the recommender on cleaned ``lines`` and recommend to every customer.

    Args:
        lines: cleaned lines (``CLEAN_SCHEMA``: unit, item, basket, date, quantity, net_sales),
            or their :class:`~basketlens.opportunities.purchases.Purchases` (another engine's).
        customers: customer_id, customer_name, segment, segment_name (``customers.parquet``).
        items: the item table (names); rules: the mined rules (``rules.parquet``; rules of
            ``kind == "variant"`` are skipped); mine: mines rules on a subset of the lines,
            for the inner split (no rule features in training without it).
        horizon_days: the period of the probabilities (default ``horizon_months``).
        currency: named beside every amount, e.g. GBP or € (None: "the ledger's currency").
        matrix: the lines' customer × item matrix when already built (the opportunities
            stage builds the same one), else it is built from ``lines``.
    """
    started = time.perf_counter()
    with single_threaded_blas():
        fitted = fit_recommender(lines, customers, items=items, rules=rules, options=options,
                                 mine=mine, horizon_days=horizon_days, currency=currency,
                                 matrix=matrix, seed=seed)  # fmt: skip
        ranked = fitted.rank()
    top = ranked.filter(pl.col("rank") <= fitted.options.top_n)
    return RecommenderResult(top, ranked, fitted, time.perf_counter() - started)
