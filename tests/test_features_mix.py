"""Purchase-mix features (basketlens.features.mix): price tiers, tier shares, basket types —
hand-computed cases, degenerate cases and properties."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from basketlens.features import FeatureOptions, build_customer_features
from basketlens.features.mix import (
    PRICE_TIERS,
    basket_types,
    item_price_tiers,
    tier_shares,
    unit_item_spend,
)
from basketlens.schema import CLEAN_SCHEMA


def lines(rows: list[tuple[str, str, str | None, float, float]]) -> pl.DataFrame:
    """Cleaned lines from (unit, item, category, quantity, net_sales), one basket per line."""
    frame = pl.DataFrame(
        {
            "unit": [r[0] for r in rows],
            "item": [r[1] for r in rows],
            "category": [r[2] for r in rows],
            "quantity": [r[3] for r in rows],
            "net_sales": [r[4] for r in rows],
            "basket": [f"b{i}" for i in range(len(rows))],
            "date": [datetime(2024, 1, 1 + i % 28) for i in range(len(rows))],
        },
        schema_overrides={"category": pl.String},
    )
    return (
        frame.with_columns(
            pl.lit(None).cast(dtype).alias(name)
            for name, dtype in CLEAN_SCHEMA.items()
            if name not in frame.columns
        )
        .select(CLEAN_SCHEMA.names())
        .cast(dict(CLEAN_SCHEMA))
    )


def tiers_of(rows: list[tuple[str, str, str | None, float, float]]) -> dict[str, str]:
    return dict(item_price_tiers(lines(rows).lazy()).collect().iter_rows())


# --------------------------------------------------------------------------- price tiers
def test_tiers_cut_each_category_spend_in_thirds_by_unit_price() -> None:
    rows = [
        # cheese: unit prices 2, 4, 8 with equal spend -> low, mid, high
        ("u", "c1", "cheese", 5.0, 10.0),
        ("u", "c2", "cheese", 2.5, 10.0),
        ("u", "c3", "cheese", 1.25, 10.0),
        # drinks on their own scale: midpoints 2.5 / 25 = 0.1 (low) and 15 / 25 = 0.6 (mid)
        ("u", "d1", "drinks", 10.0, 5.0),
        ("u", "d2", "drinks", 10.0, 20.0),
    ]
    assert tiers_of(rows) == {"c1": "low", "c2": "mid", "c3": "high", "d1": "low", "d2": "mid"}


def test_tiers_weigh_by_spend_and_group_items_without_category() -> None:
    rows = [
        # one big cheap item holds 80% of the spend: its midpoint (0.4) is mid
        ("u", "a", None, 80.0, 80.0),
        ("u", "b", None, 5.0, 10.0),
        ("u", "c", None, 2.0, 10.0),
    ]
    assert tiers_of(rows) == {"a": "mid", "b": "high", "c": "high"}


def test_items_without_positive_quantity_or_sales_have_no_tier() -> None:
    rows = [
        ("u", "fee", "x", 0.0, 5.0),  # a fee: no unit price
        ("u", "ret", "x", -1.0, -4.0),  # only returned
        ("u", "ok", "x", 1.0, 3.0),
    ]
    assert tiers_of(rows) == {"ok": "mid"}


def test_tier_shares_hand_computed_and_degenerate() -> None:
    spend = pl.DataFrame(
        {
            "unit": ["a", "a", "a", "b", "c"],
            "item": ["x", "y", "z", "z", "fee"],
            "spend": [6.0, 3.0, 1.0, 2.0, 0.0],
        }
    )
    tiers = pl.DataFrame({"item": ["x", "y", "z"], "price_tier": ["low", "mid", "high"]})
    got = {r[0]: r[1:] for r in tier_shares(spend.lazy(), tiers.lazy()).collect().rows()}
    assert got == {"a": (0.6, 0.3, 0.1), "b": (0.0, 0.0, 1.0), "c": (0.0, 0.0, 0.0)}


# --------------------------------------------------------------------------- basket types
def two_kinds_of_customers(n: int = 12) -> pl.DataFrame:
    """Half the customers buy cheese items only, half drinks only (varying amounts)."""
    rows = []
    for i in range(n):
        items = ("brie", "comte", "feta") if i % 2 == 0 else ("cola", "water")
        for j, item in enumerate(items):
            rows.append((f"u{i:02d}", item, float(1 + (i + j) % 4)))
    return pl.DataFrame(rows, schema=["unit", "item", "spend"], orient="row")


def test_basket_types_find_the_two_kinds_and_are_deterministic() -> None:
    spend = two_kinds_of_customers()
    groups = {"brie": "Cheese", "comte": "Cheese", "feta": "Cheese", "cola": "Drinks",
              "water": "Drinks"}  # fmt: skip
    bt = basket_types(spend, 2, item_groups=groups, item_names={"brie": "Brie de Meaux"})
    assert sorted(bt.labels.values()) == ["Cheese", "Drinks"]
    table = bt.table.sort("unit")
    cheese = next(c for c, label in bt.labels.items() if label == "Cheese")
    expected = [1.0 if i % 2 == 0 else 0.0 for i in range(12)]
    assert table[cheese].to_list() == pytest.approx(expected, abs=1e-6)
    assert "'Brie de Meaux'" in bt.definitions[cheese]
    again = basket_types(spend, 2, item_groups=groups, item_names={})
    assert again.table.equals(bt.table)


@pytest.mark.parametrize(
    ("n_factors", "units", "columns"),
    [
        (0, 12, []),  # switched off
        (8, 12, ["mix__1", "mix__2", "mix__3", "mix__4", "mix__5"]),  # at most the 5 items
        (8, 1, []),  # a single customer cannot be factorised
    ],
)
def test_number_of_basket_types_is_bounded(n_factors: int, units: int, columns: list[str]) -> None:
    spend = two_kinds_of_customers().filter(pl.col("unit") < f"u{units:02d}")
    bt = basket_types(spend, n_factors, item_groups={}, item_names={})
    assert bt.table.columns == ["unit", *columns]
    assert list(bt.definitions) == columns == list(bt.labels)


def test_customer_without_positive_spend_gets_zero_types() -> None:
    spend = pl.concat(
        [
            two_kinds_of_customers(),
            pl.DataFrame({"unit": ["zz"], "item": ["brie"], "spend": [-3.0]}),
        ]
    )
    table = basket_types(spend, 2, item_groups={}, item_names={}).table
    assert table.filter(pl.col("unit") == "zz").row(0)[1:] == (0.0, 0.0)


# --------------------------------------------------------------------------- properties
row_strategy = st.tuples(
    st.sampled_from(["A", "B", "C", "D"]),
    st.sampled_from(["i1", "i2", "i3", "i4", "i5"]),
    st.sampled_from([None, "k1", "k2"]),
    st.sampled_from([-1.0, 0.0, 0.5, 1.0, 4.0]),
    st.sampled_from([-2.0, 0.0, 1.0, 2.5, 10.0]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row_strategy, min_size=1, max_size=25), st.integers(0, 4))
def test_mix_columns_are_finite_shares(rows: list[Any], n_factors: int) -> None:
    frame = lines(rows)
    feats = build_customer_features(frame, FeatureOptions(mix_factors=n_factors))
    table = feats.table
    tier_cols = [f"price_tier_share__{t}" for t in PRICE_TIERS]
    mix_cols = [c for c in table.columns if c.startswith("mix__")]
    assert len(mix_cols) <= n_factors
    values = table.select(*tier_cols, *mix_cols)
    assert values.select(pl.all().is_finite().all()).row(0) == (True,) * values.width
    spend = unit_item_spend(frame)
    positive = spend.filter(pl.col("spend") > 0)
    for row in table.iter_rows(named=True):
        mine = spend.filter(pl.col("unit") == row["customer_id"])
        tiers = [row[c] for c in tier_cols]
        if all(v >= 0 for v in mine["spend"]):
            assert all(0.0 <= v <= 1.0 + 1e-12 for v in tiers)
            assert sum(tiers) <= 1.0 + 1e-9
        if mix_cols:
            total = sum(row[c] for c in mix_cols)
            assert all(row[c] >= 0.0 for c in mix_cols)
            assert total == pytest.approx(1.0) or total == 0.0  # shares, or no weight at all
            if positive.filter(pl.col("unit") == row["customer_id"]).is_empty():
                assert total == 0.0
    assert set(feats.labels) >= set(tier_cols) | set(mix_cols)
    assert np.isfinite(table["avg_line_value"].to_numpy()).all()
