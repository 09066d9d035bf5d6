"""Tests of the customer features: hand-computed values, degenerate cases, properties, real data."""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from basketlens.clean import CleaningOptions, clean_ledger
from basketlens.errors import EmptyInputError, ParameterError, SchemaError
from basketlens.features import CORE_FEATURES, FeatureOptions, build_customer_features
from basketlens.schema import CLEAN_SCHEMA

AS_OF = datetime(2024, 2, 20, 18, 0)  # the last date in LINES


def cl(
    unit: str,
    basket: str,
    when: datetime,
    item: str,
    quantity: float,
    net_sales: float,
    brand: str | None = None,
    category: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """One cleaned line (CLEAN_SCHEMA) with the fields the features use."""
    return {
        "line_no": 0,
        "invoice": basket,
        "date": when,
        "customer": unit,
        "customer_name": name,
        "customer_group": None,
        "item": item,
        "item_name": None,
        "quantity": quantity,
        "unit_price": None,
        "net_sales": net_sales,
        "brand": brand,
        "category": category,
        "basket": basket,
        "unit": unit,
        "unit_name": name,
    }


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=CLEAN_SCHEMA, orient="row")


# Customer A: 3 baskets on 3 days (gaps 10, 36), 4 lines, 3 items.
# Customer B: one basket, the same item twice, name only on the second line.
# Customer C: zero quantity (fees), 2 baskets 10 days apart, no name at all.
LINES = frame(
    [
        cl("A", "a1", datetime(2024, 1, 1, 10), "x", 2, 10, "Acme", "C1", "Alice"),
        cl("A", "a1", datetime(2024, 1, 1, 10), "y", 1, 5, "Bolt-Co", "C1", "Alice"),
        cl("A", "a2", datetime(2024, 1, 11, 12), "x", 3, 15, "Acme", "C2", "Alice"),
        cl("A", "a3", datetime(2024, 2, 16, 9), "z", 4, 20, None, "C2", "Alice"),
        cl("B", "b1", datetime(2024, 1, 5, 8), "x", 1, 4, "Bolt-Co", None, None),
        cl("B", "b1", datetime(2024, 1, 5, 8), "x", 1, 4, "Bolt-Co", None, "Bob"),
        cl("C", "c1", datetime(2024, 2, 10), "w", 0, 6, "Acme", "Snacks & Co."),
        cl("C", "c2", AS_OF, "w", 0, 4, "Zed", "Snacks & Co."),
    ]
)

