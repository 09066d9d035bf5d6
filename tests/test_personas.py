"""Persona naming rules on hand-made z-profiles (basketlens.segment.profiles)."""

from __future__ import annotations

import numpy as np
import pytest

from basketlens.segment.personas import describe_segment, describe_segments, number, persona_names

FOUR = ["total_quantity", "total_net_sales", "net_sales_per_unit", "invoice_count"]


@pytest.mark.parametrize(
    ("z", "name"),
    [
        (
            {"total_quantity": 1.8, "total_net_sales": 1.2, "net_sales_per_unit": -0.9,
             "invoice_count": 1.1},
            "Frequent high-volume buyers, low price per unit",
        ),
        (
            {"total_quantity": -0.7, "total_net_sales": -0.6, "net_sales_per_unit": 0.1,
             "invoice_count": -0.8},
            "Occasional small buyers",
        ),
        (
            {"total_quantity": -0.6, "total_net_sales": 0.2, "net_sales_per_unit": 2.0,
             "invoice_count": 0.0},
            "Premium low-volume buyers",
        ),
        ({"recency_days": 1.5, "total_quantity": -0.3}, "Lapsed customers"),
        (
            {"recency_days": 0.9, "total_quantity": -0.6, "total_net_sales": -0.6,
             "invoice_count": -0.9},
            "Lapsed occasional small buyers",
        ),
        ({"total_quantity": 0.1, "total_net_sales": -0.2, "recency_days": -0.4}, "Typical buyers"),
        ({"total_net_sales": 0.8, "total_quantity": 0.2}, "High-spend buyers"),
        ({"total_net_sales": -0.8, "total_quantity": 0.2}, "Low-spend buyers"),
        ({"tenure_days": -1.0, "total_quantity": -0.9}, "New low-volume buyers"),
        ({"tenure_days": 1.0, "recency_days": 1.0}, "Lapsed customers"),  # lapsed wins
        # frequency: mean of invoice_count, avg_monthly_orders and -avg_days_between_orders
        ({"avg_days_between_orders": -1.2, "avg_monthly_orders": 0.4}, "Frequent buyers"),
        ({"invoice_count": 0.6, "avg_days_between_orders": 0.9}, "Typical buyers"),
        # suffixes: at most two, strongest |z| first
        (
            {"avg_basket_value": 0.7, "distinct_items": -1.5, "net_sales_per_unit": -1.0,
             "total_quantity": 0.0},
            "Typical buyers, narrow range, low price per unit",
        ),
        ({"avg_basket_size": -0.9}, "Typical buyers, small baskets"),
        ({"avg_basket_value": 0.1, "avg_basket_size": 2.0}, "Typical buyers"),  # value wins
        ({"category_share__frozen_fish": 1.2}, "Typical buyers, favour frozen fish"),
        ({"brand_share__acme": -2.0}, "Typical buyers"),
    ],
)  # fmt: skip
def test_describe_segment(z: dict[str, float], name: str) -> None:
    assert describe_segment(z) == name


def test_thresholds_are_inclusive() -> None:
    assert describe_segment({"total_quantity": 0.5}) == "High-volume buyers"
    assert describe_segment({"total_quantity": 0.499}) == "Typical buyers"
    assert describe_segment({"total_quantity": -0.5}) == "Low-volume buyers"


def test_names_made_distinct_by_most_different_feature() -> None:
    z = np.array(
        [
            [1.0, 1.0, 0.0, 0.2],  # high-volume, fewer orders than the next
            [1.2, 0.9, 0.1, 0.45],  # high-volume too, more orders (still below 0.5)
            [-1.0, -1.0, 0.0, -1.0],
        ]
    )
    assert persona_names(z, FOUR) == [
        "High-volume buyers, lower order count",
        "High-volume buyers, higher order count",
        "Occasional small buyers",
    ]


def test_identical_profiles_get_numbered() -> None:
    z = np.zeros((3, 4))
    assert persona_names(z, FOUR) == ["Typical buyers", "Typical buyers (2)", "Typical buyers (3)"]


def test_three_way_tie_comparative_then_numbered() -> None:
    z = np.array([[0.0, 0.0, 0.0, 0.1], [0.0, 0.0, 0.0, 0.2], [0.0, 0.0, 0.0, 0.3]])
    assert persona_names(z, FOUR) == [
        "Typical buyers, lower order count",
        "Typical buyers, lower order count (2)",
        "Typical buyers, higher order count",
    ]


