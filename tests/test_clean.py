"""Tests of the clean stage: every rule, the account, keys, errors, an oracle and real data."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from basketlens.clean import CleaningOptions, CleanResult, LedgerLike, clean_ledger
from basketlens.clean.rules import CLEANING_RULES
from basketlens.errors import EmptyInputError, InputError, ParameterError, SchemaError
from basketlens.schema import CLEAN_SCHEMA, CLEANING_SCHEMA, ITEMS_SCHEMA, LEDGER_SCHEMA

D1 = datetime(2024, 1, 2, 9, 30)
D2 = datetime(2024, 1, 3, 15, 0)
RULES = [
    "missing_ids",
    "implausible_dates",
    "returns",
    "nonpositive",
    "excluded_brands",
    "excluded_categories",
    "excluded_items",
    "service_items",
    "duplicates",
    "single_item_baskets",
]


@dataclass(frozen=True)
class FakeLedger:
    lines: pl.LazyFrame
    n_lines: int
    cancel_prefix: str | None = "C"  # like Online Retail: 'C' invoices are cancellations


def line(**kw: Any) -> dict[str, Any]:
    """A valid ledger line; keyword arguments override fields."""
    base: dict[str, Any] = {
        "invoice": "1",
        "date": D1,
        "customer": "A",
        "customer_name": "Alice",
        "customer_group": None,
        "item": "x",
        "item_name": "X thing",
        "quantity": 2.0,
        "unit_price": 1.5,
        "net_sales": 3.0,
        "brand": None,
        "category": None,
    }
    base.update(kw)
    return base


def ledger(rows: list[dict[str, Any]], n_lines: int | None = None) -> FakeLedger:
    """A fake ledger whose line_no is the row position (unless a row sets it)."""
    rows = [{"line_no": i, **r} for i, r in enumerate(rows)]
    df = pl.DataFrame(rows, schema=LEDGER_SCHEMA, orient="row") if rows else LEDGER_SCHEMA
    frame = df if isinstance(df, pl.DataFrame) else pl.DataFrame(schema=LEDGER_SCHEMA)
    return FakeLedger(frame.lazy(), len(rows) if n_lines is None else n_lines)


def drops(result: CleanResult) -> dict[str, int]:
    return dict(zip(result.account["rule"], result.account["rows_dropped"], strict=True))


def kept(result: CleanResult) -> list[int]:
    return result.lines["line_no"].to_list()


# A ledger in which each line is dropped by exactly one rule (or kept); comment = expected.
MIXED = [
    line(),  # 0 kept
    line(item="y", unit_price=None, net_sales=5.0),  # 1 kept (price from net_sales)
    line(customer=None),  # 2 missing_ids
    line(item="  "),  # 3 missing_ids (blank)
    line(date=None, quantity=-1.0),  # 4 missing_ids (before returns)
    line(invoice="c5"),  # 5 returns (lower-case 'c')
    line(invoice="6", quantity=-1.0, net_sales=-1.5),  # 6 returns
    line(quantity=0.0),  # 7 nonpositive
    line(unit_price=0.0),  # 8 nonpositive
    line(item="z", unit_price=None, net_sales=-1.0),  # 9 nonpositive (price -0.5)
    line(net_sales=0.0),  # 10 nonpositive (net sales 0)
    line(item="w", brand="ACME "),  # 11 excluded_brands
    line(item="v", category="Tobacco"),  # 12 excluded_categories
    line(),  # 13 duplicates (of 0)
    line(invoice="c5"),  # 14 returns (duplicate of 5, dropped earlier)
    line(invoice="9", item="q", net_sales=None),  # 15 single_item_baskets (net_sales filled)
    line(invoice="2", item="NONE", item_name=None),  # 16 excluded_items (by id)
    line(invoice="2", item="u", item_name=" none "),  # 17 excluded_items (by name, trimmed)
]
MIXED_OPTIONS = CleaningOptions(
    exclude_brands=("acme",),
    exclude_categories=("TOBACCO",),
    exclude_items=("None",),
    service_items=("POST",),
    drop_single_item_baskets=True,
)


def test_each_rule_drops_its_lines_in_order() -> None:
    result = clean_ledger(ledger(MIXED), options=MIXED_OPTIONS)
    assert drops(result) == {
        "missing_ids": 3,
        "implausible_dates": 0,
        "returns": 3,
        "nonpositive": 4,
        "excluded_brands": 1,
        "excluded_categories": 1,
        "excluded_items": 2,
        "service_items": 0,
        "duplicates": 1,
        "single_item_baskets": 1,
    }
    assert result.account["rows_in"].to_list() == [18, 15, 15, 12, 8, 7, 6, 4, 4, 3]
    assert result.account["rows_out"].to_list() == [15, 15, 12, 8, 7, 6, 4, 4, 3, 2]
    assert result.account["step"].to_list() == list(range(1, 11))
    assert kept(result) == [0, 1]
    assert result.lines["net_sales"].to_list() == [3.0, 5.0]


def test_single_item_rule_off_keeps_basket_and_fills_net_sales() -> None:
    options = CleaningOptions(exclude_brands=("acme",), exclude_categories=("tobacco",))
    result = clean_ledger(ledger(MIXED), options=options)
    assert kept(result) == [0, 1, 15, 16, 17]
    assert result.lines["net_sales"].to_list() == [3.0, 5.0, 3.0, 3.0, 3.0]  # 2 × 1.5 filled
    row = result.account.filter(pl.col("rule") == "single_item_baskets").row(0, named=True)
    assert row["rows_dropped"] == 0
    assert row["description"].startswith("disabled")


def test_schemas_and_descriptions() -> None:
    result = clean_ledger(ledger(MIXED), options=MIXED_OPTIONS)
    assert result.lines.schema == CLEAN_SCHEMA
    assert result.account.schema == CLEANING_SCHEMA
    assert result.account["rule"].to_list() == RULES
    desc = dict(zip(result.account["rule"], result.account["description"], strict=True))
    assert desc["returns"] == "cancellations ('C' invoices) and returns (negative quantity)"
    assert "'acme'" in desc["excluded_brands"]
    assert not any(d.startswith("disabled") for d in desc.values())


def test_all_rules_disabled_keeps_everything_and_says_so() -> None:
    options = CleaningOptions(
        drop_returns=False,
        drop_missing_ids=False,
        drop_nonpositive=False,
        drop_duplicates=False,
        drop_implausible_dates=False,
    )
    result = clean_ledger(ledger(MIXED), options=options)
    assert kept(result) == list(range(len(MIXED)))
    assert result.account["rows_dropped"].to_list() == [0] * len(CLEANING_RULES)
    assert all(d.startswith("disabled") for d in result.account["description"])
    # a line without a customer keeps a null unit and name
    assert result.lines.row(2, named=True)["unit"] is None


def test_duplicates_keep_lowest_line_no_whatever_the_row_order() -> None:
    rows = [line(line_no=7), line(line_no=3), line(line_no=5, item="y"), line(line_no=4)]
    df = pl.DataFrame(rows, schema=LEDGER_SCHEMA, orient="row")
    result = clean_ledger(FakeLedger(df.lazy(), 4))
    assert kept(result) == [3, 5]  # output sorted by line_no
    assert drops(result)["duplicates"] == 2


def test_duplicate_rule_sees_only_survivors() -> None:
    # line 0 is a return (dropped); its twin line 1 is then the first survivor and is kept
    rows = [line(invoice="C1"), line(invoice="C1", quantity=1.0), line(invoice="C1")]
    result = clean_ledger(ledger(rows), options=CleaningOptions(drop_returns=False))
    assert kept(result) == [0, 1]
    result = clean_ledger(ledger([line(quantity=-2.0), line(quantity=-2.0), line()]))
    assert drops(result) == {**dict.fromkeys(RULES, 0), "returns": 2}


def test_nan_and_infinite_values_are_nonpositive() -> None:
    rows = [line(), line(quantity=math.nan), line(unit_price=math.inf), line(net_sales=math.nan)]
    result = clean_ledger(ledger(rows))
    assert kept(result) == [0]
    assert drops(result)["nonpositive"] == 3


def test_customer_day_baskets() -> None:
    rows = [line(invoice="1"), line(invoice="2", item="y"), line(invoice="3", date=D2)]
    result = clean_ledger(ledger(rows), options=CleaningOptions(basket_by="customer_day"))
    assert result.lines["basket"].to_list() == ["A|2024-01-02", "A|2024-01-02", "A|2024-01-03"]
    result = clean_ledger(ledger(rows))
    assert result.lines["basket"].to_list() == ["1", "2", "3"]


def test_single_item_baskets_follow_the_basket_key() -> None:
    rows = [line(invoice="1"), line(invoice="2", item="y"), line(invoice="3", date=D2)]
    by_day = CleaningOptions(basket_by="customer_day", drop_single_item_baskets=True)
    assert kept(clean_ledger(ledger(rows), options=by_day)) == [0, 1]
    # by invoice every basket has one item: everything goes and the error shows the account
    with pytest.raises(EmptyInputError, match=r"single_item_baskets .*dropped +3"):
        clean_ledger(ledger(rows), options=CleaningOptions(drop_single_item_baskets=True))


def test_units_at_customer_level_fall_back_to_id_for_name() -> None:
    rows = [line(), line(customer="B", customer_name=None), line(customer="C", customer_name=" ")]
    result = clean_ledger(ledger(rows))
    assert result.lines["unit"].to_list() == ["A", "B", "C"]
    assert result.lines["unit_name"].to_list() == ["Alice", "B", "C"]


def test_units_at_group_level(caplog: pytest.LogCaptureFixture) -> None:
    rows = [
        line(customer_group="G1"),
        line(customer="B", customer_name="Bob", customer_group="G1"),
        line(customer="C", customer_name="Carl", customer_group=None),
        line(customer="D", customer_name=None, customer_group=""),
    ]
    with caplog.at_level(logging.INFO, logger="basketlens.clean"):
        result = clean_ledger(ledger(rows), options=CleaningOptions(segment_level="group"))
    assert result.lines["unit"].to_list() == ["G1", "G1", "C", "D"]
    assert result.lines["unit_name"].to_list() == ["G1", "G1", "Carl", "D"]
    assert "2 cleaned lines have no customer_group" in caplog.text


def test_item_table_by_hand() -> None:
    rows = [
        line(item="x", item_name=None),  # 0 net 3
        line(invoice="2", item="x", item_name="Xz", brand="Zed", quantity=1.0, net_sales=None),
        line(invoice="3", item="x", item_name="Xb", brand="Acme", category="Toys", net_sales=4.0),
        line(item="b", item_name=None, category="Food", quantity=1.0, net_sales=1.0),
        line(item="a", item_name="dropped name", customer=None),  # 4 missing_ids
        line(invoice="5", item="a", item_name=None, quantity=1.0, unit_price=5.0, net_sales=5.0),
        line(item="z", item_name="Zz", quantity=-1.0),  # 6 returns: no row for z
        line(item="x", item_name=None),  # 7 duplicate of 0
    ]
    items = clean_ledger(ledger(rows)).items
    assert items.schema == ITEMS_SCHEMA
    assert items.rows() == [
        ("a", "a", None, None, 1, 5.0),  # no kept name: the id; the dropped line's name unused
        ("b", "b", None, "Food", 1, 1.0),
        ("x", "Xz", "Zed", "Toys", 3, 3.0 + 1.5 + 4.0),  # first non-null in line order; filled
    ]
    # with missing ids kept, a line without an item is no item
    kept_all = CleaningOptions(drop_missing_ids=False)
    items = clean_ledger(ledger([line(), line(item=None)]), options=kept_all).items
    assert items.rows() == [("x", "X thing", None, None, 1, 3.0)]


def test_all_dropped_message_names_the_rule_and_its_switch() -> None:
    with pytest.raises(EmptyInputError, match=r"rule 'returns' \(cancellations .*drop_returns"):
        clean_ledger(ledger([line(invoice="C1"), line(quantity=-1.0)]))


def test_n_lines_mismatch_is_refused() -> None:
    with pytest.raises(InputError, match=r"n_lines is 5 but ledger.lines holds 3 lines"):
        clean_ledger(ledger([line(), line(), line()], n_lines=5))


def test_empty_ledger_and_all_dropped() -> None:
    with pytest.raises(EmptyInputError, match="every ledger line was dropped"):
        clean_ledger(ledger([]))
    with pytest.raises(EmptyInputError, match=r"missing_ids +in +2 +dropped +2"):
        clean_ledger(ledger([line(customer=None), line(customer="")]))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (CleaningOptions(basket_by="week"), "basket_by must be one of 'invoice', 'customer_day'"),
        (CleaningOptions(segment_level="region"), "segment_level must be one of"),
        (CleaningOptions(exclude_brands="acme"), "exclude_brands must be a list of strings"),
        (CleaningOptions(exclude_categories=(1,)), "exclude_categories must contain only"),
        (CleaningOptions(drop_returns="yes"), "drop_returns must be True or False; got 'yes'"),
    ],
)
def test_bad_options(options: CleaningOptions, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        clean_ledger(ledger([line()]), options=options)


def test_bad_ledger_frames() -> None:
    df = pl.DataFrame([{"line_no": 0, **line()}], schema=LEDGER_SCHEMA, orient="row")
    with pytest.raises(SchemaError, match="no column 'brand'"):
        clean_ledger(FakeLedger(df.drop("brand").lazy(), 1))
    with pytest.raises(SchemaError, match="column 'quantity' must be Float64; got Int64"):
        clean_ledger(FakeLedger(df.with_columns(pl.col("quantity").cast(pl.Int64)).lazy(), 1))
    with pytest.raises(ParameterError, match="n_lines must be an int >= 0; got -1"):
        clean_ledger(FakeLedger(df.lazy(), -1))
    assert isinstance(FakeLedger(df.lazy(), 1), LedgerLike)


# ---- property: the stage equals a line-by-line oracle of the documented rules ----------------


def _blank(v: str | None) -> bool:
    return v is None or v.strip() == ""


def _pos(v: float | None) -> bool:
    return v is not None and math.isfinite(v) and v > 0


def oracle(rows: list[dict[str, Any]], o: CleaningOptions) -> tuple[list[int], list[int]]:
    """Apply the rules one after the other in plain Python: (drops per rule, kept line_nos)."""
    alive = list(rows)
    counts = []

    def apply(enabled: bool, fails: Any) -> None:
        nonlocal alive
        flags = [enabled and fails(r) for r in alive]  # evaluated once: fails may be stateful
        counts.append(sum(flags))
        alive = [r for r, bad in zip(alive, flags, strict=True) if not bad]

    def filled(r: dict[str, Any]) -> float | None:
        if r["net_sales"] is not None:
            return r["net_sales"]
        return None if r["unit_price"] is None else r["quantity"] * r["unit_price"]

    def price(r: dict[str, Any]) -> float | None:
        if r["unit_price"] is not None:
            return r["unit_price"]
        if r["net_sales"] is None or r["quantity"] == 0:
            return None
        return r["net_sales"] / r["quantity"]

    brands = {b.strip().lower() for b in o.exclude_brands}
    excluded_items = {i.strip().lower() for i in o.exclude_items}
    ids = ("customer", "invoice", "item") if o.basket_by == "invoice" else ("customer", "item")
    apply(o.drop_missing_ids, lambda r: any(_blank(r[c]) for c in ids) or r["date"] is None)
    apply(o.drop_implausible_dates, lambda r: r["date"] is not None and r["date"].year < 1990)
    apply(
        o.drop_returns, lambda r: r["invoice"].lstrip().upper().startswith("C") or r["quantity"] < 0
    )
    apply(
        o.drop_nonpositive,
        lambda r: not (_pos(r["quantity"]) and _pos(price(r)) and _pos(filled(r))),
    )
    apply(bool(brands), lambda r: r["brand"] is not None and r["brand"].strip().lower() in brands)
    apply(False, lambda r: False)
    apply(
        bool(excluded_items),
        lambda r: any(
            r[c] is not None and r[c].strip().lower() in excluded_items
            for c in ("item", "item_name")
        ),
    )
    services = {i.strip().lower() for i in o.service_items}
    apply(
        o.drop_service_items and bool(services),
        lambda r: r["item"] is not None and r["item"].strip().lower() in services,
    )
    seen: set[tuple[Any, ...]] = set()

    def dup(r: dict[str, Any]) -> bool:
        key = tuple(r[c] for c in LEDGER_SCHEMA.names() if c != "line_no")
        if key in seen:
            return True
        seen.add(key)
        return False

    apply(o.drop_duplicates, dup)

    def basket(r: dict[str, Any]) -> str | None:
        if o.basket_by == "invoice":
            return r["invoice"]
        return None if r["date"] is None else f"{r['customer']}|{r['date']:%Y-%m-%d}"

    items: dict[str | None, set[str]] = {}
    for r in alive:
        items.setdefault(basket(r), set()).update([r["item"]] if r["item"] is not None else [])
    apply(o.drop_single_item_baskets, lambda r: len(items[basket(r)]) <= 1)
    return counts, [r["line_no"] for r in alive]


row_strategy = st.fixed_dictionaries(
    {
        "invoice": st.sampled_from(["1", "2", "C3", " c4", " "]),
        "date": st.sampled_from([D1, D2, None, datetime(1900, 1, 1)]),
        "customer": st.sampled_from(["A", "B", ""]),
        "item": st.sampled_from(["x", "y", "z", "None", None]),
        "item_name": st.sampled_from(["X thing", " NONE", None]),
        "quantity": st.sampled_from([-1.0, 0.0, 1.0, 2.0]),
        "unit_price": st.sampled_from([None, 0.0, 1.5, -1.0]),
        "net_sales": st.sampled_from([None, 0.0, 3.0, -2.0]),
        "brand": st.sampled_from([None, "Acme", "acme ", "Bolt"]),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(row_strategy, min_size=1, max_size=25),
    flags=st.lists(st.booleans(), min_size=6, max_size=6),
    basket_by=st.sampled_from(["invoice", "customer_day"]),
    exclude=st.sampled_from([(), ("ACME",)]),
    exclude_items=st.sampled_from([(), ("none",)]),
    services=st.sampled_from([(), ("Y",)]),
)
def test_matches_sequential_oracle(
    rows: list[dict[str, Any]],
    flags: list[bool],
    basket_by: str,
    exclude: tuple[str, ...],
    exclude_items: tuple[str, ...],
    services: tuple[str, ...],
) -> None:
    options = CleaningOptions(
        drop_missing_ids=flags[0],
        drop_returns=flags[1],
        drop_nonpositive=flags[2],
        drop_duplicates=flags[3],
        drop_single_item_baskets=flags[4],
        drop_implausible_dates=flags[5],
        exclude_brands=exclude,
        exclude_items=exclude_items,
        service_items=services,
        basket_by=basket_by,
    )
    full = [{"line_no": i, **line(**r)} for i, r in enumerate(rows)]
    counts, survivors = oracle(full, options)
    fake = ledger([line(**r) for r in rows])
    if not survivors:
        with pytest.raises(EmptyInputError):
            clean_ledger(fake, options=options)
        return
    result = clean_ledger(fake, options=options)
    assert result.account["rows_dropped"].to_list() == counts
    assert kept(result) == survivors
    acc = result.account
    assert acc["rows_in"][0] == len(rows)
    assert acc["rows_out"].to_list()[:-1] == acc["rows_in"].to_list()[1:]
    assert acc["rows_out"][-1] == result.lines.height


# ---- real data: UCI Online Retail ---------------------------------------------------------


@pytest.fixture
def online_retail_ledger(shared_path) -> LedgerLike:
    """The Online Retail file through the real ingest stage."""
    from basketlens.ingest import load_ledger

    return load_ledger(shared_path("online_retail", "online_retail.parquet"))


def test_online_retail_published_numbers(online_retail_ledger) -> None:
    data = online_retail_ledger
    start = time.perf_counter()
    result = clean_ledger(
        data, options=CleaningOptions(drop_duplicates=False, drop_service_items=False)
    )
    elapsed = time.perf_counter() - start
    df = result.lines
    assert df.height == 397_884
    assert df["customer"].n_unique() == 4_338
    assert df["invoice"].n_unique() == 18_532
    assert df["item"].n_unique() == 3_665
    assert df["line_no"].is_sorted()
    assert result.items.height == 3_665
    assert result.items["lines"].sum() == 397_884
    assert result.items["net_sales"].sum() == pytest.approx(df["net_sales"].sum(), rel=1e-12)
    assert drops(result)["missing_ids"] == 135_080
    assert elapsed < 10, f"cleaning 541,909 lines took {elapsed:.1f}s"


def test_online_retail_duplicates_balance(online_retail_ledger) -> None:
    data = online_retail_ledger
    result = clean_ledger(data)
    acc = result.account
    assert drops(result)["duplicates"] > 0
    assert acc["rows_in"][0] == 541_909
    assert acc["rows_out"].to_list()[:-1] == acc["rows_in"].to_list()[1:]
    dropped = drops(result)
    assert dropped["service_items"] == 1_544  # POST, M, C2, DOT, BANK CHARGES
    assert (
        acc["rows_out"][-1]
        == result.lines.height
        == (397_884 - dropped["service_items"] - dropped["duplicates"])
    )
    # with every other rule off, the duplicate rule finds the published 5,268 duplicated lines
    only_dups = CleaningOptions(
        drop_returns=False,
        drop_missing_ids=False,
        drop_nonpositive=False,
        drop_service_items=False,
    )
    assert drops(clean_ledger(data, options=only_dups))["duplicates"] == 5_268


def test_item_totals_do_not_depend_on_the_order_of_the_lines() -> None:
    """items.net_sales is the same bits whatever the line order (a float sum was not: the
    streaming engine's morsels summed in a different order on every run)."""
    import random

    rng = random.Random(3)
    rows = [
        line(invoice=str(i // 3), item=f"i{i % 7}", net_sales=round(rng.uniform(0.01, 99.99), 2))
        for i in range(3_000)
    ]
    forward = clean_ledger(ledger(rows)).items
    rng.shuffle(rows)
    shuffled = clean_ledger(ledger(rows)).items
    assert forward["item"].to_list() == shuffled["item"].to_list() == [f"i{k}" for k in range(7)]
    assert forward["net_sales"].to_list() == shuffled["net_sales"].to_list()
    plain = pl.DataFrame(rows).group_by("item").agg(pl.col("net_sales").sum()).sort("item")
    assert plain["net_sales"].to_list() == pytest.approx(forward["net_sales"].to_list(), rel=1e-12)
