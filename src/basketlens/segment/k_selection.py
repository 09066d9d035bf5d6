"""Choosing the number of segments: fit every candidate ``k``, score it, pick by ``k_method``.

For each candidate ``k`` a :class:`~basketlens.segment.clustering.Candidate` is fitted on the
same rows — every customer, or a deterministic sample of at most ``sample_size`` of them (the
caller then refits the chosen ``k`` once on everyone from the sample's centroids). The
candidates are scored by the criteria of :mod:`.criteria`: the cheap internal indices
(silhouette, Calinski–Harabasz, Davies–Bouldin) always, the gap statistic, the mixture BIC
and the resampling stability when they decide. The stability of the chosen ``k`` (mean ARI
between refits on ``resamples`` bootstrap resamples) and its null silhouette (the silhouette
of ``k`` segments on reference data without segments, :func:`.criteria.null_silhouette`)
are always measured. Resampled and reference fits keep the candidate's feature weights and
customer weights and use ``min(n_init, REFIT_INIT)`` restarts. With
``k_method="stability"`` the stability is measured from the largest ``k`` down and stops at the
first stable one (the smaller ones cannot change the choice; the table shows them blank).

Every row of the ``k_selection`` table carries the scores computed, whether it was chosen and
why, and whether it is the elbow of the inertia curve (reported, never decisive).

Example:
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2))])
    >>> sel = select_k(X, ks=[2, 3, 4], method="silhouette", n_init=3, random_state=0,
    ...                sample_size=1000, weighting=False, resamples=4)
    >>> sel.k, round(sel.stability, 2)
    (2, 1.0)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from basketlens.schema import K_SELECTION_SCHEMA
from basketlens.segment.clustering import Candidate, fit_candidates, fit_kmeans
from basketlens.segment.criteria import (
    K_METHODS,
    SEGMENT_STABLE,
    SEPARATION_SHARE,
    STABLE,
    Gap,
    Refit,
    bic_scores,
    bootstrap_refits,
    bootstrap_stability,
    calinski_harabasz_scores,
    davies_bouldin_scores,
    elbow_index,
    gap_choice,
    gap_statistic,
    null_silhouette,
    null_silhouettes,
    silhouette_scores,
    stability_choice,
    stable_separation_choice,
)
from basketlens.segment.metrics import mean_pairwise_ari, segment_jaccards

logger = logging.getLogger(__name__)

#: Criteria computed whatever the method (cheap, and shown in the report).
ALWAYS_SCORED = ("silhouette", "calinski_harabasz", "davies_bouldin")

#: Every criterion and the null silhouette (the benchmark scores them all on the same
#: candidates).
ALL_SCORED = (*K_METHODS, "null_silhouette")

#: Reference data sets of the gap statistic.
GAP_REFERENCES = 10

#: Restarts of the resampled and reference fits (at most ``n_init``).
REFIT_INIT = 2

#: A weakest-segment stability this close to ``SEGMENT_STABLE`` after half the resamples
#: gets the other half (see :func:`_refits`).
BORDERLINE = 0.1


def deterministic_sample(n: int, size: int, random_state: int) -> np.ndarray | None:
    """Sorted indices of ``size`` rows out of ``n`` (None when ``n <= size``: use all rows).

    Example:
        >>> deterministic_sample(5, 10, 0) is None
        True
        >>> deterministic_sample(10, 3, 0).tolist() == deterministic_sample(10, 3, 0).tolist()
        True
    """
    if n <= size:
        return None
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=size, replace=False))


def refit_in_space(n_init: int, random_state: int) -> Refit:
    """The resampled / reference fit: plain k-means in an already weighted space."""

    def refit(rows: np.ndarray, k: int, b: int, weight: np.ndarray | None = None) -> Candidate:
        model = fit_kmeans(
            rows,
            k,
            n_init=min(n_init, REFIT_INIT),
            random_state=random_state + 7919 * (b + 1),
            sample_weight=weight,
        )
        return Candidate(k, model, np.ones(rows.shape[1]), model.labels_, float(model.inertia_))

    return refit


@dataclass(frozen=True, eq=False)
class KSelection:
    """Result of :func:`select_k`: the table, the chosen ``k``, its candidate and scores."""

    table: pl.DataFrame  # K_SELECTION_SCHEMA
    k: int
    candidate: Candidate  # fitted on the sample when one was used
    sampled: bool
    silhouette: float  # of the chosen candidate
    stability: float  # of the chosen candidate
    null_silhouette: float  # of the chosen k on reference data without segments
    no_structure: bool  # the gap statistic prefers k = 1 (only with method="gap")
    scores: dict[str, list[float]]  # criterion -> score per k (NaN when not computed)
    candidates: list[Candidate]  # one per k, fitted on the same rows


def select_k(
    X: np.ndarray,
    *,
    ks: Sequence[int],
    method: str,
    n_init: int,
    random_state: int,
    sample_size: int,
    weighting: bool,
    resamples: int,
    score: Sequence[str] = ALWAYS_SCORED,
    sample_weight: np.ndarray | None = None,
) -> KSelection:
    """Fit every candidate ``k`` on ``X`` (scaled features; rows weighted by
    ``sample_weight``, :func:`.clustering.reliability_weights`) and choose one by ``method``.

    ``score`` names further criteria to compute for every candidate (the benchmark asks for
    all).
    """
    n = X.shape[0]
    idx = deterministic_sample(n, sample_size, random_state)
    rows = X if idx is None else X[idx]
    sw = sample_weight if sample_weight is None or idx is None else sample_weight[idx]
    ks = list(ks)
    candidates = fit_candidates(
        rows, ks, n_init=n_init, random_state=random_state, weighting=weighting, sample_weight=sw
    )
    wanted = {*ALWAYS_SCORED, *score, method}
    scores = _scores(rows, candidates, wanted, n_init, random_state, resamples, score, sw)
    nan = [float("nan")] * len(ks)
    inertias = [float(c.inertia) for c in candidates]
    if idx is not None:  # inertia of everyone, from the sample's centroids
        inertias = [float(-c.model.score(c.space(X))) for c in candidates]
    elbow = elbow_index(ks, inertias)

    best, reason, no_structure = choose_k(ks, method, scores)
    stability = scores["stability"][best]
    if np.isnan(stability):
        refit = refit_in_space(n_init, random_state)
        stability = bootstrap_stability(
            candidates[best].space(rows),
            ks[best],
            refit,
            resamples=resamples,
            seed=random_state,
            sample_weight=sw,
        )
        scores["stability"] = [stability if j == best else v for j, v in enumerate(nan)]
    null_sil = scores["null_silhouette"][best]
    if np.isnan(null_sil):
        null_sil = null_silhouette(
            candidates[best].space(rows),
            ks[best],
            refit_in_space(n_init, random_state),
            seed=random_state,
            sample_weight=sw,
        )
        scores["null_silhouette"] = [null_sil if j == best else v for j, v in enumerate(nan)]
    where = "" if idx is None else f" on a sample of {len(idx):,} customers"
    elbow_text = f"elbow at k={ks[elbow]}" if elbow is not None else "no clear elbow"
    reasons = []
    for j in range(len(ks)):
        if j == best:
            reasons.append(f"{reason}{where}; {elbow_text}")
        else:
            reasons.append(_why_not(j, best, method, scores, elbow))
    table = pl.DataFrame(
        {
            "k": ks,
            "inertia": inertias,
            **{name: scores.get(name, nan) for name in _SCORE_COLUMNS},
            "chosen": [j == best for j in range(len(ks))],
            "is_elbow": [j == elbow for j in range(len(ks))],
            "reason": reasons,
        },
        schema=K_SELECTION_SCHEMA,
        strict=False,
    )
    logger.info("k selection: k=%d (%s)", ks[best], reasons[best])
    return KSelection(
        table=table,
        k=int(ks[best]),
        candidate=candidates[best],
        sampled=idx is not None,
        silhouette=float(scores["silhouette"][best]),
        stability=float(stability),
        null_silhouette=float(null_sil),
        no_structure=no_structure,
        scores=scores,
        candidates=candidates,
    )


_SCORE_COLUMNS = (
    "silhouette",
    "null_silhouette",
    "calinski_harabasz",
    "davies_bouldin",
    "gap",
    "gap_se",
    "bic",
    "stability",
    "segment_stability",
)


def _scores(
    rows: np.ndarray,
    candidates: Sequence[Candidate],
    wanted: set[str],
    n_init: int,
    random_state: int,
    resamples: int,
    score_all: Sequence[str] = (),
    sample_weight: np.ndarray | None = None,
) -> dict[str, list[float]]:
    sw = sample_weight
    nan = [float("nan")] * len(candidates)
    scores: dict[str, list[float]] = {name: list(nan) for name in _SCORE_COLUMNS}
    refit = refit_in_space(n_init, random_state)
    if "silhouette" in wanted:
        scores["silhouette"] = silhouette_scores(rows, candidates)
    if "calinski_harabasz" in wanted:
        scores["calinski_harabasz"] = calinski_harabasz_scores(rows, candidates)
    if "davies_bouldin" in wanted:
        scores["davies_bouldin"] = davies_bouldin_scores(rows, candidates)
    if "gap" in wanted:
        gap = gap_statistic(rows, candidates, refit, references=GAP_REFERENCES, seed=random_state)
        scores["gap"], scores["gap_se"] = gap.gap, gap.se
        scores["_gap_1"] = [gap.gap_1, gap.se_1]
    if "bic" in wanted:
        scores["bic"] = bic_scores(rows, [c.k for c in candidates], seed=random_state)
    if "stable_separation" in wanted:
        wanted = wanted | {"stability"}
        score_all = (*score_all, "stability")  # every k's stability decides
    if "stability" in wanted:
        every = "stability" in score_all
        for j in reversed(range(len(candidates))):  # from the largest k down
            c = candidates[j]
            if np.unique(c.labels).size < c.k:
                continue  # fewer distinct customers than k: not a candidate at all
            refits = _refits(c, rows, refit, resamples, random_state, sw)
            scores["stability"][j] = mean_pairwise_ari(refits)
            scores["segment_stability"][j] = float(segment_jaccards(c.labels, refits).min())
            if scores["stability"][j] >= STABLE and not every:
                break  # the largest stable k is found: smaller ones cannot change the choice
    if "null_silhouette" in wanted:  # every candidate's
        needed = list(range(len(candidates)))
    elif "stable_separation" in wanted:  # the stable candidates need theirs
        needed = [
            j for j in range(len(candidates)) if scores["segment_stability"][j] >= SEGMENT_STABLE
        ]
    else:
        needed = []
    for j, value in _null_silhouettes(rows, candidates, needed, refit, random_state, sw).items():
        scores["null_silhouette"][j] = value
    return scores


def _null_silhouettes(
    rows: np.ndarray,
    candidates: Sequence[Candidate],
    needed: Sequence[int],
    refit: Refit,
    seed: int,
    sample_weight: np.ndarray | None,
) -> dict[int, float]:
    """The null silhouette of the ``needed`` candidates (positions in ``candidates``); those
    in the same weighted space share their reference data sets and distances."""
    groups: dict[bytes, list[int]] = {}
    for j in needed:
        groups.setdefault(candidates[j].weights.tobytes(), []).append(j)
    out: dict[int, float] = {}
    for members in groups.values():
        space = candidates[members[0]].space(rows)
        ks = [candidates[j].k for j in members]
        values = null_silhouettes(space, ks, refit, seed=seed, sample_weight=sample_weight)
        out.update(zip(members, values, strict=True))
    return out


def _refits(
    c: Candidate,
    rows: np.ndarray,
    refit: Refit,
    resamples: int,
    seed: int,
    sample_weight: np.ndarray | None,
) -> list[np.ndarray]:
    """The bootstrap refits of candidate ``c``, in two stages: half of ``resamples`` first,
    the other half only when the weakest segment's stability lies within
    :data:`BORDERLINE` of the :data:`SEGMENT_STABLE` it is compared with — where the noise
    of a ten-resample estimate would decide (0.75 measured, 0.80 over twenty). Far from it,
    ten refits settle the question at half the cost. The two stages together are exactly the
    refits of one call with ``resamples`` (same draws, same seeds)."""
    X = c.space(rows)
    half = max(2, resamples // 2)
    refits = bootstrap_refits(X, c.k, refit, resamples=min(half, resamples), seed=seed,
                              sample_weight=sample_weight)  # fmt: skip
    weakest = float(segment_jaccards(c.labels, refits).min())
    if resamples > half and abs(weakest - SEGMENT_STABLE) < BORDERLINE:
        refits += bootstrap_refits(X, c.k, refit, resamples=resamples, seed=seed,
                                   sample_weight=sample_weight, start=half)  # fmt: skip
    return refits


def choose_k(
    ks: Sequence[int], method: str, scores: dict[str, list[float]]
) -> tuple[int, str, bool]:
    """(index of the chosen candidate, reason, whether the gap statistic prefers k = 1) by
    ``method`` from the ``scores`` of :func:`select_k` (``KSelection.scores``)."""
    spec = K_METHODS[method]
    if method == "stable_separation":
        best = stable_separation_choice(
            scores["segment_stability"], scores["silhouette"], scores["null_silhouette"]
        )
        stab, sil, null = (
            scores[c][best] for c in ("segment_stability", "silhouette", "null_silhouette")
        )
        if stab >= SEGMENT_STABLE:
            return (
                best,
                f"largest k whose every segment is stable (weakest {stab:.2f} >= "
                f"{SEGMENT_STABLE}) and separated beyond chance ({sil:.2f} vs {null:.2f} "
                f"without segments) at least {SEPARATION_SHARE:.0%} as well as the best such k",
                False,
            )
        return (
            best,
            f"no k has every segment stable: the most stable weakest segment ({stab:.2f})",
            False,
        )
    if method == "stability":
        best = stability_choice(scores["stability"])
        value = scores["stability"][best]
        if value >= STABLE:
            return best, f"largest k with stability >= {STABLE} ({value:.2f})", False
        return best, f"most stable k ({value:.2f}); no k reaches {STABLE}", False
    if method == "gap":
        gap_1, se_1 = scores["_gap_1"]
        best, one = gap_choice(ks, _gap_of(scores, gap_1, se_1))
        g = scores["gap"][best]
        reason = f"gap statistic rule: gap(k)={g:.3f} >= gap(k+1) - s(k+1)"
        if one:
            reason += "; k=1 would pass the rule too (no clear segment structure)"
        return best, reason, one
    values = np.asarray(scores[spec.column], dtype=np.float64)
    if np.all(np.isnan(values)):
        return 0, f"{spec.column} undefined for every k (fewer distinct customers than k)", False
    signed = values if spec.better == "higher" else -values
    best = int(np.nanargmax(signed))  # first maximum: ties go to the smaller k
    word = "highest" if spec.better == "higher" else "lowest"
    return best, f"{word} {_label(method)} {values[best]:.{_digits(method)}f}", False


def _gap_of(scores: dict[str, list[float]], gap_1: float, se_1: float) -> Gap:
    return Gap(scores["gap"], scores["gap_se"], gap_1, se_1)


def _label(method: str) -> str:
    return {
        "silhouette": "silhouette",
        "calinski_harabasz": "Calinski-Harabasz",
        "davies_bouldin": "Davies-Bouldin",
        "bic": "BIC",
        "stability": "stability",
    }.get(method, method)


def _digits(method: str) -> int:
    return {"calinski_harabasz": 1, "bic": 1}.get(method, 2 if method == "silhouette" else 3)


def _why_not(
    j: int, best: int, method: str, scores: dict[str, list[float]], elbow: int | None
) -> str:
    prefix = "elbow of the inertia curve; " if j == elbow else ""
    if method == "gap":
        return prefix + f"gap {scores['gap'][j]:.3f}; not the first k the gap rule accepts"
    if method == "stable_separation":
        stab, sil, null = (
            scores[c][j] for c in ("segment_stability", "silhouette", "null_silhouette")
        )
        if np.isnan(stab) or stab < SEGMENT_STABLE:
            return prefix + f"weakest segment's stability {stab:.2f} < {SEGMENT_STABLE}"
        if j < best:
            return prefix + f"stable and separated ({sil:.2f} vs {null:.2f}); a larger k is too"
        return prefix + (
            f"stable, but separated beyond chance ({sil:.2f} vs {null:.2f}) less than "
            f"{SEPARATION_SHARE:.0%} as well as the best stable k"
        )
    if method == "stability":
        value = scores["stability"][j]
        if j > best:
            return prefix + f"stability {value:.2f} < {STABLE}"
        if np.isnan(value):
            return prefix + "stability not measured: a larger k is stable"
        return prefix + f"stability {value:.2f}; a larger k is stable"
    column = K_METHODS[method].column
    value, chosen = scores[column][j], scores[column][best]
    if np.isnan(value):
        return prefix + f"{_label(method)} undefined (fewer distinct customers than k)"
    d = _digits(method)
    sign = "<" if K_METHODS[method].better == "higher" else ">"
    if value == chosen:
        sign = "="
    return prefix + f"{_label(method)} {value:.{d}f} {sign} {chosen:.{d}f}"


def single_k_table(k: int, inertia: float, scores: dict[str, float]) -> pl.DataFrame:
    """The ``k_selection_`` table when ``k`` was given by the user."""
    return pl.DataFrame(
        {
            "k": [k],
            "inertia": [inertia],
            **{name: [scores.get(name, float("nan"))] for name in _SCORE_COLUMNS},
            "chosen": [True],
            "is_elbow": [False],
            "reason": [f"k={k} given"],
        },
        schema=K_SELECTION_SCHEMA,
    )