EXPECTED: dict[str, dict[str, Any]] = {
    "A": {
        "customer_name": "Alice",
        "total_quantity": 10.0,
        "total_net_sales": 50.0,
        "net_sales_per_unit": 5.0,
        "invoice_count": 3.0,
        "avg_days_between_orders": 23.0,  # (10 + 36) / 2
        "avg_monthly_orders": 3 * 30.4375 / 46,  # tenure 46 days = 1.511 months
        "recency_days": 4.375,  # 2024-02-16 09:00 -> 2024-02-20 18:00
        "tenure_days": 46.0,
        "avg_basket_size": 4 / 3,  # 2, 1, 1 distinct items
        "avg_basket_value": 50 / 3,
        "distinct_items": 3.0,
        "avg_line_value": 12.5,
        "brand_share__acme": 0.5,
        "brand_share__bolt_co": 0.1,
        "brand_share__other": 0.4,
        "category_share__c2": 0.7,
        "category_share__c1": 0.3,
        "category_share__snacks_co": 0.0,
        "category_share__other": 0.0,
        "price_tier_share__low": 0.0,
        "price_tier_share__mid": 0.9,
        "price_tier_share__high": 0.1,
    },
    "B": {
        "customer_name": "Bob",
        "total_quantity": 2.0,
        "total_net_sales": 8.0,
        "net_sales_per_unit": 4.0,
        "invoice_count": 1.0,
        "avg_days_between_orders": 50.0,  # window 2024-01-01 -> 2024-02-20
        "avg_monthly_orders": 1.0,  # months active floored at 1
        "recency_days": 46 + 10 / 24,  # 2024-01-05 08:00 -> 2024-02-20 18:00
        "tenure_days": 0.0,
        "avg_basket_size": 1.0,
        "avg_basket_value": 8.0,
        "distinct_items": 1.0,
        "avg_line_value": 4.0,
        "brand_share__acme": 0.0,
        "brand_share__bolt_co": 1.0,
        "brand_share__other": 0.0,
        "category_share__c2": 0.0,
        "category_share__c1": 0.0,
        "category_share__snacks_co": 0.0,
        "category_share__other": 1.0,
        "price_tier_share__low": 0.0,
        "price_tier_share__mid": 1.0,
        "price_tier_share__high": 0.0,
    },
    "C": {
        "customer_name": "C",
        "total_quantity": 0.0,
        "total_net_sales": 10.0,
        "net_sales_per_unit": 0.0,  # quantity 0
        "invoice_count": 2.0,
        "avg_days_between_orders": 10.0,
        "avg_monthly_orders": 2.0,
        "recency_days": 0.0,
        "tenure_days": 10.0,
        "avg_basket_size": 1.0,
        "avg_basket_value": 5.0,
        "distinct_items": 1.0,
        "avg_line_value": 5.0,
        "brand_share__acme": 0.6,
        "brand_share__bolt_co": 0.0,
        "brand_share__other": 0.4,
        "category_share__c2": 0.0,
        "category_share__c1": 0.0,
        "category_share__snacks_co": 1.0,
        "category_share__other": 0.0,
        "price_tier_share__low": 0.0,
        "price_tier_share__mid": 0.0,
        "price_tier_share__high": 0.0,
    },
}
OPTIONS = FeatureOptions(top_brands=2, top_categories=5, mix_factors=0)  # mix: test_features_mix


