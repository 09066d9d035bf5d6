"""The criteria for choosing the number of segments, as one registry (:data:`K_METHODS`).

Each candidate ``k`` is a fitted :class:`~basketlens.segment.clustering.Candidate` on the same
rows (all customers, or a deterministic sample); every criterion scores the candidates and
picks one:

* ``silhouette`` — mean silhouette coefficient in the candidate's space; highest wins
  (Rousseeuw 1987).
* ``calinski_harabasz`` — between- over within-segment dispersion, each per degree of freedom;
  highest wins (Caliński & Harabasz 1974).
* ``davies_bouldin`` — mean over segments of the worst ratio of summed spreads to centroid
  distance; lowest wins (Davies & Bouldin 1979).
* ``gap`` — the gap statistic: ``E*[log W_k] − log W_k`` against reference data drawn
  uniformly in the box of the candidate's principal axes, re-clustered the same way; the
  smallest ``k`` with ``gap(k) >= gap(k+1) − s(k+1)`` wins (Tibshirani, Walther & Hastie
  2001). ``gap(1)`` is computed too: when even ``k = 1`` passes, the data has no clear
  segment structure (the reason says so) and the rule is applied from ``k_min``.
* ``bic`` — Bayesian information criterion of a Gaussian mixture with ``k`` full-covariance
  components fitted to the scaled features; lowest wins (Fraley & Raftery 1998).
* ``stability`` — mean adjusted Rand index between refits on bootstrap resamples, compared on
  the fitted rows (Ben-Hur, Elisseeff & Guyon 2002; Lange et al. 2004). As in Ben-Hur et al.,
  the *largest* ``k`` whose stability is at least :data:`STABLE` wins — split as long as the
  split is reproducible — and the most stable ``k`` when none is.
* ``stable_separation`` — stable segments, well separated: among the candidates whose every
  segment is stable (:func:`.metrics.segment_jaccards`: its mean Jaccard similarity with its best
  match in the bootstrap refits is at least :data:`SEGMENT_STABLE`, Hennig 2007), the largest
  ``k`` whose *separation beyond chance* (its silhouette minus the :func:`null_silhouette` of
  the same ``k``) is at least :data:`SEPARATION_SHARE` of the best such separation; the
  candidate with the most stable weakest segment when none qualifies. The overall agreement
  of refits (``stability``) stays high when one compact group is cut in two arbitrary halves
  — the other segments agree — but those two halves are unstable on their own: this rule
  sees it.

Ties go to the smaller ``k``. Beside the criteria, :func:`null_silhouette` measures what
silhouette the same clustering reaches on reference data without segments (the verdict's
yardstick, :mod:`.verdict`). The benchmark that chose the default is
``benchmarks/bench_segmentation.py`` (``docs/segmentation.md``).

Example:
    >>> list(K_METHODS)[:3]
    ['silhouette', 'calinski_harabasz', 'davies_bouldin']
    >>> X = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> round(silhouettes(X, [np.array([0, 0, 1, 1])])[0], 4)  # (9.5/10.5 + 8.5/9.5) / 2
    0.8997
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score
from sklearn.mixture import GaussianMixture

from basketlens.segment.clustering import Candidate
from basketlens.segment.metrics import mean_pairwise_ari, silhouettes, silhouettes_each
from basketlens.segment.options import K_METHOD_NAMES

logger = logging.getLogger(__name__)

#: A candidate is stable when its bootstrap refits agree at least this much (mean ARI).
STABLE = 0.9

#: ``stable_separation``: the clusterwise stability every segment needs (Hennig's "stable"),
#: and the share of the best separation beyond chance among those candidates that the
#: chosen (largest) k must reach.
SEGMENT_STABLE = 0.8
SEPARATION_SHARE = 0.7


class Refit(Protocol):
    """Fits a candidate ``k`` on the given rows with the given seed number ``b``, rows
    weighted by ``weight`` (None: equal) — the procedure being scored."""

    def __call__(
        self, rows: np.ndarray, k: int, b: int, weight: np.ndarray | None = None
    ) -> Candidate: ...


@dataclass(frozen=True)
class KMethod:
    """One criterion: its name (``k_method``), the ``k_selection`` column it fills, whether a
    higher or lower score wins (or a rule decides), and a one-line description."""

    name: str
    column: str
    better: str  # "higher", "lower" or "rule"
    description: str


def _registry(*entries: KMethod) -> dict[str, KMethod]:
    return {m.name: m for m in entries}


#: The k-selection criteria, in the order of the ``k_selection`` columns.
K_METHODS: dict[str, KMethod] = _registry(
    KMethod("silhouette", "silhouette", "higher", "mean silhouette coefficient"),
    KMethod(
        "calinski_harabasz",
        "calinski_harabasz",
        "higher",
        "between / within dispersion per degree of freedom",
    ),
    KMethod(
        "davies_bouldin",
        "davies_bouldin",
        "lower",
        "mean worst spread-to-separation ratio of the segments",
    ),
    KMethod("gap", "gap", "rule", "gap statistic against uniform reference data"),
    KMethod("bic", "bic", "lower", "BIC of a Gaussian mixture with k components"),
    KMethod(
        "stability",
        "stability",
        "rule",
        "largest k whose bootstrap refits agree (mean ARI >= 0.9)",
    ),
    KMethod(
        "stable_separation",
        "null_silhouette",
        "rule",
        "largest k with every segment stable, separated beyond chance about as well as the best",
    ),
)
assert tuple(K_METHODS) == K_METHOD_NAMES, "SegmentOptions.k_method must list K_METHODS"


def elbow_index(ks: Sequence[int], inertias: Sequence[float]) -> int | None:
    """Position of the elbow of a decreasing inertia curve (Kneedle: the candidate farthest
    below the chord of the min-max normalised curve), or None with fewer than 3 candidates or
    a straight curve.

    Example:
        >>> elbow_index([2, 3, 4, 5, 6], [100.0, 40.0, 12.0, 10.0, 9.0])
        2
    """
    if len(ks) < 3:
        return None
    x = np.asarray(ks, dtype=np.float64)
    y = np.asarray(inertias, dtype=np.float64)
    if not np.all(np.isfinite(y)) or np.ptp(y) <= 0:
        return None
    x = (x - x[0]) / (x[-1] - x[0])
    y = (y - y.min()) / np.ptp(y)
    chord = y[0] + (y[-1] - y[0]) * x
    below = chord - y
    best = int(np.argmax(below))
    return best if below[best] > 1e-9 else None


# ----------------------------------------------------------------------------- internal indices
def _distinct(labels: np.ndarray, k: int) -> bool:
    return np.unique(labels).size == k


def silhouette_scores(X: np.ndarray, candidates: Sequence[Candidate]) -> list[float]:
    """Silhouette of each candidate in its own weighted space (NaN if degenerate)."""
    groups: dict[bytes, list[int]] = {}
    for i, c in enumerate(candidates):
        groups.setdefault(c.weights.tobytes(), []).append(i)
    out = [float("nan")] * len(candidates)
    for members in groups.values():  # candidates sharing a space share one distance pass
        space = candidates[members[0]].space(X)
        scores = silhouettes(space, [candidates[i].labels for i in members])
        for i, s in zip(members, scores, strict=True):
            out[i] = s if _distinct(candidates[i].labels, candidates[i].k) else float("nan")
    return out


def calinski_harabasz_scores(X: np.ndarray, candidates: Sequence[Candidate]) -> list[float]:
    """Calinski–Harabasz index of each candidate in its own space (NaN if degenerate)."""
    return [
        float(calinski_harabasz_score(c.space(X), c.labels))
        if _distinct(c.labels, c.k) and c.k < X.shape[0]
        else float("nan")
        for c in candidates
    ]


def davies_bouldin_scores(X: np.ndarray, candidates: Sequence[Candidate]) -> list[float]:
    """Davies–Bouldin index of each candidate in its own space (NaN if degenerate)."""
    return [
        float(davies_bouldin_score(c.space(X), c.labels))
        if _distinct(c.labels, c.k) and c.k < X.shape[0]
        else float("nan")
        for c in candidates
    ]


# ----------------------------------------------------------------------------- gap statistic
def _log_w(X: np.ndarray, labels: np.ndarray) -> float:
    """log of the within-segment sum of squares (Tibshirani's W_k up to a constant)."""
    total = 0.0
    for s in np.unique(labels):
        rows = X[labels == s]
        total += float(((rows - rows.mean(axis=0)) ** 2).sum())
    return float(np.log(max(total, 1e-300)))


def _reference(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uniform data in the box of ``X``'s principal axes (Tibshirani et al.'s method b)."""
    centred = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    rotated = centred @ vt.T
    low, high = rotated.min(axis=0), rotated.max(axis=0)
    return rng.uniform(low, high, size=rotated.shape) @ vt


@dataclass(frozen=True)
class Gap:
    """Gap statistic per candidate (and for ``k = 1``), with its standard error."""

    gap: list[float]
    se: list[float]
    gap_1: float
    se_1: float


def gap_statistic(
    X: np.ndarray, candidates: Sequence[Candidate], refit: Refit, *, references: int, seed: int
) -> Gap:
    """Gap and its standard error ``s_k = sd_k · sqrt(1 + 1/B)`` for each candidate."""
    seeds = np.random.SeedSequence(seed).spawn(len(candidates) + 1)
    gaps, ses = [], []
    for c, ss in zip(candidates, seeds[1:], strict=True):
        space = c.space(X)
        rng = np.random.default_rng(ss)
        logs = []
        for b in range(references):
            ref = _reference(space, rng)
            logs.append(_log_w(ref, refit(ref, c.k, b).labels))
        gaps.append(float(np.mean(logs) - _log_w(space, c.labels)))
        ses.append(float(np.std(logs) * np.sqrt(1.0 + 1.0 / references)))
    rng = np.random.default_rng(seeds[0])
    ones = np.zeros(X.shape[0], dtype=np.int64)
    logs = [_log_w(_reference(X, rng), ones) for _ in range(references)]
    gap_1 = float(np.mean(logs) - _log_w(X, ones))
    se_1 = float(np.std(logs) * np.sqrt(1.0 + 1.0 / references))
    return Gap(gaps, ses, gap_1, se_1)


def gap_choice(ks: Sequence[int], gap: Gap) -> tuple[int, bool]:
    """Index of the chosen candidate by Tibshirani's rule, and whether ``k = 1`` passes it.

    The smallest ``k`` with ``gap(k) >= gap(k+1) - s(k+1)``; the largest candidate when none
    does.

    Example:
        >>> gap_choice([2, 3, 4], Gap([0.2, 0.5, 0.45], [0.01, 0.01, 0.01], 0.0, 0.01))
        (1, False)
    """
    one = gap.gap_1 >= gap.gap[0] - gap.se[0] if ks and ks[0] == 2 else False
    for j in range(len(ks) - 1):
        if gap.gap[j] >= gap.gap[j + 1] - gap.se[j + 1]:
            return j, one
    return len(ks) - 1, one


# ----------------------------------------------------------------------------- mixture BIC
def bic_scores(X: np.ndarray, ks: Sequence[int], *, seed: int) -> list[float]:
    """BIC of a full-covariance Gaussian mixture with ``k`` components, for each ``k``."""
    out = []
    for k in ks:
        gm = GaussianMixture(
            n_components=k,
            covariance_type="full",
            reg_covar=1e-3,
            n_init=1,
            max_iter=200,
            random_state=seed,
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            gm.fit(X)
        for w in caught:
            if issubclass(w.category, ConvergenceWarning):
                logger.info("Gaussian mixture k=%d: %s", k, w.message)
        out.append(float(gm.bic(X)))
    return out


# ----------------------------------------------------------------------------- stability
def bootstrap_refits(
    X: np.ndarray,
    k: int,
    refit: Refit,
    *,
    resamples: int,
    seed: int,
    sample_weight: np.ndarray | None = None,
    start: int = 0,
) -> list[np.ndarray]:
    """The segments every row of ``X`` gets from ``k``-segment refits on ``resamples``
    bootstrap resamples of the rows (each resampled row keeps its ``sample_weight``);
    ``start``: skip the first resamples (to add refits to an earlier call's with the same
    seed: together they are the refits of one call with ``resamples``)."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    out = []
    for b in range(resamples):
        rows = rng.integers(0, n, n)
        if b < start:
            continue
        weight = None if sample_weight is None else sample_weight[rows]
        out.append(refit(X[rows], k, b, weight).predict(X))
    return out


def bootstrap_stability(
    X: np.ndarray,
    k: int,
    refit: Refit,
    *,
    resamples: int,
    seed: int,
    sample_weight: np.ndarray | None = None,
) -> float:
    """Mean adjusted Rand index between the segments of refits on bootstrap resamples of the
    rows of ``X``, each refit assigning every row; NaN with fewer than 2 resamples."""
    if resamples < 2:
        return float("nan")
    refits = bootstrap_refits(
        X, k, refit, resamples=resamples, seed=seed, sample_weight=sample_weight
    )
    return mean_pairwise_ari(refits)


def stability_choice(stabilities: Sequence[float]) -> int:
    """Index of the largest ``k`` with stability >= :data:`STABLE`, else of the most stable.

    Example:
        >>> stability_choice([0.99, 0.97, 0.95, 0.71, 0.92, 0.6])
        4
        >>> stability_choice([0.8, 0.85, 0.6])
        1
    """
    values = np.asarray(stabilities, dtype=np.float64)
    stable = np.flatnonzero(values >= STABLE)
    if stable.size:
        return int(stable[-1])
    return int(np.nanargmax(values)) if not np.all(np.isnan(values)) else 0


# ----------------------------------------------------------------------------- null reference
def gaussian_reference(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Customers without segments spread like ``X``: as many rows drawn from one Gaussian
    cloud with ``X``'s mean and covariance (the null of SigClust, Liu et al. 2008).

    Example:
        >>> X = np.random.default_rng(0).normal(size=(500, 2)) @ np.array([[2.0, 0.0], [1.0, 0.5]])
        >>> R = gaussian_reference(X, np.random.default_rng(1))
        >>> bool(np.allclose(np.cov(R, rowvar=False), np.cov(X, rowvar=False), atol=0.3))
        True
    """
    cov = np.atleast_2d(np.cov(X, rowvar=False))
    return rng.multivariate_normal(X.mean(axis=0), cov, size=X.shape[0], method="eigh")


def null_silhouette(
    X: np.ndarray,
    k: int,
    refit: Refit,
    *,
    seed: int,
    draws: int = 2,
    sample_weight: np.ndarray | None = None,
) -> float:
    """Mean silhouette of ``k`` segments fitted (by ``refit``, reference rows weighted by
    ``sample_weight`` like the real ones) to :func:`gaussian_reference` data of ``X``, averaged
    over ``draws`` reference sets: the separation k-means finds in customers that form no
    segments but are spread like these."""
    return null_silhouettes(X, [k], refit, seed=seed, draws=draws, sample_weight=sample_weight)[0]


def null_silhouettes(
    X: np.ndarray,
    ks: Sequence[int],
    refit: Refit,
    *,
    seed: int,
    draws: int = 2,
    sample_weight: np.ndarray | None = None,
) -> list[float]:
    """:func:`null_silhouette` of each ``k`` of ``ks`` on the same ``X``: the reference sets
    are the same for every ``k`` (same data, same seed), so each is drawn and its distances
    computed once (:func:`.metrics.silhouettes_each`: the numbers of one ``k`` at a time).

    Example:
        >>> from basketlens.segment.k_selection import refit_in_space
        >>> X, refit = np.random.default_rng(0).normal(size=(60, 2)), refit_in_space(2, 0)
        >>> null_silhouettes(X, [2, 3], refit, seed=0) == [
        ...     null_silhouette(X, 2, refit, seed=0), null_silhouette(X, 3, refit, seed=0)]
        True
    """
    rng = np.random.default_rng(seed)
    values: list[list[float]] = [[] for _ in ks]
    for b in range(draws):
        ref = gaussian_reference(X, rng)
        labelings = [refit(ref, k, b, sample_weight).labels for k in ks]
        for per_k, value in zip(values, silhouettes_each(ref, labelings), strict=True):
            per_k.append(value)
    return [float(np.nanmean(v)) if not np.all(np.isnan(v)) else float("nan") for v in values]


def stable_separation_choice(
    segment_stability: Sequence[float],
    silhouettes_: Sequence[float],
    null_silhouettes: Sequence[float],
) -> int:
    """Index of the largest ``k`` whose weakest segment is stable (>= :data:`SEGMENT_STABLE`)
    and whose separation beyond chance (silhouette − null silhouette) is at least
    :data:`SEPARATION_SHARE` × the best among those; else of the ``k`` whose weakest segment
    is the most stable.

    Example:
        >>> stable_separation_choice([1.0, 0.95, 0.9, 0.5], [0.5, 0.45, 0.3, 0.2],
        ...                          [0.2, 0.15, 0.2, 0.1])
        1
    """
    stab = np.asarray(segment_stability, dtype=np.float64)
    excess = np.asarray(silhouettes_, dtype=np.float64) - np.asarray(null_silhouettes)
    stable = [j for j in range(stab.size) if stab[j] >= SEGMENT_STABLE]
    if not stable:
        return int(np.nanargmax(stab)) if not np.all(np.isnan(stab)) else 0
    best = max(float(np.nan_to_num(excess[j], nan=-np.inf)) for j in stable)
    good = [j for j in stable if excess[j] >= SEPARATION_SHARE * best]
    return max(good) if good else max(stable)
