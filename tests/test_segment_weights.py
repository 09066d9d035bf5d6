"""Customer weights (reliability of a customer's averages) and rank-based feature weights
(basketlens.segment.clustering), and a generated ledger whose k they decide."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import adjusted_rand_score

from basketlens.clean import clean_ledger
from basketlens.config import RunConfig
from basketlens.features import build_customer_features
from basketlens.ingest import load_ledger
from basketlens.segment import CustomerSegmenter
from basketlens.segment.clustering import (
    fit_candidates,
    reliability_weights,
    separation_weights,
)
from basketlens.synth import generate_ledger


def scaled(X: np.ndarray) -> np.ndarray:
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


# --------------------------------------------------------------------------- customer weights
@pytest.mark.parametrize(
    ("orders", "n0", "expected"),
    [
        # n / (n + 5) = 1/6, 1/2, 9/10; mean 0.5222 -> rescaled to mean 1
        ([1.0, 5.0, 45.0], 5.0, [0.3191, 0.9574, 1.7234]),
        ([0.0, 1.0], 1.0, [0.0, 2.0]),  # no orders: no weight
        ([2.0, 6.0], 2.0, [0.8, 1.2]),  # 1/2 and 3/4, mean 5/8
        ([-3.0, 1.0], 1.0, [0.0, 2.0]),  # negative counts are clipped to 0
    ],
)
def test_reliability_weights_hand_computed(
    orders: list[float], n0: float, expected: list[float]
) -> None:
    got = reliability_weights(np.array(orders), n0)
    assert got is not None
    assert got.tolist() == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("orders", "n0"),
    [
        ([1.0, 5.0], None),  # switched off
        ([4.0, 4.0, 4.0], 5.0),  # everyone alike: equal weights are no weights
        ([0.0, 0.0], 5.0),  # nobody ordered: nothing to weigh by
        ([], 5.0),  # no customers
    ],
)
def test_reliability_weights_none_when_they_change_nothing(
    orders: list[float], n0: float | None
) -> None:
    assert reliability_weights(np.array(orders), n0) is None


@settings(max_examples=60, deadline=None)
@given(
    orders=arrays(np.float64, st.integers(2, 40), elements=st.integers(0, 500).map(float)),
    n0=st.floats(0.1, 50.0),
)
def test_reliability_weights_mean_one_and_monotone_in_orders(orders: np.ndarray, n0: float) -> None:
    w = reliability_weights(orders, n0)
    if w is None:
        assert np.ptp(orders) == 0
        return
    assert w.mean() == pytest.approx(1.0)
    assert np.all(w >= 0)
    order = np.argsort(orders, kind="stable")
    assert np.all(np.diff(w[order]) >= -1e-12)  # more orders never weigh less
    assert np.all(w[orders == 0] == 0)


def test_wide_group_of_one_order_customers_is_not_cut_in_two() -> None:
    """Two tight groups of regular customers (40 orders) beside a wide group of one-order
    customers: equal weights cut the wide group in halves and merge the tight ones; the
    reliability weights find the three groups."""
    rng = np.random.default_rng(0)
    X = scaled(
        np.vstack(
            [
                rng.normal((0, 0), 0.3, (100, 2)),
                rng.normal((1.6, 0), 0.3, (100, 2)),
                rng.normal((0.8, 6), (2.5, 0.6), (100, 2)),
            ]
        )
    )
    truth = np.repeat([0, 1, 2], 100)
    w = reliability_weights(np.r_[np.full(200, 40.0), np.full(100, 1.0)], 5.0)
    equal = fit_candidates(X, [3], n_init=4, random_state=0, weighting=False)[0]
    weighted = fit_candidates(X, [3], n_init=4, random_state=0, weighting=False, sample_weight=w)
    assert adjusted_rand_score(truth, equal.labels) < 0.5
    assert adjusted_rand_score(truth, weighted[0].labels) > 0.9


# --------------------------------------------------------------------------- feature weights
def test_separation_weights_with_row_weights_hand_computed() -> None:
    X = np.array([[0.0, 0.0], [0.0, 4.0], [2.0, 0.0], [10.0, 4.0]])
    labels = np.array([0, 0, 1, 1])
    # a zero weight drops the row: column 0 is then [0, 0, 2] on [0, 0, 1] -> R² 1;
    # column 1 is [0, 4, 0] -> segment means 2 and 0, mean 4/3: between 2*(2/3)² + (4/3)²
    # = 8/3 over total 32/3 -> R² 1/4; normalised to mean 1: 1.6 and 0.4
    got = separation_weights(X, labels, np.array([1.0, 1.0, 1.0, 0.0]))
    assert got.tolist() == pytest.approx([1.6, 0.4])


@settings(max_examples=40, deadline=None)
@given(
    X=arrays(np.float64, (12, 3), elements=st.floats(-100, 100, allow_subnormal=False)),
    labels=arrays(np.int64, 12, elements=st.integers(0, 2)),
    counts=arrays(np.int64, 12, elements=st.integers(1, 3)),
)
def test_integer_row_weights_equal_repeated_rows(
    X: np.ndarray, labels: np.ndarray, counts: np.ndarray
) -> None:
    weighted = separation_weights(X, labels, counts.astype(np.float64))
    repeated = separation_weights(np.repeat(X, counts, axis=0), np.repeat(labels, counts))
    assert weighted == pytest.approx(repeated, abs=1e-6)
    assert np.all(np.isfinite(weighted))


@pytest.mark.parametrize("seed", range(3))
def test_a_tail_that_one_small_segment_isolates_fades(seed: int) -> None:
    """Three groups in two columns, and a skewed column whose far tail (4% of customers of
    every group) a small segment can isolate: on the values its R² rivals the real ones
    (weight about 1); on the ranks it fades."""
    rng = np.random.default_rng(seed)
    n = 600
    groups = np.repeat([0, 1, 2], n // 3)
    signal = np.column_stack([groups * 3.0, (groups == 1) * 3.0]) + rng.normal(0, 0.6, (n, 2))
    tail = np.where(rng.random(n) < 0.04, rng.exponential(1.0, n) + 4.0, rng.exponential(0.3, n))
    X = scaled(np.column_stack([signal, tail]))
    cands = fit_candidates(X, [2, 3, 4, 5, 6], n_init=3, random_state=0, weighting=True)
    w = cands[0].weights
    assert w[2] < 0.2 and w[:2].min() > 1.0
    assert adjusted_rand_score(groups, cands[1].labels) > 0.95


@pytest.mark.parametrize(
    ("X", "labels"),
    [
        (np.zeros((6, 3)), np.array([0, 0, 1, 1, 2, 2])),  # every feature constant
        (np.arange(12.0).reshape(4, 3), np.arange(4)),  # one customer per segment
        (np.arange(12.0).reshape(4, 3), np.zeros(4, dtype=np.int64)),  # one segment
    ],
)
def test_separation_weights_degenerate_inputs(X: np.ndarray, labels: np.ndarray) -> None:
    w = separation_weights(X, labels)
    assert np.all(np.isfinite(w)) and w.mean() == pytest.approx(1.0)
    if np.ptp(X, axis=0).max() == 0 or np.unique(labels).size == 1:
        assert w.tolist() == [1.0, 1.0, 1.0]  # nothing separates: equal weights
    else:
        assert w.tolist() == pytest.approx([1.0, 1.0, 1.0])  # every column fully separated


def test_all_noise_and_constant_columns_keep_finite_weights() -> None:
    rng = np.random.default_rng(5)
    X = scaled(np.column_stack([rng.normal(size=(200, 4)), np.zeros(200)]))
    w = reliability_weights(rng.integers(1, 30, 200).astype(np.float64), 5.0)
    cands = fit_candidates(X, [2, 3], n_init=2, random_state=0, weighting=True, sample_weight=w)
    weights = cands[0].weights
    assert np.all(np.isfinite(weights)) and weights.mean() == pytest.approx(1.0)
    assert weights[4] == 0.0  # a constant column separates nothing


# --------------------------------------------------------------------------- generated ledger
def test_six_volume_personas_with_a_heavy_tail_get_six_segments() -> None:
    """The family's "p6 volume o0 t0.05 s1" ledger (benchmarks/bench_segmentation.py): six
    personas that differ in volume only, 5% of customers heavy-tailed. Before the customer and
    rank weights the occasional shops (about 4 orders a year each) were cut in two by their
    noisy price per unit and two regular personas merged: k = 4, ARI 0.68 (oracle 0.75)."""
    led = generate_ledger(
        n_customers=1000, personas=6, differ="volume", overlap=0.0, tail=0.05, seed=1001
    )
    cfg = RunConfig()
    cleaned = clean_ledger(load_ledger(led.sales, items=led.items, customers=led.customers),
                           cfg.clean)  # fmt: skip
    table = build_customer_features(cleaned.lines, cfg.features, items=cleaned.items).table
    truth = table.select("customer_id").join(
        led.personas.rename({"SoldToCustomer_CD": "customer_id"}), on="customer_id", how="left"
    )["persona"]
    seg = CustomerSegmenter().fit(table)
    assert seg.k_ == 6
    assert seg.verdict_ == "clear"
    assert adjusted_rand_score(truth.to_numpy(), seg.labels_) >= 0.85
    assert pl.Series(seg.labels_).n_unique() == 6
