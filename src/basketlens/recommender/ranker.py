"""Stage two: the ranker — a linear pairwise ranking model with a calibrated probability on top.

Trained on a time split inside the training data: features are computed from the purchases
before an inner cut-off, and a candidate is *bought* when the customer bought it in the
following horizon.

1. **Ranking** (what top-N recommendation is about: the order *within* a customer's
   candidates). Pairwise logistic regression (RankNet with a linear scorer; Burges et al.
   2005): for each bought candidate and up to :data:`NEGATIVES` not-bought candidates of the
   same customer, the model learns ``P(bought ≻ not bought) = σ(w · (z_bought − z_other))``
   on standardised features ``z``. The score is ``w · z``. A pointwise regression was tried
   first and ranked worse on every ledger's validation split: its loss is dominated by
   *which customers* buy (heavy buyers buy more of everything), which says nothing about the
   order of one customer's items.
2. **Calibration**: a logistic regression of *bought* on the score and the customer features
   (items, orders, days since the last purchase, tenure) gives the probability of buying the
   item within the horizon. It is fitted on out-of-fold scores (cross-fitting: each half of
   the customers scored by a ranking fitted on the other half), so it does not learn the
   ranking's over-confidence on its own training data, and only on each customer's
   :data:`CALIBRATION_DEPTH` best candidates, where probabilities are read; its inputs are
   clipped to the range it was fitted on. The final ranking is fitted on every customer. Its
   weight on the score is kept positive, so it never changes a customer's order.

A linear scorer keeps every recommendation explainable: a feature's contribution is
``w × z``; summed over the features of an evidence group it says which evidence lifted the
item most (:meth:`Ranker.contributions`). Everything fitted is plain numbers
(:meth:`Ranker.to_dict`, saved in ``model.json`` — no pickle).

Example:
    >>> rng = np.random.default_rng(0)
    >>> F = rng.normal(size=(2000, 3)); rows = np.repeat(np.arange(100), 20)
    >>> y = F[:, 0] + 0.5 * F[:, 2] + rng.normal(size=2000) > 1.5
    >>> rk = Ranker.fit(F, y, rows=rows, names=("a", "b", "c"), rank_features=("a", "b"),
    ...                 calibration_features=("c",), seed=0)
    >>> bool(rk.rank_coef[0] > 5 * abs(rk.rank_coef[1]))
    True
    >>> same = Ranker.from_dict(rk.to_dict()).probability(F[:3]) - rk.probability(F[:3])
    >>> bool(np.abs(same).max() < 1e-12)
    True
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from basketlens._arrays import (
    group_starts,
    isin_sorted,
    lexsort,
    rank_within_rows,
    unique_sorted,
)
from basketlens.errors import EmptyInputError

logger = logging.getLogger(__name__)

__all__ = ["NEGATIVES", "Ranker"]

#: Not-bought candidates paired with each bought one (a seeded sample beyond this).
NEGATIVES = 20
#: The calibration is fitted on each customer's this many best candidates (out of fold): the
#: probabilities that matter are those of recommended items, and a logistic fit over every
#: candidate, most of them hopeless, over-states the best ones.
CALIBRATION_DEPTH = 10
#: Calibration inputs are clipped to these quantiles of the data it was fitted on.
CLIP = 0.005
#: Upper bound on training pairs (negatives per positive shrink to stay under it).
MAX_PAIRS = 600_000


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale > 1e-12, scale, 1.0)


def _pairs(
    rows: np.ndarray, labels: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(bought, not bought) index pairs within each row (``rows`` sorted).

    Each bought candidate is paired with ``per`` distinct not-bought candidates of its
    customer: a window of a random shuffle of them, the k-th bought one starting at ``k·per``.
    """
    positives = int(labels.sum())
    per = max(1, min(NEGATIVES, MAX_PAIRS // max(positives, 1)))
    order = lexsort((rng.random(rows.size), ~labels, rows))  # per row: bought, then shuffled
    r = rows[order]
    y = labels[order]
    start = group_starts(r)
    groups = unique_sorted(r)
    g = np.searchsorted(groups, r)
    n_pos = np.bincount(g[y], minlength=groups.size)
    n_neg = np.bincount(g, minlength=groups.size) - n_pos
    pos = np.flatnonzero(y)
    pg = g[pos]
    ok = n_neg[pg] > 0
    pos, pg = pos[ok], pg[ok]
    if pos.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    k = pos - start[pos]  # rank of the bought candidate within its customer
    take = np.minimum(per, n_neg[pg])
    good = np.repeat(pos, take)
    j = np.arange(int(take.sum())) - np.repeat(np.cumsum(take) - take, take)
    first_neg = start[pos] + n_pos[pg]
    offset = (np.repeat(k * take, take) + j) % np.repeat(n_neg[pg], take)
    bad = np.repeat(first_neg, take) + offset
    return order[good], order[bad]


def _best_per_row(rows: np.ndarray, score: np.ndarray, depth: int) -> np.ndarray:
    """Indices of the ``depth`` highest scores of each row (ties by position), ascending."""
    return np.flatnonzero(rank_within_rows(rows, score) < depth)


def _pairwise(
    Z: np.ndarray, rows: np.ndarray, labels: np.ndarray, use: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Pairwise logistic-regression weights on the candidates ``use`` (sorted indices)."""
    good, bad = _pairs(rows[use], labels[use], rng)
    if good.size == 0:
        raise EmptyInputError("no customer has both a bought and a not-bought candidate")
    good, bad = use[good], use[bad]
    # each pair once, in a random orientation: (bought − other, 1) or (other − bought, 0)
    flip = rng.random(good.size) < 0.5
    diff = np.where(flip[:, None], Z[bad] - Z[good], Z[good] - Z[bad])
    model = LogisticRegression(C=1.0, max_iter=1000, fit_intercept=False)
    model.fit(diff, ~flip)
    return model.coef_[0].astype(np.float64)


@dataclass(frozen=True)
class Ranker:
    """Standardisation and weights of the ranking score and of its calibration."""

    names: tuple[str, ...]  # every feature column, in order
    rank_features: tuple[str, ...]
    rank_mean: np.ndarray
    rank_scale: np.ndarray
    rank_coef: np.ndarray
    calibration_features: tuple[str, ...]  # after the score
    cal_mean: np.ndarray
    cal_scale: np.ndarray
    cal_low: np.ndarray  # the calibration inputs are clipped to the range they were fitted on
    cal_high: np.ndarray
    cal_coef: np.ndarray  # [score, *calibration_features]
    cal_intercept: float
    pairs: int  # training candidates
    positives: int  # of them bought

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        labels: np.ndarray,
        *,
        rows: np.ndarray,
        names: Sequence[str],
        rank_features: Sequence[str],
        calibration_features: Sequence[str],
        seed: int = 0,
    ) -> Ranker:
        """Fit on candidate ``features`` (pairs × ``names``), 0/1 ``labels`` and each pair's
        customer ``rows`` (sorted), as described in the module docstring."""
        labels = np.asarray(labels, dtype=bool)
        if labels.size == 0 or not labels.any() or labels.all():
            raise EmptyInputError(
                "the ranker needs bought and not-bought candidates after the inner cut-off; "
                f"got {int(labels.sum())} bought of {labels.size}"
            )
        names = tuple(names)
        r_idx = [names.index(n) for n in rank_features]
        c_idx = [names.index(n) for n in calibration_features]
        rng = np.random.default_rng(seed)
        R = features[:, r_idx]
        rank_mean, rank_scale = _standardise(R)
        Z = (R - rank_mean) / rank_scale
        everyone = np.arange(labels.size)
        rank_coef = _pairwise(Z, rows, labels, everyone, rng)
        # out-of-fold scores for the calibration: each half of the customers scored by a
        # ranking fitted on the other half (the final ranking uses every customer)
        customers = unique_sorted(rows)
        fold = isin_sorted(rows, customers[rng.random(customers.size) < 0.5])
        score = Z @ rank_coef
        for part in (fold, ~fold):
            other = np.flatnonzero(~part)
            if labels[other].any() and not labels[other].all() and part.any():
                # too few to split: that half keeps the in-sample score
                with contextlib.suppress(EmptyInputError):
                    score[part] = Z[part] @ _pairwise(Z, rows, labels, other, rng)
        # calibrate where probabilities are read: each customer's best candidates
        top = _best_per_row(rows, score, CALIBRATION_DEPTH)
        if not labels[top].any() or labels[top].all():
            top = np.arange(labels.size)
        C = np.column_stack([score, features[:, c_idx]])
        cal_mean, cal_scale = _standardise(C[top])
        cal_low, cal_high = np.quantile(C[top], [CLIP, 1 - CLIP], axis=0)
        calibration = LogisticRegression(C=100.0, max_iter=1000)
        calibration.fit((C[top] - cal_mean) / cal_scale, labels[top])
        cal_coef = calibration.coef_[0].astype(np.float64)
        if cal_coef[0] <= 0:  # the order must not be reversed: fall back to a tiny slope
            cal_coef[0] = 1e-3
        logger.info("ranker: %d candidates, %d bought", labels.size, int(labels.sum()))
        return cls(
            names=names,
            rank_features=tuple(rank_features),
            rank_mean=rank_mean,
            rank_scale=rank_scale,
            rank_coef=rank_coef,
            calibration_features=tuple(calibration_features),
            cal_mean=cal_mean,
            cal_scale=cal_scale,
            cal_low=cal_low,
            cal_high=cal_high,
            cal_coef=cal_coef,
            cal_intercept=float(calibration.intercept_[0]),
            pairs=int(labels.size),
            positives=int(labels.sum()),
        )

    def _columns(self, which: Sequence[str]) -> list[int]:
        return [self.names.index(n) for n in which]

    def _z(self, features: np.ndarray) -> np.ndarray:
        Z = features[:, self._columns(self.rank_features)].astype(np.float64, copy=False)
        Z -= self.rank_mean  # in place: the column selection is a copy
        Z /= self.rank_scale
        return Z

    def score(self, features: np.ndarray) -> np.ndarray:
        """The ranking score ``w · z`` (higher = recommended first)."""
        return self._z(features) @ self.rank_coef

    def probability(self, features: np.ndarray, *, score: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probability of buying within the horizon (``score``: :meth:`score` of
        the features, when computed already)."""
        score = self.score(features) if score is None else score
        C = np.column_stack([score, features[:, self._columns(self.calibration_features)]])
        C = C.astype(np.float64, copy=False)
        np.clip(C, self.cal_low, self.cal_high, out=C)  # no extrapolation past the training data
        C -= self.cal_mean
        C /= self.cal_scale
        return _sigmoid(C @ self.cal_coef + self.cal_intercept)

    def contributions(
        self, features: np.ndarray, groups: Mapping[str, str]
    ) -> dict[str, np.ndarray]:
        """Per evidence group, the sum of ``w × z`` of its features (the score's parts)."""
        parts = self._z(features) * self.rank_coef
        out: dict[str, np.ndarray] = {}
        for j, name in enumerate(self.rank_features):
            group = groups[name]
            out[group] = out.get(group, 0.0) + parts[:, j]
        return out

    def describe(self) -> list[tuple[str, float]]:
        """(feature, ranking weight per standard deviation), largest magnitude first."""
        pairs = [
            (n, round(float(c), 4)) for n, c in zip(self.rank_features, self.rank_coef, strict=True)
        ]
        return sorted(pairs, key=lambda p: -abs(p[1]))

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers for ``model.json``."""
        return {
            "model": "pairwise logistic ranking (linear RankNet) + logistic calibration",
            "features": list(self.names),
            "rank_features": list(self.rank_features),
            "rank_mean": self.rank_mean.tolist(),
            "rank_scale": self.rank_scale.tolist(),
            "rank_coef": self.rank_coef.tolist(),
            "calibration_features": list(self.calibration_features),
            "cal_mean": self.cal_mean.tolist(),
            "cal_scale": self.cal_scale.tolist(),
            "cal_low": self.cal_low.tolist(),
            "cal_high": self.cal_high.tolist(),
            "cal_coef": self.cal_coef.tolist(),
            "cal_intercept": self.cal_intercept,
            "training_pairs": self.pairs,
            "training_positives": self.positives,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ranker:
        """Inverse of :meth:`to_dict`."""
        arr = lambda key: np.asarray(data[key], dtype=np.float64)  # noqa: E731
        return cls(
            names=tuple(data["features"]),
            rank_features=tuple(data["rank_features"]),
            rank_mean=arr("rank_mean"),
            rank_scale=arr("rank_scale"),
            rank_coef=arr("rank_coef"),
            calibration_features=tuple(data["calibration_features"]),
            cal_mean=arr("cal_mean"),
            cal_scale=arr("cal_scale"),
            cal_low=arr("cal_low"),
            cal_high=arr("cal_high"),
            cal_coef=arr("cal_coef"),
            cal_intercept=float(data["cal_intercept"]),
            pairs=int(data["training_pairs"]),
            positives=int(data["training_positives"]),
        )

    @classmethod
    def fixed(
        cls,
        names: Sequence[str],
        weights: Mapping[str, float],
        *,
        calibration_features: Sequence[str],
        intercept: float,
    ) -> Ranker:
        """A ranker with given weights (used when none can be trained)."""
        rank = tuple(weights)
        n_cal = len(calibration_features) + 1
        return cls(
            names=tuple(names),
            rank_features=rank,
            rank_mean=np.zeros(len(rank)),
            rank_scale=np.ones(len(rank)),
            rank_coef=np.array([weights[n] for n in rank], dtype=np.float64),
            calibration_features=tuple(calibration_features),
            cal_mean=np.zeros(n_cal),
            cal_scale=np.ones(n_cal),
            cal_low=np.full(n_cal, -np.inf),
            cal_high=np.full(n_cal, np.inf),
            cal_coef=np.r_[1.0, np.zeros(n_cal - 1)],
            cal_intercept=float(intercept),
            pairs=0,
            positives=0,
        )
