"""k selection, feature weights, stability, the null silhouette and the verdict
(basketlens.segment.clustering / criteria / k_selection / verdict), and the choice of k on
small generated ledgers with known personas."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from basketlens.errors import ParameterError
from basketlens.segment import CustomerSegmenter
from basketlens.segment.clustering import (
    fit_candidate,
    fit_candidates,
    same_partition,
    separation_weights,
)
from basketlens.segment.criteria import (
    K_METHODS,
    STABLE,
    Gap,
    bootstrap_stability,
    gap_choice,
    gaussian_reference,
    null_silhouette,
    silhouettes,
    stability_choice,
)
from basketlens.segment.k_selection import ALL_SCORED, choose_k, refit_in_space, select_k
from basketlens.segment.options import K_METHOD_NAMES, SegmentOptions
from basketlens.segment.verdict import MIN_EXCESS, MIN_STABILITY, verdict


def blobs(centres: list[tuple[float, ...]], n: int, spread: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(c, spread, (n, len(c))) for c in centres])


def scaled(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(axis=0)) / X.std(axis=0)


# --------------------------------------------------------------------------- feature weights
def test_separation_weights_hand_computed() -> None:
    X = np.array([[0.0, 5.0, 1.0], [0.0, -5.0, 1.0], [10.0, 5.0, 1.0], [10.0, -5.0, 1.0]])
    # R² of the columns on the labels: 1, 0 and (constant) 0 -> normalised to mean 1
    assert separation_weights(X, np.array([0, 0, 1, 1])).tolist() == [3.0, 0.0, 0.0]
    # no column separates: equal weights, never NaN
    assert separation_weights(X[:, 1:], np.array([0, 0, 0, 0])).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("seed", range(5))
def test_noise_features_fade_and_every_candidate_shares_the_weights(seed: int) -> None:
    """Three groups in 2 of 6 columns: the 4 noise columns fade, the groups are found."""
    rng = np.random.default_rng(seed)
    signal = blobs([(0.0, 0.0), (4.0, 0.0), (0.0, 4.0)], 60, 0.5, seed=seed)
    X = scaled(np.hstack([signal, rng.normal(size=(180, 4))]))
    cands = fit_candidates(X, [2, 3, 4], n_init=3, random_state=0, weighting=True)
    assert all(np.array_equal(c.weights, cands[0].weights) for c in cands)
    w = cands[0].weights
    assert w.mean() == pytest.approx(1.0)
    # weights are R² of ranks: a 4th segment cut into one noise column lifts it to ~0.4
    assert w[:2].min() > 2.0 and w[2:].max() < 0.5
    truth = np.repeat([0, 1, 2], 60)
    assert adjusted_rand_score(truth, cands[1].labels) == 1.0
    plain = fit_candidates(X, [3], n_init=3, random_state=0, weighting=False)[0]
    assert plain.weights.tolist() == [1.0] * 6


def test_refit_from_a_candidate_keeps_its_weights_and_segments() -> None:
    X = scaled(blobs([(0.0, 0.0), (5.0, 5.0)], 40, 0.5, seed=2))
    cand = fit_candidate(X, 2, n_init=2, random_state=0, weighting=True)
    again = fit_candidate(X, 2, n_init=1, random_state=0, weighting=False, init=cand)
    assert np.array_equal(again.weights, cand.weights)
    assert same_partition(again.labels, cand.labels)
    assert np.array_equal(cand.predict(X), cand.labels)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ([0, 0, 1, 1], [1, 1, 0, 0], True),
        ([0, 0, 1, 1], [0, 1, 1, 1], False),
        ([0, 1, 2], [5, 7, 9], True),
        ([0, 0, 0], [0, 0, 1], False),
    ],
)
def test_same_partition(a: list[int], b: list[int], same: bool) -> None:
    assert same_partition(np.array(a), np.array(b)) is same


# --------------------------------------------------------------------------- criteria rules
@pytest.mark.parametrize(
    ("values", "index"),
    [
        ([0.99, 0.97, 0.95, 0.71, 0.92, 0.6], 4),  # largest stable k, even after a dip
        ([0.99, 0.5, 0.4], 0),
        ([0.8, 0.85, 0.6], 1),  # none stable: the most stable
        ([STABLE, 0.2], 0),  # the threshold counts as stable
        ([float("nan"), 0.95, float("nan")], 1),  # not measured: not stable
    ],
)
def test_stability_choice(values: list[float], index: int) -> None:
    assert stability_choice(values) == index


@pytest.mark.parametrize(
    ("gap", "se", "gap_1", "index", "one"),
    [
        ([0.2, 0.5, 0.45], [0.01] * 3, 0.0, 1, False),  # rises to k=3 then falls
        ([0.5, 0.52, 0.53], [0.05] * 3, 0.0, 0, False),  # within one s.e.: the smallest k
        ([0.1, 0.2, 0.3], [0.01] * 3, 0.0, 2, False),  # never stops: the largest k
        ([0.1, 0.3, 0.2], [0.01] * 3, 0.2, 1, True),  # k=1 passes the rule too
    ],
)
def test_gap_rule(gap: list[float], se: list[float], gap_1: float, index: int, one: bool) -> None:
    assert gap_choice([2, 3, 4], Gap(gap, se, gap_1, 0.01)) == (index, one)


def test_choose_k_by_every_method_on_fixed_scores() -> None:
    ks = [2, 3, 4]
    scores = {
        "silhouette": [0.5, 0.6, 0.4],
        "calinski_harabasz": [300.0, 200.0, 250.0],
        "davies_bouldin": [0.9, 0.7, 0.8],
        "gap": [0.2, 0.5, 0.45],
        "gap_se": [0.01] * 3,
        "_gap_1": [0.0, 0.01],
        "bic": [10.0, 9.0, 8.0],
        "stability": [1.0, 0.95, 0.6],
        "segment_stability": [1.0, 0.9, 0.85],
        "null_silhouette": [0.3, 0.3, 0.3],
    }
    expected = {
        "silhouette": 1,
        "calinski_harabasz": 0,
        "davies_bouldin": 1,
        "gap": 1,
        "bic": 2,
        "stability": 1,
        # every k's segments are stable; separations 0.2, 0.3, 0.1: k=3 is the largest >= 70%
        "stable_separation": 1,
    }
    assert set(expected) == set(K_METHODS) == set(K_METHOD_NAMES)
    for method, index in expected.items():
        best, reason, _ = choose_k(ks, method, scores)
        assert best == index, method
        assert reason


def test_k_method_names_are_the_registry_and_validated() -> None:
    assert tuple(K_METHODS) == K_METHOD_NAMES
    with pytest.raises(ParameterError, match="k_method must be one of 'silhouette'"):
        SegmentOptions(k_method="elbow").validate()


# --------------------------------------------------------------------------- stability, null
def test_bootstrap_stability_high_for_real_segments_low_for_noise() -> None:
    refit = refit_in_space(4, 0)
    X = scaled(blobs([(0.0, 0.0), (6.0, 0.0), (0.0, 6.0)], 50, 0.5, seed=4))
    assert bootstrap_stability(X, 3, refit, resamples=6, seed=0) == pytest.approx(1.0)
    noise = np.random.default_rng(5).uniform(size=(150, 2))
    assert bootstrap_stability(noise, 7, refit, resamples=6, seed=0) < STABLE
    assert np.isnan(bootstrap_stability(X, 3, refit, resamples=1, seed=0))


def test_gaussian_reference_keeps_mean_and_covariance() -> None:
    X = np.random.default_rng(6).normal(size=(4000, 3)) @ np.array(
        [[2.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.5, 0.3]]
    ) + np.array([1.0, -2.0, 5.0])
    R = gaussian_reference(X, np.random.default_rng(0))
    assert R.shape == X.shape
    assert np.allclose(R.mean(axis=0), X.mean(axis=0), atol=0.1)
    assert np.allclose(np.cov(R, rowvar=False), np.cov(X, rowvar=False), atol=0.15)


def test_null_silhouette_matches_one_cloud_and_not_real_segments() -> None:
    refit = refit_in_space(3, 0)
    cloud = np.random.default_rng(7).normal(size=(600, 3)) * np.array([3.0, 1.0, 0.5])
    labels = refit(cloud, 2, 0).labels
    own = silhouettes(cloud, [labels])[0]
    assert abs(own - null_silhouette(cloud, 2, refit, seed=1)) < 0.03
    X = blobs([(0.0, 0.0), (6.0, 6.0)], 100, 0.7, seed=8)
    own = silhouettes(X, [refit(X, 2, 0).labels])[0]
    assert own - null_silhouette(X, 2, refit, seed=1) > 0.2


# --------------------------------------------------------------------------- verdict
@pytest.mark.parametrize(
    ("sil", "null", "stab", "label", "words"),
    [
        (0.45, 0.25, 0.99, "clear", "better separated than customers without segments"),
        (0.21, 0.20, 0.95, "weak", "no better separated than in customers without segments"),
        (0.45, 0.25, 0.60, "weak", "change between resamples (stability 0.60"),
        (0.5, 0.5 - MIN_EXCESS - 1e-12, MIN_STABILITY, "clear", "stable"),  # at the thresholds
        (float("nan"), 0.2, 0.9, "weak", "no better separated"),
        (0.5, 0.2, float("nan"), "weak", "change between resamples"),
    ],
)
def test_verdict_rule(sil: float, null: float, stab: float, label: str, words: str) -> None:
    judged = verdict(silhouette=sil, null_silhouette=null, stability=stab)
    assert judged.label == label
    assert words in judged.reason


# --------------------------------------------------------------------------- select_k
def test_select_k_scores_every_criterion_on_the_same_candidates() -> None:
    X = scaled(blobs([(0.0, 0.0), (5.0, 0.0), (0.0, 5.0)], 40, 0.4, seed=9))
    sel = select_k(
        X,
        ks=[2, 3, 4, 5],
        method="gap",
        n_init=3,
        random_state=0,
        sample_size=1000,
        weighting=True,
        resamples=4,
        score=ALL_SCORED,
    )
    assert sel.k == 3
    table = sel.table
    for column in ("silhouette", "null_silhouette", "calinski_harabasz", "davies_bouldin",
                   "gap", "gap_se", "bic", "stability"):  # fmt: skip
        assert table[column].is_not_nan().all(), column
    assert table.filter("chosen")["reason"][0].startswith("gap statistic rule")
    assert sel.stability == pytest.approx(1.0)
    assert sel.silhouette - sel.null_silhouette > MIN_EXCESS


def test_stability_search_stops_at_the_largest_stable_k() -> None:
    X = scaled(blobs([(0.0, 0.0), (6.0, 0.0), (0.0, 6.0)], 40, 0.4, seed=10))
    sel = select_k(X, ks=[2, 3, 4, 5, 6], method="stability", n_init=3, random_state=0,
                   sample_size=1000, weighting=False, resamples=5)  # fmt: skip
    stab = sel.table["stability"].to_list()
    assert sel.k == 3
    assert stab[1] >= STABLE and all(v < STABLE for v in stab[2:])
    assert np.isnan(stab[0])  # below the chosen k: not needed, not measured
    reasons = sel.table["reason"].to_list()
    assert reasons[0] == "stability not measured: a larger k is stable"
    assert reasons[1].startswith("largest k with stability >= 0.9")


@pytest.mark.parametrize(("seed", "k"), [(0, 2), (2, 2), (3, 3), (4, 3), (6, 4), (8, 4)])
def test_well_separated_groups_get_their_k_and_a_clear_verdict(seed: int, k: int) -> None:
    """Groups of 80 customers, centres at least 8 apart, spread 0.8 (not every such draw:
    2 of 34 get one group cut in two, see docs/segmentation.md)."""
    rng = np.random.default_rng(seed)
    centres = [tuple(rng.uniform(-20, 20, 3)) for _ in range(k)]
    gaps = [
        np.linalg.norm(np.subtract(a, b)) for i, a in enumerate(centres) for b in centres[i + 1 :]
    ]
    assert min(gaps) >= 8  # the draw is a clearly separated one
    X = blobs(centres, 80, 0.8, seed=seed)
    table = pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(len(X))],
            "total_net_sales": X[:, 0] + 100,
            "a": X[:, 1],
            "b": X[:, 2],
        }
    )
    seg = CustomerSegmenter(features=["total_net_sales", "a", "b"], k_max=6, n_init=3,
                            transform="none", cap_quantile=None).fit(table)  # fmt: skip
    assert seg.k_ == k
    assert seg.verdict_ == "clear"
    assert adjusted_rand_score(np.repeat(np.arange(k), 80), seg.labels_) == 1.0


# --------------------------------------------------------------------------- estimator record
def test_summary_is_the_json_run_record() -> None:
    X = blobs([(0.0, 0.0), (5.0, 5.0)], 30, 0.5, seed=11)
    table = pl.DataFrame({"customer_id": [str(i) for i in range(60)],
                          "total_net_sales": X[:, 0] + 10, "x": X[:, 1]})  # fmt: skip
    seg = CustomerSegmenter(features=["total_net_sales", "x"], k_max=4, n_init=2).fit(table)
    record = json.loads(json.dumps(seg.summary(), allow_nan=False))
    assert record["k"] == 2 and record["k_method"] == "stable_separation"
    assert record["verdict"] == "clear" and "stable" in record["verdict_reason"]
    assert record["stability"] == pytest.approx(seg.stability_)
    assert [t["feature"] for t in record["transforms"]] == ["total_net_sales", "x"]
    assert {t["transform"] for t in record["transforms"]} <= {"none", "log(x)"} | {
        t["transform"] for t in record["transforms"] if t["transform"].startswith("log(x + ")
    }
    assert set(record["feature_weights"]) == {"total_net_sales", "x"}
    assert len(record["k_selection"]) == 3
    given = CustomerSegmenter(features=["total_net_sales", "x"], k=2, n_init=2).fit(table)
    assert given.summary()["k_method"] == "given"
    assert given.k_selection_["stability"][0] == pytest.approx(given.stability_)
    assert given.k_selection_["null_silhouette"][0] == pytest.approx(given.null_silhouette_)


def test_transform_auto_logs_skewed_keeps_symmetric_and_zero_inflated() -> None:
    rng = np.random.default_rng(12)
    n = 400
    zero_inflated = np.where(rng.random(n) < 0.7, 0.0, rng.exponential(5, n))
    table = pl.DataFrame(
        {
            "customer_id": [str(i) for i in range(n)],
            "total_net_sales": rng.lognormal(5, 1.2, n),
            "symmetric": rng.normal(50, 5, n),
            "mostly_zero": zero_inflated,
            "negative": rng.normal(0, 1, n),
        }
    )
    feats = ["total_net_sales", "symmetric", "mostly_zero", "negative"]
    seg = CustomerSegmenter(features=feats, k=2, n_init=1).fit(table)
    chosen = {t["feature"]: t["transform"] for t in seg.transforms_}
    assert chosen == {
        "total_net_sales": "log(x)",
        "symmetric": "none",
        "mostly_zero": "none",
        "negative": "none",
    }
    logged = next(t for t in seg.transforms_ if t["feature"] == "total_net_sales")
    assert abs(logged["skew_after"]) < abs(logged["skew_before"])
    none = CustomerSegmenter(features=feats, k=2, n_init=1, transform="none").fit(table)
    assert {t["transform"] for t in none.transforms_} == {"none"}


def test_bootstrap_refits_in_two_calls_are_those_of_one() -> None:
    from basketlens.segment.criteria import bootstrap_refits
    from basketlens.segment.k_selection import refit_in_space

    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(c, 0.8, size=(60, 2)) for c in (-2.0, 0.0, 2.0)])
    refit = refit_in_space(2, 0)
    whole = bootstrap_refits(X, 3, refit, resamples=6, seed=3)
    parts = bootstrap_refits(X, 3, refit, resamples=2, seed=3)
    parts += bootstrap_refits(X, 3, refit, resamples=6, seed=3, start=2)
    assert len(parts) == 6
    for a, b in zip(whole, parts, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "weakest, refits",
    [(0.45, 5), (0.69, 5), (0.71, 10), (0.75, 10), (0.89, 10), (0.91, 5), (1.0, 5)],
)
def test_refits_are_doubled_only_near_the_stability_threshold(
    monkeypatch: pytest.MonkeyPatch, weakest: float, refits: int
) -> None:
    """Half the resamples first; the other half only when the weakest segment's stability
    is within 0.1 of the 0.8 it is compared with."""
    from basketlens.segment import k_selection

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.5, size=(40, 2)) for c in (-3.0, 3.0)])
    candidate = k_selection.refit_in_space(2, 0)(X, 2, 0)
    monkeypatch.setattr(
        k_selection, "segment_jaccards", lambda labels, refits: np.array([1.0, weakest])
    )
    got = k_selection._refits(candidate, X, k_selection.refit_in_space(2, 0), 10, 0, None)
    assert len(got) == refits


def test_single_threaded_blas_limits_every_blas_and_restores() -> None:
    from threadpoolctl import threadpool_info

    from basketlens.segment.clustering import single_threaded_blas

    def blas_threads() -> list[int]:
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    before = blas_threads()
    with single_threaded_blas():
        inside = blas_threads()
    assert inside and set(inside) == {1}
    assert blas_threads() == before
