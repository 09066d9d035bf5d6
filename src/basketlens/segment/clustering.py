"""k-means with feature weights learnt from the segments: the clustering step of a candidate k.

**Why weights.** A feature that does not differ between the true segments (a volume feature
when customers differ only in what they buy, a share column when they differ only in how
much) is noise to k-means: every such column adds the same spread to all segments and blurs
the ones that do differ. With ``weighting=True`` a candidate is fitted as in attribute-weighted
k-means (Huang et al. 2005; in the spirit of sparse k-means, Witten & Tibshirani 2010):

1. k-means (k-means++, ``n_init`` restarts) on the scaled features, for every candidate k;
2. each feature's weight = its share of variance *between* the segments, measured on the
   feature's ranks (R² of the ranks on the segment labels, the η² of the Kruskal–Wallis
   test), averaged over the candidates and normalised to mean 1 — a feature that no
   candidate's segments tell apart gets a weight near 0. Ranks, because on the values a
   skewed feature whose far tail one small segment isolates (a basket type a few customers
   of every kind buy much of) scores as high as one that separates every segment, and the
   weight then confirms that small segment at the expense of the real ones;
3. k-means again on the features multiplied by √weight (restarts, plus a warm start from the
   current segments; the lower within-segment sum of squares wins), and back to 2 until no
   candidate's segments change or ``WEIGHT_ROUNDS`` rounds are done.

All candidates share the weights (one space: a candidate with few segments cannot put all the
weight on the one feature it splits, which would flatter it), and the weights average 1, so
the weighted space has the total variance of the scaled features and the criteria of
:mod:`.criteria` compare candidates like with like.

**Customer weights.** A customer's features are averages over its orders, so a customer with
few orders has noisy ones: its order size, line value and price per unit rest on a handful of
lines. Left equal, such customers form wide groups that k-means prefers to cut in halves
along their noise rather than separate two tight groups of regular customers. Every fit
(candidates, bootstrap refits, the final refit on everyone) therefore weighs each customer by
the reliability of an average over ``n`` orders, ``n / (n + n0)``
(:func:`reliability_weights`, ``n0 = reliability_orders``, the weight of an empirical-Bayes
shrinkage): a one-order customer counts ``1 / (1 + n0)``, a customer with many orders close to
1. Every customer still gets the segment of its nearest centre.

Example:
    >>> rng = np.random.default_rng(0)
    >>> signal = np.r_[rng.normal(-2, 0.3, 50), rng.normal(2, 0.3, 50)]
    >>> X = np.column_stack([signal, rng.normal(size=100), rng.normal(size=100)])
    >>> X = (X - X.mean(0)) / X.std(0)
    >>> cand = fit_candidate(X, 2, n_init=3, random_state=0, weighting=True)
    >>> int(np.argmax(cand.weights)), bool(cand.weights[0] > 2.5)
    (0, True)
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import sklearn
from scipy.stats import rankdata
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

logger = logging.getLogger(__name__)

#: Below this many rows KMeans runs single-threaded: OpenMP start-up and, on a busy machine,
#: oversubscription cost far more than the parallel gain (measured 10x slower at 600 rows).
_SINGLE_THREAD_ROWS = 20_000

#: Rounds of "weights from the segments, then k-means on the weighted features".
WEIGHT_ROUNDS = 3

#: k-means++ restarts beside the warm start in each round (0: the warm start only).
ROUND_RESTARTS = 2

#: An R² below this is rounding error, not separation.
_R2_ROUNDING = 1e-9


def reliability_weights(orders: np.ndarray, n0: float | None) -> np.ndarray | None:
    """Each customer's weight ``n / (n + n0)`` from its number of orders ``n`` (clipped to at
    least 0), rescaled to mean 1; None (every customer counts the same) when ``n0`` is None or
    every customer gets the same weight.

    Example:
        >>> reliability_weights(np.array([1.0, 5.0, 45.0]), 5).round(3).tolist()
        [0.319, 0.957, 1.723]
        >>> reliability_weights(np.array([3.0, 3.0]), 5) is None
        True
    """
    if n0 is None:
        return None
    n = np.clip(np.asarray(orders, dtype=np.float64), 0.0, None)
    w = n / (n + float(n0))
    if w.size == 0 or np.ptp(w) <= 0.0 or w.sum() <= 0.0:
        return None
    return w / w.mean()


@functools.cache
def _threadpools() -> ThreadpoolController:
    """The process's thread pools, inspected once: building a controller walks every loaded
    library (4 ms each time, 0.6 s over the ~150 fits of one k selection)."""
    return ThreadpoolController()


def single_threaded_blas() -> AbstractContextManager[Any]:
    """A context in which BLAS runs on one thread. k selection multiplies small matrices
    (a covariance of 3,000 × 25, distance sums): threads buy nothing there, and their start-up
    and spinning cost more CPU than the products (``np.cov`` of 3,000 × 25: 92 ms of CPU on
    two threads of a busy 2-core machine, 7 ms on one). KMeans limits BLAS to one thread
    inside its fits anyway.

    Example:
        >>> with single_threaded_blas():
        ...     float(np.ones((3, 3)) @ np.ones(3) @ np.ones(3))
        9.0
    """
    return _threadpools().limit(limits=1, user_api="blas")


def trusted_inputs() -> AbstractContextManager[Any]:
    """A context in which scikit-learn does not check again what the segment stage checked
    once: that the features are finite (the estimator rejects others; scaling and the
    reference data keep them finite) and that the parameters of the estimators it builds are
    valid (scikit-learn's public ``assume_finite`` and ``skip_parameter_validation``). The
    checks cost ~4% of a k-means fit, of which k selection makes ~180; results are the same.

    Example:
        >>> import sklearn
        >>> with trusted_inputs():
        ...     sklearn.get_config()["assume_finite"]
        True
    """
    return sklearn.config_context(assume_finite=True, skip_parameter_validation=True)


def fit_kmeans(
    X: np.ndarray,
    k: int,
    *,
    n_init: int,
    random_state: int,
    init: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
) -> KMeans:
    """Fit k-means++ KMeans (or one run from ``init`` centroids), rows weighted by
    ``sample_weight`` (None: equal); warnings are logged."""
    if init is None:
        model = KMeans(n_clusters=k, init="k-means++", n_init=n_init, random_state=random_state)
    else:
        model = KMeans(n_clusters=k, init=init, n_init=1, random_state=random_state)
    threads = 1 if X.shape[0] < _SINGLE_THREAD_ROWS else None
    with (
        _threadpools().limit(limits=threads, user_api="openmp"),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, sample_weight=sample_weight)
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            logger.info("KMeans k=%d: %s", k, w.message)
        else:  # pragma: no cover - re-emit anything unexpected unchanged
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return model


def separation_weights(
    X: np.ndarray, labels: np.ndarray, sample_weight: np.ndarray | None = None
) -> np.ndarray:
    """Each column's R² on ``labels`` (between-segment share of its variance, rows weighted
    by ``sample_weight``), scaled to mean 1; equal weights when no column separates the
    segments.

    Example:
        >>> X = np.array([[0.0, 5.0], [0.0, -5.0], [10.0, 5.0], [10.0, -5.0]])
        >>> separation_weights(X, np.array([0, 0, 1, 1])).tolist()
        [2.0, 0.0]
    """
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] == 0:
        return np.ones(X.shape[1])
    w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, np.float64)
    mean = w @ X / w.sum() if w.sum() > 0 else X.mean(axis=0)
    total = (w[:, None] * (X - mean) ** 2).sum(axis=0)
    k = int(labels.max()) + 1 if labels.size else 0
    counts = np.bincount(labels, weights=w, minlength=k)
    sums = segment_sums(X * w[:, None], labels, k)
    means = np.divide(sums, counts[:, None], out=np.zeros_like(sums), where=counts[:, None] > 0)
    between = (counts[:, None] * (means - mean) ** 2).sum(axis=0)
    r2 = np.divide(between, total, out=np.zeros_like(total), where=total > 0)
    # a constant column, or an R² that is only rounding error (one segment), separates nothing
    r2[(np.ptp(X, axis=0) == 0) | (r2 < _R2_ROUNDING)] = 0.0
    if r2.sum() <= 0:
        return np.ones(X.shape[1])
    return r2 / r2.mean()


@dataclass(frozen=True, eq=False)
class Candidate:
    """A fitted candidate ``k``: its model (in its weighted space), labels of the fitted rows,
    feature weights (all 1 without weighting) and within-segment sum of squares."""

    k: int
    model: KMeans
    weights: np.ndarray
    labels: np.ndarray
    inertia: float

    def space(self, X: np.ndarray) -> np.ndarray:
        """``X`` (scaled features) in this candidate's weighted space."""
        return X * np.sqrt(self.weights)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Segment (raw k-means label) of each row of ``X`` (scaled features)."""
        return self.model.predict(self.space(X))


def fit_candidates(
    X: np.ndarray,
    ks: Sequence[int],
    *,
    n_init: int,
    random_state: int,
    weighting: bool,
    sample_weight: np.ndarray | None = None,
) -> list[Candidate]:
    """Fit every ``k`` of ``ks`` on ``X`` (scaled features; rows weighted by
    ``sample_weight``), sharing one set of feature weights when ``weighting``: the mean over
    the candidates of the R² of each feature's ranks, so that every candidate lives in the
    same space and the criteria compare like with like."""
    p = X.shape[1]
    sw = sample_weight
    models = [
        fit_kmeans(X, k, n_init=n_init, random_state=random_state, sample_weight=sw) for k in ks
    ]
    weights = np.ones(p)
    if weighting:
        ranks = rankdata(X, axis=0)
        for _ in range(WEIGHT_ROUNDS):
            new_weights = np.mean(
                [separation_weights(ranks, m.labels_, sw) for m in models], axis=0
            )
            new_weights = new_weights / new_weights.mean() if new_weights.sum() > 0 else weights
            Xw = X * np.sqrt(new_weights)
            refitted = []
            for k, model in zip(ks, models, strict=True):
                warm = fit_kmeans(
                    Xw,
                    k,
                    n_init=1,
                    random_state=random_state,
                    init=_centres(Xw, model.labels_, k, sw),
                    sample_weight=sw,
                )
                best = warm
                if ROUND_RESTARTS:
                    fresh = fit_kmeans(
                        Xw, k, n_init=ROUND_RESTARTS, random_state=random_state, sample_weight=sw
                    )
                    best = warm if warm.inertia_ <= fresh.inertia_ else fresh
                refitted.append(best)
            unchanged = all(
                same_partition(a.labels_, b.labels_) for a, b in zip(refitted, models, strict=True)
            )
            models, weights = refitted, new_weights
            if unchanged:
                break
    return [
        Candidate(k, m, weights, m.labels_, float(m.inertia_))
        for k, m in zip(ks, models, strict=True)
    ]


def fit_candidate(
    X: np.ndarray,
    k: int,
    *,
    n_init: int,
    random_state: int,
    weighting: bool,
    init: Candidate | None = None,
    sample_weight: np.ndarray | None = None,
) -> Candidate:
    """Fit ``k`` segments on ``X`` (scaled features; rows weighted by ``sample_weight``), with
    separation weights if asked.

    ``init`` instead refits from another candidate's weights and centroids (one Lloyd run):
    used to refit on every customer the candidate chosen on a sample.
    """
    if init is None:
        return fit_candidates(
            X,
            [k],
            n_init=n_init,
            random_state=random_state,
            weighting=weighting,
            sample_weight=sample_weight,
        )[0]
    model = fit_kmeans(
        X * np.sqrt(init.weights),
        k,
        n_init=1,
        random_state=random_state,
        init=init.model.cluster_centers_,
        sample_weight=sample_weight,
    )
    return Candidate(k, model, init.weights, model.labels_, float(model.inertia_))


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two labelings of the same rows group them identically (ids may differ).

    Example:
        >>> same_partition(np.array([0, 0, 1]), np.array([1, 1, 0]))
        True
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    pairs = np.unique(a * (int(b.max(initial=0)) + 1) + b).size
    return pairs == np.unique(a).size == np.unique(b).size


def segment_sums(values: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Column sums of the rows of ``values`` per segment ``0..k-1`` of ``labels``, added in row
    order as ``np.add.at`` adds them (the same floats; one ``np.bincount`` per column, 3x
    faster).

    Example:
        >>> segment_sums(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([1, 0, 1]), 3)
        array([[3., 4.],
               [6., 8.],
               [0., 0.]])
    """
    values = np.asarray(values, dtype=np.float64)
    if values.shape[1] == 0:
        return np.zeros((k, 0))
    return np.stack(
        [np.bincount(labels, weights=column, minlength=k) for column in values.T], axis=1
    )


def _centres(
    X: np.ndarray, labels: np.ndarray, k: int, sample_weight: np.ndarray | None = None
) -> np.ndarray:
    w = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    counts = np.bincount(labels, weights=w, minlength=k)
    sums = segment_sums(X * w[:, None], labels, k)
    centres = np.divide(sums, counts[:, None], out=np.zeros_like(sums), where=counts[:, None] > 0)
    empty = np.flatnonzero(counts == 0)
    if empty.size:  # an empty segment restarts from the rows farthest from their centre
        far = np.argsort(-((X - centres[labels]) ** 2).sum(axis=1))[: empty.size]
        centres[empty] = X[far]
    return centres