def test_names_are_deterministic_and_distinct_on_random_profiles() -> None:
    rng = np.random.default_rng(0)
    features = [*FOUR, "recency_days", "avg_basket_value"]
    for _ in range(50):
        z = rng.normal(size=(int(rng.integers(2, 11)), len(features)))
        names = persona_names(z, features)
        assert len(set(names)) == len(names)
        assert names == persona_names(z.copy(), features)
        assert all(n[0].isupper() for n in names)


# --------------------------------------------------------------------------- purchase mix
@pytest.mark.parametrize(
    ("z", "labels", "name"),
    [
        (
            {"category_share__fromages": 1.4, "mix__2": 0.9},
            {"category_share__fromages": "Fromages", "mix__2": "Charcuterie & Fromages"},
            "Typical buyers, favour Fromages, favour Charcuterie & Fromages",
        ),
        ({"mix__3": 1.0}, {}, "Typical buyers, favour basket type 3"),
        ({"price_tier_share__high": 0.8, "total_net_sales": 0.9}, {}, "Premium high-spend buyers"),
        ({"price_tier_share__low": 0.8}, {}, "Typical buyers, value-priced items"),
        ({"category_share__other": 2.0}, {}, "Typical buyers"),  # "other" says nothing
        (
            {"avg_line_value": 1.1, "avg_monthly_orders": 0.9}, {},
            "Frequent buyers, large order lines",
        ),
    ],
)  # fmt: skip
def test_mix_words_use_the_feature_labels(
    z: dict[str, float], labels: dict[str, str], name: str
) -> None:
    assert describe_segment(z, labels) == name


def test_two_segments_told_apart_by_a_labelled_mix_feature() -> None:
    feats = ["total_quantity", "category_share__boissons"]
    z = np.array([[1.0, 0.2], [1.0, -0.4]])
    names = persona_names(z, feats, {"category_share__boissons": "Boissons"})
    assert names == [
        "High-volume buyers, higher share of Boissons",
        "High-volume buyers, lower share of Boissons",
    ]


def test_descriptions_read_volume_then_mix_against_all_customers() -> None:
    feats = ["avg_monthly_orders", "avg_line_value", "category_share__fromages", "mix__1"]
    raw = np.array(
        [
            [1.0, 20.0, 0.1, 0.2],
            [1.2, 25.0, 0.2, 0.1],
            [8.0, 300.0, 0.7, 0.0],
            [9.0, 320.0, 0.8, 0.1],
        ]
    )
    labels = np.array([0, 0, 1, 1])
    z = np.array([[-1.0, -1.0, -1.0, 0.8], [1.0, 1.0, 1.0, -0.8]])
    words = {"category_share__fromages": "Fromages", "mix__1": "Épicerie & Huiles"}
    low, high = describe_segments(raw, z, labels, feats, words)
    assert high == (
        "8.5 orders a month (all customers: 4.6), 310 per order line (all customers: 162).\n"
        "Buys more Fromages: 75% of spend (all customers: 45%)."
    )
    assert low.splitlines()[1] == "Buys more Épicerie & Huiles: 15% of spend (all customers: 10%)."
    flat = describe_segments(raw, np.zeros((1, 4)), np.zeros(4, dtype=int), feats, words)[0]
    assert flat == (
        "Volume and frequency close to the typical customer.\n"
        "Buys the usual mix, close to the typical customer."
    )
    # nothing above the others but something below: the description says what they buy less
    z_less = np.array([[-1.0, -1.0, -1.0, 0.2], [1.0, 1.0, 1.0, -0.2]])
    less = describe_segments(raw, z_less, labels, feats, words)[0]
    assert less.splitlines()[1] == "Buys less Fromages: 15% of spend (all customers: 45%)."
    volume_only = describe_segments(raw[:, :2], z[:, :2], labels, feats[:2])[0]
    assert "\n" not in volume_only  # no mix features: one line


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.5512, "0.55"), (6.14, "6.1"), (12.0, "12"), (950.4, "950"), (12_345.0, "12.3k"),
     (-4_100_000.0, "-4.1M"), (float("nan"), "n/a")],
)  # fmt: skip
def test_number_words(value: float, text: str) -> None:
    assert number(value) == text