def test_hand_computed_values() -> None:
    feats = build_customer_features(LINES, options=OPTIONS)
    table = feats.table
    assert table["customer_id"].to_list() == ["A", "B", "C"]
    assert table.columns == ["customer_id", *EXPECTED["A"]]
    assert table.columns[2:14] == list(CORE_FEATURES)
    for row in table.iter_rows(named=True):
        expected = EXPECTED[row.pop("customer_id")]
        assert row.keys() == expected.keys()
        for name, value in expected.items():
            if isinstance(value, str):
                assert row[name] == value
            else:
                assert row[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name
    assert feats.as_of == AS_OF


def test_schema_and_definitions() -> None:
    feats = build_customer_features(LINES, options=OPTIONS)
    schema = feats.table.schema
    assert schema["customer_id"] == pl.String
    assert schema["customer_name"] == pl.String
    features = feats.table.columns[2:]
    assert all(schema[c] == pl.Float64 for c in features)
    assert list(feats.definitions) == features
    assert all(isinstance(d, str) and d for d in feats.definitions.values())
    assert "'Bolt-Co'" in feats.definitions["brand_share__bolt_co"]
    assert "observation window" in feats.definitions["avg_days_between_orders"]
    assert "outside the top 2" in feats.definitions["brand_share__other"]
    assert "outside the top 3" in feats.definitions["category_share__other"]


def test_lazy_input_gives_the_same_table() -> None:
    eager = build_customer_features(LINES, options=OPTIONS).table
    lazy = build_customer_features(LINES.lazy(), options=OPTIONS).table
    assert lazy.equals(eager)


def test_share_columns_skipped_when_absent_or_not_wanted() -> None:
    no_brand = LINES.with_columns(pl.lit(None, pl.String).alias("brand"))
    cols = build_customer_features(no_brand, options=OPTIONS).table.columns
    assert not any(c.startswith("brand_share__") for c in cols)
    assert "category_share__other" in cols
    cols = build_customer_features(LINES, options=FeatureOptions(top_brands=0)).table.columns
    assert not any(c.startswith("brand_share__") for c in cols)
    cols = build_customer_features(LINES, options=FeatureOptions(top_brands=1)).table.columns
    assert [c for c in cols if c.startswith("brand_")] == [
        "brand_share__acme",
        "brand_share__other",
    ]


def test_as_of_moves_recency_and_single_order_window() -> None:
    as_of = datetime(2024, 3, 1, 18, 0)
    table = build_customer_features(LINES, options=FeatureOptions(as_of=as_of)).table
    b = table.filter(pl.col("customer_id") == "B").row(0, named=True)
    assert b["recency_days"] == pytest.approx(56 + 10 / 24)
    assert b["avg_days_between_orders"] == 60.0
    # a plain date means the end of that day
    feats = build_customer_features(LINES, options=FeatureOptions(as_of=date(2024, 2, 20)))
    assert feats.as_of == datetime(2024, 2, 20, 23, 59, 59, 999999)


def test_degenerate_customer_zero_sales_and_single_day() -> None:
    when = datetime(2024, 5, 1)
    lines = frame([cl("Z", "z1", when, "x", 0, 0, "Acme"), cl("Z", "z2", when, "y", 0, 0, None)])
    row = build_customer_features(lines).table.row(0, named=True)
    assert row["net_sales_per_unit"] == 0.0
    assert row["avg_basket_value"] == 0.0
    assert row["brand_share__acme"] == row["brand_share__other"] == 0.0
    assert row["avg_days_between_orders"] == 1.0  # observation window floored at one day
    assert row["tenure_days"] == 0.0
    assert row["avg_monthly_orders"] == 2.0


def test_lines_without_unit_are_left_out_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    extra = frame([{**cl("A", "a9", datetime(2030, 1, 1), "q", 1, 99), "unit": None}])
    with caplog.at_level(logging.WARNING, logger="basketlens.features"):
        feats = build_customer_features(pl.concat([LINES, extra]), options=OPTIONS)
    assert "1 lines without a unit" in caplog.text
    assert feats.as_of == AS_OF
    assert feats.table["total_net_sales"].sum() == LINES["net_sales"].sum()


def test_errors() -> None:
    with pytest.raises(ParameterError, match="as_of must not be before the last date"):
        build_customer_features(LINES, options=FeatureOptions(as_of=datetime(2024, 2, 1)))
    with pytest.raises(ParameterError, match=r"top_brands must be in \[0, inf\); got -1"):
        build_customer_features(LINES, options=FeatureOptions(top_brands=-1))
    with pytest.raises(ParameterError, match="top_categories must be an int"):
        build_customer_features(LINES, options=FeatureOptions(top_categories=2.5))
    with pytest.raises(ParameterError, match="as_of must be a datetime or None; got '2024'"):
        build_customer_features(LINES, options=FeatureOptions(as_of="2024"))
    with pytest.raises(SchemaError, match="no column 'basket'"):
        build_customer_features(LINES.drop("basket"))
    with pytest.raises(SchemaError, match="column 'net_sales' must be Float64; got Int64"):
        build_customer_features(LINES.with_columns(pl.col("net_sales").cast(pl.Int64)))
    with pytest.raises(EmptyInputError, match="no line with a unit and a date"):
        build_customer_features(LINES.head(0))


# ---- properties -------------------------------------------------------------------------

DAYS = [datetime(2024, 1, d, h) for d in (1, 2, 15) for h in (0, 13)]
line_strategy = st.builds(
    cl,
    unit=st.sampled_from(["A", "B", "C"]),
    basket=st.sampled_from(["1", "2", "3", "4"]),
    when=st.sampled_from(DAYS),
    item=st.sampled_from(["x", "y", "z"]),
    quantity=st.sampled_from([-2.0, 0.0, 0.5, 1.0, 3.0]),
    net_sales=st.sampled_from([0.0, 1.0, 2.5, 10.0]),
    brand=st.sampled_from([None, "Acme", "Bolt", "Café"]),
    category=st.sampled_from([None, "k1", "k2"]),
)


def oracle(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """The core features computed line by line in plain Python, from the definitions."""
    as_of = max(r["date"] for r in rows)
    window = max(1, (as_of.date() - min(r["date"] for r in rows).date()).days)
    out = {}
    for unit in {r["unit"] for r in rows}:
        mine = [r for r in rows if r["unit"] == unit]
        qty = sum(r["quantity"] for r in mine)
        sales = sum(r["net_sales"] for r in mine)
        baskets: dict[str, set[str]] = {}
        for r in mine:
            baskets.setdefault(r["basket"], set()).add(r["item"])
        days = sorted({r["date"].date() for r in mine})
        gaps = [(b - a).days for a, b in itertools.pairwise(days)]
        tenure = (days[-1] - days[0]).days
        out[unit] = {
            "total_quantity": qty,
            "total_net_sales": sales,
            "net_sales_per_unit": sales / qty if qty else 0.0,
            "invoice_count": len(baskets),
            "avg_days_between_orders": sum(gaps) / len(gaps) if gaps else window,
            "avg_monthly_orders": len(baskets) / max(1.0, tenure / 30.4375),
            "recency_days": (as_of - max(r["date"] for r in mine)).total_seconds() / 86400,
            "tenure_days": tenure,
            "avg_basket_size": sum(len(v) for v in baskets.values()) / len(baskets),
            "avg_basket_value": sales / len(baskets),
            "distinct_items": len({r["item"] for r in mine}),
            "avg_line_value": sales / len(mine),
        }
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(line_strategy, min_size=1, max_size=20), top=st.integers(0, 3))
def test_features_are_finite_and_shares_sum_to_one(rows: list[dict[str, Any]], top: int) -> None:
    lines = frame(rows)
    table = build_customer_features(
        lines, options=FeatureOptions(top_brands=top, top_categories=top)
    ).table
    assert sorted(table["customer_id"]) == sorted(set(lines["unit"]))
    values = table.select(pl.exclude("customer_id", "customer_name"))
    assert all(dtype == pl.Float64 for dtype in values.dtypes)
    assert values.select(pl.all().is_finite().all()).row(0) == (True,) * values.width
    assert table["total_net_sales"].sum() == pytest.approx(lines["net_sales"].sum())
    expected = oracle(rows)
    for row in table.iter_rows(named=True):
        for name, value in expected[row["customer_id"]].items():
            assert row[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name
    for kind in ("brand", "category"):
        shares = [c for c in table.columns if c.startswith(f"{kind}_share__")]
        if not shares:
            continue
        sums = table.select(pl.sum_horizontal(shares)).to_series()
        for total, s in zip(table["total_net_sales"], sums, strict=True):
            assert s == pytest.approx(1.0 if total != 0 else 0.0)


# ---- real data: Online Retail ------------------------------------------------------------


@dataclass(frozen=True)
class FakeLedger:
    lines: pl.LazyFrame
    n_lines: int


def test_online_retail_features(shared_path) -> None:
    from basketlens.ingest import load_ledger

    ledger = load_ledger(shared_path("online_retail", "online_retail.parquet"))
    cleaned = clean_ledger(
        ledger, options=CleaningOptions(drop_duplicates=False, drop_service_items=False)
    ).lines
    feats = build_customer_features(cleaned)
    table = feats.table
    assert table.height == 4_338
    n_core = len(CORE_FEATURES)
    assert table.columns[2 : 2 + n_core] == list(CORE_FEATURES)  # no brand / category columns
    assert table.columns[2 + n_core :] == [
        "price_tier_share__low",
        "price_tier_share__mid",
        "price_tier_share__high",
        *(f"mix__{j}" for j in range(1, 9)),
    ]
    mix = table.select(pl.sum_horizontal(pl.col("^mix__.*$"))).to_series()
    assert ((mix - 1.0).abs() < 1e-9).mean() > 0.99  # nearly every customer's types sum to 1
    assert " & " in feats.labels["mix__1"] or feats.labels["mix__1"]  # named by its top items
    assert table["total_net_sales"].sum() == pytest.approx(cleaned["net_sales"].sum(), rel=1e-12)
    assert table["invoice_count"].sum() == 18_532
    assert feats.as_of == datetime(2011, 12, 9, 12, 50)
    assert table["recency_days"].min() == 0.0
    assert table["tenure_days"].max() <= 373.0
    values = table.select(CORE_FEATURES)
    assert values.select(pl.all().is_finite().all()).row(0) == (True,) * len(CORE_FEATURES)
    assert math.isclose(table["total_quantity"].sum(), cleaned["quantity"].sum())
