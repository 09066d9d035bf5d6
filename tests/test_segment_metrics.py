"""The exact, cheap measurements of basketlens.segment.metrics and clustering.segment_sums
against the references they replace (scikit-learn's adjusted Rand index and silhouette,
np.add.at), and trusted_inputs (scikit-learn's checks skipped, results the same)."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import adjusted_rand_score, silhouette_score

from basketlens.segment import metrics
from basketlens.segment.metrics import (
    adjusted_rand,
    mean_pairwise_ari,
    segment_jaccards,
    silhouettes,
)

HAND_MADE = [
    ([0, 0, 1, 1], [0, 0, 1, 1]),  # identical
    ([0, 0, 1, 1], [1, 1, 0, 0]),  # relabelled
    ([0, 0, 1, 1], [0, 1, 0, 1]),  # discordant: -0.5
    ([0, 0, 0, 0], [0, 0, 0, 0]),  # one cluster each
    ([0, 0, 0, 0], [0, 1, 2, 3]),  # one cluster against singletons
    ([0, 1, 2, 3], [3, 2, 1, 0]),  # singletons both
    ([0, 0, 1, 1, 2], [1, 1, 0, 0, 0]),
    ([7, 7, -1, -1, 3, 3], [0, 0, 0, 1, 1, 1]),  # negative and sparse ids
    ([5], [9]),  # one row
    ([], []),  # no rows
]


@pytest.mark.parametrize(("a", "b"), HAND_MADE)
def test_adjusted_rand_is_sklearns_hand_made(a: list[int], b: list[int]) -> None:
    ours = adjusted_rand(np.array(a, dtype=np.int64), np.array(b, dtype=np.int64))
    assert ours == adjusted_rand_score(a, b)  # the same float, not just close


def test_adjusted_rand_values_and_length_check() -> None:
    assert adjusted_rand(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])) == -0.5
    assert adjusted_rand(np.array(["x", "x", "y"]), np.array([2, 2, 1])) == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        adjusted_rand(np.array([0, 1, 1]), np.array([0, 1]))


@settings(max_examples=150, deadline=None)
@given(
    data=st.integers(1, 80).flatmap(
        lambda n: st.tuples(
            arrays(np.int64, n, elements=st.integers(0, 5)),
            arrays(np.int64, n, elements=st.integers(-2, 9)),
        )
    )
)
def test_adjusted_rand_is_sklearns_property(data: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = data
    assert adjusted_rand(a, b) == adjusted_rand_score(a, b)
    assert adjusted_rand(b, a) == adjusted_rand_score(b, a)


def test_adjusted_rand_on_large_label_vectors() -> None:
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 8, 5_000)
    noisy = np.where(rng.random(5_000) < 0.2, rng.integers(0, 9, 5_000), truth)
    assert adjusted_rand(truth, noisy) == adjusted_rand_score(truth, noisy)


def test_mean_pairwise_ari_is_the_mean_of_sklearns() -> None:
    rng = np.random.default_rng(1)
    base = rng.integers(0, 4, 300)
    labelings = [
        np.where(rng.random(300) < p, rng.integers(0, 5, 300), base) for p in (0, 0.1, 0.3, 0.6)
    ]
    expected = float(np.mean([adjusted_rand_score(a, b) for a, b in combinations(labelings, 2)]))
    assert mean_pairwise_ari(labelings) == expected
    assert np.isnan(mean_pairwise_ari(labelings[:1]))


def _jaccards_reference(labels: np.ndarray, refits: list[np.ndarray]) -> np.ndarray:
    """The np.add.at version that segment_jaccards replaced."""
    k = int(labels.max()) + 1
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    out = np.zeros(k)
    for other in refits:
        m = int(other.max()) + 1
        joint = np.zeros((k, m))
        np.add.at(joint, (labels, other), 1.0)
        union = sizes[:, None] + np.bincount(other, minlength=m)[None, :] - joint
        out += np.divide(joint, union, out=np.zeros_like(joint), where=union > 0).max(axis=1)
    return out / max(len(refits), 1)


@settings(max_examples=80, deadline=None)
@given(
    data=st.integers(1, 60).flatmap(
        lambda n: st.tuples(
            arrays(np.int64, n, elements=st.integers(0, 4)),
            st.lists(arrays(np.int64, n, elements=st.integers(0, 6)), min_size=1, max_size=4),
        )
    )
)
def test_segment_jaccards_match_the_reference(data: tuple[np.ndarray, list[np.ndarray]]) -> None:
    labels, refits = data
    ours = segment_jaccards(labels, refits)
    assert np.array_equal(ours, _jaccards_reference(labels, refits))


def test_segment_jaccards_hand_computed() -> None:
    labels = np.array([0, 0, 1, 1])
    got = segment_jaccards(labels, [np.array([1, 1, 0, 0]), np.array([0, 0, 0, 1])])
    assert got.tolist() == [(1.0 + 2 / 3) / 2, (1.0 + 1 / 2) / 2]
    assert segment_jaccards(labels, []).tolist() == [0.0, 0.0]


def test_silhouettes_condensed_and_chunked_distances_agree_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    labelings = [rng.integers(0, k, 400) for k in (2, 5, 9)]
    labelings.append(np.r_[np.zeros(399, dtype=int), 1])  # a singleton cluster
    for chunk in (metrics._CHUNK_ENTRIES, 400 * 37):  # one chunk of rows, then 11
        monkeypatch.setattr(metrics, "_CHUNK_ENTRIES", chunk)
        monkeypatch.setattr(metrics, "_FULL_ENTRIES", 400 * 400)
        condensed = silhouettes(X, labelings)
        monkeypatch.setattr(metrics, "_FULL_ENTRIES", 0)
        assert silhouettes(X, labelings) == condensed  # the same floats from cdist
    expected = [silhouette_score(X, lab) for lab in labelings]
    assert condensed == pytest.approx(expected, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    X=arrays(np.float64, (15, 3), elements=st.floats(-20, 20, allow_subnormal=False)),
    labels=arrays(np.int64, 15, elements=st.integers(0, 3)),
)
def test_silhouettes_with_ties_match_sklearn(X: np.ndarray, labels: np.ndarray) -> None:
    X[5:8] = X[0]  # duplicated rows: zero distances and tied nearest clusters
    ours = silhouettes(X, [labels])[0]
    if np.unique(labels).size < 2:
        assert np.isnan(ours)
    else:
        assert ours == pytest.approx(silhouette_score(X, labels), abs=1e-7)


@pytest.mark.parametrize("full_entries", [metrics._FULL_ENTRIES, 0])  # pdist, then cdist
def test_silhouettes_each_is_one_call_per_labeling(
    monkeypatch: pytest.MonkeyPatch, full_entries: int
) -> None:
    monkeypatch.setattr(metrics, "_FULL_ENTRIES", full_entries)
    monkeypatch.setattr(metrics, "_CHUNK_ENTRIES", 300 * 120)  # three row chunks
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 4))
    labelings = [rng.integers(0, k, 300) for k in (2, 3, 8)]
    labelings += [np.zeros(300, dtype=int), np.arange(300)]  # one cluster; all singletons
    each = metrics.silhouettes_each(X, labelings)
    alone = [silhouettes(X, [labels])[0] for labels in labelings]
    assert each[:3] == alone[:3]  # the same floats
    assert np.isnan(each[3:]).all() and np.isnan(alone[3:]).all()


def test_null_silhouettes_of_several_k_are_those_of_one_k_at_a_time() -> None:
    from basketlens.segment.criteria import gaussian_reference, null_silhouettes
    from basketlens.segment.k_selection import refit_in_space

    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(c, 0.7, size=(80, 3)) for c in (-2.0, 0.0, 2.0)])
    weight = rng.uniform(0.5, 1.5, X.shape[0])
    refit = refit_in_space(3, 0)

    def one_k(k: int) -> float:  # the per-k loop that null_silhouettes replaced
        draws = np.random.default_rng(7)
        values = []
        for b in range(2):
            ref = gaussian_reference(X, draws)
            values.append(silhouettes(ref, [refit(ref, k, b, weight).labels])[0])
        return float(np.nanmean(values))

    ks = [2, 3, 5]
    assert null_silhouettes(X, ks, refit, seed=7, sample_weight=weight) == [one_k(k) for k in ks]


@settings(max_examples=60, deadline=None)
@given(
    data=st.integers(0, 40).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, (n, 3), elements=st.floats(-1e6, 1e6, allow_subnormal=False)),
            arrays(np.int64, n, elements=st.integers(0, 4)),
        )
    )
)
def test_segment_sums_are_np_add_at(data: tuple[np.ndarray, np.ndarray]) -> None:
    from basketlens.segment.clustering import segment_sums

    values, labels = data
    expected = np.zeros((6, 3))
    np.add.at(expected, labels, values)
    assert np.array_equal(segment_sums(values, labels, 6), expected)


def test_trusted_inputs_skips_sklearns_checks_and_restores_them() -> None:
    import sklearn
    from sklearn.cluster import KMeans

    from basketlens.segment.clustering import trusted_inputs

    X = np.random.default_rng(0).normal(size=(200, 3))
    checked = KMeans(3, n_init=2, random_state=0).fit(X)
    with trusted_inputs():
        assert sklearn.get_config()["assume_finite"] is True
        assert sklearn.get_config()["skip_parameter_validation"] is True
        trusted = KMeans(3, n_init=2, random_state=0).fit(X)
    assert sklearn.get_config()["assume_finite"] is False
    np.testing.assert_array_equal(trusted.labels_, checked.labels_)
    assert trusted.inertia_ == checked.inertia_
