"""Tests of the demo ledger generator (basketlens.synth)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from basketlens.errors import ParameterError
from basketlens.synth import PERSONA_NAMES, SyntheticLedger, generate_ledger
from basketlens.synth.catalog import PRIVATE_LABEL, build_catalog
from basketlens.synth.personas import PERSONAS

SALES_SCHEMA = {
    "SalesDocumentNumber": pl.String,
    "Date_CD": pl.Int64,
    "SoldToCustomer_CD": pl.String,
    "Item_CD": pl.String,
    "SalesQuantity": pl.Float64,
    "NetSalesValue": pl.Float64,
}


@pytest.fixture(scope="module")
def demo() -> SyntheticLedger:
    return generate_ledger()


@pytest.fixture(scope="module")
def orders(demo: SyntheticLedger) -> pl.DataFrame:
    """Ordinary invoices of known customers: one row per document with its item list."""
    return (
        demo.sales.filter(
            pl.col("SalesQuantity") > 0,
            pl.col("SoldToCustomer_CD").is_not_null(),
            ~pl.col("SalesDocumentNumber").str.starts_with("C"),
        )
        .group_by("SalesDocumentNumber")
        .agg(pl.col("SoldToCustomer_CD").first(), items=pl.col("Item_CD").unique())
        .join(demo.personas, on="SoldToCustomer_CD")
    )


def test_same_seed_gives_identical_frames_and_other_seed_differs() -> None:
    a = generate_ledger(n_customers=80, months=3, seed=7)
    b = generate_ledger(n_customers=80, months=3, seed=7)
    c = generate_ledger(n_customers=80, months=3, seed=8)
    for name in ("sales", "items", "customers", "personas", "affinities"):
        assert getattr(a, name).equals(getattr(b, name)), name
    assert a.sales.write_csv() == b.sales.write_csv()
    assert a.dirt == b.dirt
    assert not a.sales.equals(c.sales)
    assert not a.personas.equals(c.personas)


def test_frames_have_the_erp_schemas(demo: SyntheticLedger) -> None:
    assert dict(demo.sales.schema) == SALES_SCHEMA
    assert dict(demo.items.schema) == dict.fromkeys(
        ["Item_CD", "Item_TX", "BrandL1_TX", "CategoryL1_TX"], pl.String
    )
    assert dict(demo.customers.schema) == dict.fromkeys(
        ["SoldToCustomer_CD", "Customer_TX", "ParentCustomer_CD"], pl.String
    )
    assert dict(demo.personas.schema) == {"SoldToCustomer_CD": pl.String, "persona": pl.String}
    assert dict(demo.affinities.schema) == {
        "persona": pl.String,
        "antecedent": pl.List(pl.String),
        "consequent": pl.String,
        "strength": pl.Float64,
    }


def test_default_demo_size_and_persona_counts(demo: SyntheticLedger) -> None:
    assert 60_000 <= demo.sales.height <= 120_000
    assert demo.customers.height == 600
    counts = dict(demo.personas.group_by("persona").len().iter_rows())
    assert counts == {p.name: round(600 * p.share) for p in PERSONAS}
    assert set(counts) == set(PERSONA_NAMES)


def test_catalogue_is_a_food_distribution_range() -> None:
    cat = build_catalog()
    items = cat.items
    assert 150 <= items.height <= 300
    assert items["Item_CD"].is_unique().all()
    assert items["Item_TX"].is_unique().all()
    assert set(items["CategoryL1_TX"]) >= {"Fromages", "Charcuterie", "Boulangerie", "Surgelés"}
    assert items["BrandL1_TX"].n_unique() >= 6
    per_cat = items.filter(pl.col("BrandL1_TX") == PRIVATE_LABEL)["CategoryL1_TX"].n_unique()
    assert per_cat == items["CategoryL1_TX"].n_unique()  # private label everywhere
    for product in ("Brie de Meaux", "Comté 18 mois", "Mozzarella", "Baguette tradition"):
        assert cat.find(product).size >= 2
    assert (cat.price_per_kg > 0).all()
    with pytest.raises(KeyError, match="Caviar"):
        cat.find("Caviar")


def test_ids_join_items_and_customers(demo: SyntheticLedger) -> None:
    sales = demo.sales
    assert sales.join(demo.items, on="Item_CD", how="anti").height == 0
    known = sales.filter(pl.col("SoldToCustomer_CD").is_not_null())
    assert known.join(demo.customers, on="SoldToCustomer_CD", how="anti").height == 0
    assert demo.customers["SoldToCustomer_CD"].is_unique().all()
    assert demo.personas["SoldToCustomer_CD"].equals(demo.customers["SoldToCustomer_CD"])
    # some customers share a parent chain; independents are their own parent
    parents = demo.customers.group_by("ParentCustomer_CD").len()
    assert parents.filter(pl.col("len") >= 2).height >= 10
    own = demo.customers.filter(pl.col("ParentCustomer_CD") == pl.col("SoldToCustomer_CD"))
    assert own.height == demo.customers.height - parents.filter(pl.col("len") >= 2)["len"].sum()


def test_documents_have_one_customer_and_one_date(demo: SyntheticLedger) -> None:
    per_doc = (
        demo.sales.filter(pl.col("SoldToCustomer_CD").is_not_null())
        .group_by("SalesDocumentNumber")
        .agg(pl.col("SoldToCustomer_CD").n_unique(), pl.col("Date_CD").n_unique())
    )
    assert per_doc["SoldToCustomer_CD"].max() == 1
    assert per_doc["Date_CD"].max() == 1


def test_planted_dirt_is_present_and_counted_exactly(demo: SyntheticLedger) -> None:
    sales, dirt = demo.sales, demo.dirt
    negative = sales.filter(pl.col("SalesQuantity") < 0)
    credit = sales.filter(pl.col("SalesDocumentNumber").str.starts_with("C"))
    assert dirt["return_lines"] == negative.height > 0
    assert (negative["NetSalesValue"] < 0).all()
    assert abs(dirt["return_lines"] / sales.height - 0.02) < 0.004
    assert dirt["credit_note_lines"] == credit.height > 0
    assert dirt["credit_note_lines"] < dirt["return_lines"]  # others sit on the invoice
    assert (credit["SalesQuantity"] < 0).all()
    assert dirt["credit_notes"] == credit["SalesDocumentNumber"].n_unique()
    assert dirt["duplicate_lines"] == sales.height - sales.unique().height >= 5
    assert dirt["missing_customer_lines"] == sales["SoldToCustomer_CD"].null_count() >= 5
    assert dirt["outlier_lines"] > 0
    positive = sales.filter(pl.col("SalesQuantity") > 0)
    assert (positive["NetSalesValue"] > 0).all()


def test_return_rate_zero_plants_no_returns() -> None:
    led = generate_ledger(n_customers=40, months=2, return_rate=0.0)
    assert led.dirt["return_lines"] == led.dirt["credit_notes"] == 0
    assert (led.sales["SalesQuantity"] > 0).all()


def test_dates_cover_the_period_with_seasonality(demo: SyntheticLedger) -> None:
    dates = demo.sales["Date_CD"]
    assert dates.min() >= 20250101
    assert dates.max() <= 20251231
    short = generate_ledger(n_customers=40, months=2, start=date(2024, 11, 15))
    assert short.sales["Date_CD"].min() >= 20241115
    assert short.sales["Date_CD"].max() <= 20250114
    # premium delis order most in December
    deli = demo.sales.join(demo.personas, on="SoldToCustomer_CD").filter(
        pl.col("persona") == "premium_deli", pl.col("SalesQuantity") > 0
    )
    by_month = deli.group_by(pl.col("Date_CD") // 100 % 100).agg(
        pl.col("SalesDocumentNumber").n_unique()
    )
    per_month = dict(by_month.iter_rows())
    assert per_month[12] > 1.4 * np.mean(list(per_month.values()))


def test_invoices_follow_weekday_and_summer_patterns(demo: SyntheticLedger) -> None:
    invoices = (
        demo.sales.filter(~pl.col("SalesDocumentNumber").str.starts_with("C"))
        .join(demo.personas, on="SoldToCustomer_CD")
        .group_by("SalesDocumentNumber")
        .agg(pl.col("Date_CD", "persona").first())
        .with_columns(day=pl.col("Date_CD").cast(pl.String).str.to_date("%Y%m%d"))
    )
    assert invoices.filter(pl.col("day").dt.weekday() == 7).height == 0  # closed on Sundays
    saturday = invoices.filter(pl.col("day").dt.weekday() == 6).height
    assert 0 < saturday < invoices.filter(pl.col("day").dt.weekday() == 1).height
    restaurants = invoices.filter(pl.col("persona") == "restaurant")
    july = restaurants.filter(pl.col("day").dt.month() == 7).height
    january = restaurants.filter(pl.col("day").dt.month() == 1).height
    assert july > 1.4 * january  # summer terraces (planted factor 1.4 vs 0.8)


@pytest.mark.parametrize("n_lines", [1_000, 50_000])
def test_n_lines_is_reached_within_five_percent(n_lines: int) -> None:
    led = generate_ledger(n_lines=n_lines, seed=2)
    assert abs(led.sales.height - n_lines) <= 0.05 * n_lines


def test_affinities_are_strong_within_their_persona(
    demo: SyntheticLedger, orders: pl.DataFrame
) -> None:
    assert demo.affinities.height >= 3 * len(PERSONAS) - 1
    assert set(demo.affinities["persona"]) == set(PERSONA_NAMES)
    for row in demo.affinities.iter_rows(named=True):
        has_a = pl.all_horizontal(pl.col("items").list.contains(a) for a in row["antecedent"])
        has_c = pl.col("items").list.contains(row["consequent"])
        stats = {
            scope: frame.select(
                n=pl.len(), a=has_a.sum(), ac=(has_a & has_c).sum(), c=has_c.sum()
            ).row(0, named=True)
            for scope, frame in (
                ("within", orders.filter(pl.col("persona") == row["persona"])),
                ("overall", orders),
            )
        }
        w, o = stats["within"], stats["overall"]
        confidence, base = w["ac"] / w["a"], w["c"] / w["n"]
        assert confidence >= 0.45, row
        assert confidence >= 2.0 * base, row
        assert 0.01 <= w["ac"] / w["n"] <= 0.2, row  # minable at a few % support
        assert o["ac"] / o["n"] < w["ac"] / w["n"], row  # diluted overall


def test_personas_are_recoverable_with_kmeans(demo: SyntheticLedger) -> None:
    lines = demo.sales.filter(
        pl.col("SalesQuantity") > 0,
        pl.col("SoldToCustomer_CD").is_not_null(),
        ~pl.col("SalesDocumentNumber").str.starts_with("C"),
    ).unique()
    features = (
        lines.group_by("SoldToCustomer_CD")
        .agg(
            kilos=pl.col("SalesQuantity").sum(),
            net=pl.col("NetSalesValue").sum(),
            invoices=pl.col("SalesDocumentNumber").n_unique(),
        )
        .with_columns(per_kilo=pl.col("net") / pl.col("kilos"))
        .join(demo.personas, on="SoldToCustomer_CD")
        .sort("SoldToCustomer_CD")
    )
    x = features.select("kilos", "net", "per_kilo", "invoices").to_numpy()
    x = np.minimum(x, np.quantile(x, 0.99, axis=0))
    x = StandardScaler().fit_transform(np.log1p(x))
    with threadpool_limits(1):  # OpenMP threads on a busy 2-core box are ~30x slower
        labels = KMeans(n_clusters=len(PERSONAS), n_init=10, random_state=0).fit_predict(x)
    ari = adjusted_rand_score(features["persona"], labels)
    assert ari >= 0.8
    assert ari < 0.99  # overlapping personas: not trivially separable


def test_write_csv_and_parquet(tmp_path, demo: SyntheticLedger) -> None:
    paths = demo.write(tmp_path / "csv")
    assert sorted(paths) == ["customers", "items", "sales"]
    assert not (tmp_path / "csv" / "truth").exists()
    back = pl.read_csv(paths["sales"], schema=demo.sales.schema)
    assert back.equals(demo.sales)
    paths = demo.write(tmp_path / "pq", format="parquet", truth=True)
    assert paths["personas"] == tmp_path / "pq" / "truth" / "personas.parquet"
    assert pl.read_parquet(paths["affinities"]).equals(demo.affinities)
    assert pl.read_parquet(paths["customers"]).equals(demo.customers)
    truth_csv = demo.write(tmp_path / "csv2", truth=True)["affinities"]
    assert pl.read_csv(truth_csv)["antecedent"].str.contains(";").any()
    with pytest.raises(ParameterError, match="format must be one of 'csv', 'parquet'; got 'xlsx'"):
        demo.write(tmp_path, format="xlsx")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_customers": 3}, r"n_customers must be >= 4 \(one per persona\); got 3"),
        ({"n_customers": 2.5}, r"n_customers must be an int in \[1, 1000000\]; got 2.5"),
        ({"months": 0}, r"months must be in \[1, 120\]; got 0"),
        ({"months": -2}, r"months must be in \[1, 120\]; got -2"),
        ({"n_lines": 999}, r"n_lines must be in \[1000, 1000000000\]; got 999"),
        ({"return_rate": 0.9}, r"return_rate must be in \[0, 0.5\]; got 0.9"),
        ({"seed": -1}, r"seed must be in \[0, inf\); got -1"),
        ({"start": "2025-01-01"}, r"start must be a datetime.date; got '2025-01-01'"),
    ],
)
def test_invalid_parameters_name_the_parameter(kwargs: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        generate_ledger(**kwargs)
