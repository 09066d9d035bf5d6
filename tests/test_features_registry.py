"""The feature registry drives the table, the definitions and the docs from one entry."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from basketlens.features import CORE_FEATURES, FeatureOptions, build_customer_features
from basketlens.features import stage as feature_stage
from basketlens.features.definitions import (
    FEATURES,
    NON_FINITE_RULE,
    Feature,
    PerUnit,
    per_unit,
)
from basketlens.schema import CLEAN_SCHEMA


def lines() -> pl.DataFrame:
    """Two customers: A with two baskets on two days, B with one line of quantity 0."""
    rows = [
        ("A", "a1", datetime(2024, 1, 1), "x", 2.0, 10.0),
        ("A", "a2", datetime(2024, 1, 5), "y", 1.0, 6.0),
        ("B", "b1", datetime(2024, 1, 5), "x", 0.0, 4.0),
    ]
    frame = pl.DataFrame(
        rows, schema=["unit", "basket", "date", "item", "quantity", "net_sales"], orient="row"
    )
    return (
        frame.with_columns(
            pl.lit(None, dtype).alias(name)
            for name, dtype in CLEAN_SCHEMA.items()
            if name not in frame.columns
        )
        .select(CLEAN_SCHEMA.names())
        .cast(dict(CLEAN_SCHEMA))
    )


def test_registry_order_is_the_public_order() -> None:
    assert tuple(FEATURES) == CORE_FEATURES
    assert all(name == feature.name for name, feature in FEATURES.items())
    assert FEATURES["tenure_days"].description == (
        "days between the first and the last order day; 0 for single-day customers"
    )
    assert FEATURES["total_net_sales"].description == FEATURES["total_net_sales"].definition


def test_every_expression_reads_only_the_per_unit_aggregates() -> None:
    aggregates = per_unit(lines().lazy(), []).collect().sort("unit")
    u = PerUnit(as_of=datetime(2024, 1, 5), window_days=4)
    got = aggregates.select(f.expr(u).cast(pl.Float64).alias(n) for n, f in FEATURES.items())
    assert got.row(0, named=True) == {
        "total_quantity": 3.0,
        "total_net_sales": 16.0,
        "net_sales_per_unit": 16 / 3,
        "invoice_count": 2.0,
        "avg_days_between_orders": 4.0,
        "avg_monthly_orders": 2.0,
        "recency_days": 0.0,
        "tenure_days": 4.0,
        "avg_basket_size": 1.0,
        "avg_basket_value": 8.0,
        "distinct_items": 2.0,
        "avg_line_value": 8.0,
    }
    b = got.row(1, named=True)
    assert b["net_sales_per_unit"] == 0.0  # degenerate: quantity 0
    assert b["avg_days_between_orders"] == 4.0  # degenerate: one day -> the window


def test_a_new_entry_is_computed_defined_and_ordered(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = Feature("half_sales", "total_net_sales / 2", "none", lambda u: u.net_sales / 2)
    monkeypatch.setattr(feature_stage, "FEATURES", {**FEATURES, extra.name: extra})
    feats = build_customer_features(lines(), FeatureOptions(mix_factors=0))
    n = len(CORE_FEATURES)
    assert feats.table.columns[2 : n + 3] == [*CORE_FEATURES, "half_sales"]
    assert feats.table["half_sales"].to_list() == [8.0, 2.0]
    assert feats.definitions["half_sales"] == f"total_net_sales / 2; none; {NON_FINITE_RULE}"
