"""Opportunities: exact against a brute-force set oracle, planted ledgers, values, errors."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basketlens.errors import ParameterError, SchemaError
from basketlens.opportunities import (
    OPPORTUNITIES_SCHEMA,
    RULE_COUNTS_SCHEMA,
    CustomerItems,
    ItemValues,
    find_opportunities,
)

ITEMS = ["a", "b", "c", "d", "e"]
CUSTOMERS = [f"c{i}" for i in range(8)]
D = datetime(2024, 1, 1)


def ledger(purchases: list[tuple[str, str, int, float, float]]) -> pl.DataFrame:
    """Cleaned-lines frame from (customer, item, day offset, quantity, net_sales)."""
    return pl.DataFrame(
        {
            "unit": [p[0] for p in purchases],
            "item": [p[1] for p in purchases],
            "basket": [f"{p[0]}-{p[2]}" for p in purchases],
            "date": [datetime(2024, 1, 1 + p[2]) for p in purchases],
            "quantity": [p[3] for p in purchases],
            "net_sales": [p[4] for p in purchases],
            "item_name": [p[1].upper() for p in purchases],
        }
    )


def rules_frame(rows: list[tuple[str, str, list[str], list[str], float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rule_id": [r[0] for r in rows],
            "scope": [r[1] for r in rows],
            "antecedent": [r[2] for r in rows],
            "consequent": [r[3] for r in rows],
            "support": [0.1] * len(rows),
            "confidence": [r[4] for r in rows],
            "lift": [2.0] * len(rows),
        },
        schema_overrides={"antecedent": pl.List(pl.String), "consequent": pl.List(pl.String)},
    )


# ---------------------------------------------------------------------- property vs brute force
purchase = st.tuples(
    st.sampled_from(CUSTOMERS),
    st.sampled_from(ITEMS),
    st.integers(0, 5),
    st.floats(0.5, 9.0),
    st.floats(1.0, 99.0),
)
itemset = st.lists(st.sampled_from([*ITEMS, "zz"]), max_size=3, unique=True)
rule = st.tuples(
    st.sampled_from(["all", "0", "1", "7"]),
    itemset,
    st.lists(st.sampled_from([*ITEMS, "zz"]), min_size=1, max_size=2, unique=True),
    st.floats(0.05, 1.0),
)


@settings(max_examples=150, deadline=None)
@given(
    purchases=st.lists(purchase, min_size=1, max_size=40),
    segments=st.dictionaries(st.sampled_from(CUSTOMERS), st.integers(0, 2)),
    raw_rules=st.lists(rule, min_size=1, max_size=12),
    chunk=st.integers(1, 5),
)
def test_opportunities_equal_brute_force_sets(purchases, segments, raw_rules, chunk) -> None:
    lines = ledger(purchases)
    rows = [
        (f"r{i}", s, sorted(a), sorted(set(c) - set(a)) or ["zz"], conf)
        for i, (s, a, c, conf) in enumerate(raw_rules)
    ]
    rules = rules_frame(rows)
    customers = pl.DataFrame(
        {"customer_id": list(segments), "segment": list(segments.values())},
        schema={"customer_id": pl.String, "segment": pl.Int32},
    )
    opp = find_opportunities(lines, rules, customers, chunk_size=chunk)

    bought: dict[str, set[str]] = {}
    for cust, item, *_ in purchases:
        bought.setdefault(cust, set()).add(item)
    expected = set()
    for rid, scope, ante, cons, _ in rows:
        members = [c for c in bought if scope == "all" or str(segments.get(c)) == scope]
        for cust in members:
            if set(ante) <= bought[cust] and not set(cons) <= bought[cust]:
                expected.add((rid, cust))
    got = set(opp.table.select("rule_id", "customer_id").iter_rows())
    assert got == expected
    assert opp.table.height == len(expected)  # no duplicates
    counts = dict(opp.rule_counts.select("rule_id", "opportunity_customers").iter_rows())
    assert counts == {rid: sum(1 for r, _ in expected if r == rid) for rid, *_ in rows}
    assert opp.table.schema == OPPORTUNITIES_SCHEMA
    assert opp.rule_counts.schema == RULE_COUNTS_SCHEMA


# ---------------------------------------------------------------------- planted ledger
@pytest.fixture
def planted() -> pl.DataFrame:
    # brie -> baguette planted: c1..c3 buy both; c4 and c5 buy brie only (the opportunities);
    # c6 buys baguette only; c7 buys wine only.
    rows = []
    for i, c in enumerate(["c1", "c2", "c3"]):
        rows += [(c, "brie", 0, 1.0, 10.0), (c, "baguette", 0, 2.0, 2.0 * (i + 1))]
    rows += [("c4", "brie", 0, 1.0, 10.0), ("c4", "brie", 3, 1.0, 10.0), ("c4", "wine", 5, 1.0, 8)]
    rows += [("c5", "brie", 2, 1.0, 10.0)]
    rows += [("c6", "baguette", 1, 1.0, 2.0), ("c7", "wine", 4, 1.0, 9.0)]
    return ledger(rows)


def test_planted_opportunities_are_recovered_exactly(planted: pl.DataFrame) -> None:
    rules = rules_frame([("all-r1", "all", ["brie"], ["baguette"], 0.6)])
    items = planted.select("item", "item_name").unique()  # the clean stage's item table
    opp = find_opportunities(planted, rules, None, items=items)
    t = opp.table.sort("customer_id")
    assert t["customer_id"].to_list() == ["c4", "c5"]
    assert t["antecedent_orders"].to_list() == [2, 1]
    assert t["antecedent_last_date"].to_list() == [datetime(2024, 1, 4), datetime(2024, 1, 3)]
    # window ends 2024-01-06 (c4's wine)
    assert t["antecedent_recency_days"].to_list() == [2.0, 3.0]
    assert t["antecedent_names"].to_list() == [["BRIE"], ["BRIE"]]
    assert t["consequent_names"].to_list() == [["BAGUETTE"], ["BAGUETTE"]]
    # every customer has observed months = 1 (a 6-day window), so monthly spend = net sales;
    # baguette buyers spend 2, 4, 6 and 2 -> median 3.0; expected value = 0.6 * 3.0
    assert t["expected_value"].to_list() == pytest.approx([1.8, 1.8])
    assert t["expected_quantity"].to_list() == pytest.approx([0.6 * 2.0] * 2)
    assert opp.rule_counts.rows() == [("all-r1", "all", 2)]


def test_segment_scope_uses_only_segment_customers_and_values(planted: pl.DataFrame) -> None:
    customers = pl.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6", "c7"],
            "customer_name": ["One", "Two", "Three", "Four", "Five", "Six", "Seven"],
            "segment": [0, 1, 1, 0, 1, 0, 1],
        },
        schema_overrides={"segment": pl.Int32},
    ).with_columns(
        segment_name=pl.when(pl.col("segment") == 0).then(pl.lit("Big")).otherwise(pl.lit("Small"))
    )
    rules = rules_frame(
        [("0-r1", "0", ["brie"], ["baguette"], 0.5), ("1-r1", "1", ["brie"], ["baguette"], 0.5)]
    )
    opp = find_opportunities(planted, rules, customers)
    t = opp.table.sort("scope")
    assert t.select("scope", "customer_id", "customer_name", "segment_name").rows() == [
        ("0", "c4", "Four", "Big"),
        ("1", "c5", "Five", "Small"),
    ]
    # segment 0 baguette buyers: c1 (2.0), c6 (2.0) -> 2.0; segment 1: c2 (4), c3 (6) -> 5.0
    assert t["expected_value"].to_list() == pytest.approx([1.0, 2.5])


def test_empty_antecedent_matches_everyone_lacking_the_consequent(planted: pl.DataFrame) -> None:
    rules = rules_frame([("all-r1", "all", [], ["wine"], 0.25)])
    t = find_opportunities(planted, rules, None).table
    assert sorted(t["customer_id"].to_list()) == ["c1", "c2", "c3", "c5", "c6"]
    c1 = t.filter(pl.col("customer_id") == "c1").row(0, named=True)
    assert c1["antecedent_orders"] == 1  # all of the customer's orders
    assert c1["antecedent_last_date"] == datetime(2024, 1, 1)


def test_multi_item_consequent_counts_only_the_missing_items(planted: pl.DataFrame) -> None:
    rules = rules_frame([("all-r1", "all", ["brie"], ["baguette", "wine"], 0.5)])
    t = find_opportunities(planted, rules, None).table.sort("customer_id")
    # c1-c3 lack wine; c4 lacks baguette (has wine); c5 lacks both
    assert t["customer_id"].to_list() == ["c1", "c2", "c3", "c4", "c5"]
    # medians: baguette 3.0, wine (c4 8, c7 9) 8.5
    assert t["expected_value"].to_list() == pytest.approx([4.25, 4.25, 4.25, 1.5, 5.75])


def test_ranked_by_expected_value_within_scope(planted: pl.DataFrame) -> None:
    rules = rules_frame(
        [
            ("all-r1", "all", ["brie"], ["baguette"], 0.5),
            ("all-r2", "all", ["baguette"], ["brie"], 0.9),
        ]
    )
    t = find_opportunities(planted, rules, None).table
    assert t["rank"].to_list() == [1, 2, 3]
    assert t["rule_id"].to_list() == ["all-r2", "all-r1", "all-r1"]
    assert t["expected_value"].to_list() == sorted(t["expected_value"].to_list(), reverse=True)


def test_values_use_observed_months() -> None:
    lines = ledger([("x", "a", 0, 1.0, 61.0), ("y", "b", 0, 1.0, 1.0)])
    lines = pl.concat(
        [
            lines,
            ledger([("y", "b", 0, 1.0, 1.0)]).with_columns(
                date=pl.lit(datetime(2024, 3, 1)), basket=pl.lit("y-late")
            ),
        ]
    )
    values = ItemValues.compute(CustomerItems.from_lines(lines), {})
    # x: first purchase 2024-01-01, window end 2024-03-01 -> 61 days = 2.004 months
    a = values.table.filter(pl.col("item") == "a")["monthly_value"].item()
    assert a == pytest.approx(61.0 / (61 / 30.4375))


def test_unknown_rule_items_are_handled(planted: pl.DataFrame) -> None:
    rules = rules_frame(
        [("r1", "all", ["nope"], ["brie"], 0.5), ("r2", "all", ["brie"], ["nope"], 0.5)]
    )
    opp = find_opportunities(planted, rules, None)
    assert opp.rule_counts["opportunity_customers"].to_list() == [0, 5]
    assert opp.table["expected_value"].to_list() == [0.0] * 5


def test_bad_input_is_reported(planted: pl.DataFrame) -> None:
    with pytest.raises(SchemaError, match="lacks column"):
        find_opportunities(planted, pl.DataFrame({"rule_id": ["r"]}), None)
    with pytest.raises(SchemaError, match="unit"):
        find_opportunities(planted.drop("unit"), rules_frame([]), None)
    with pytest.raises(ParameterError, match="chunk_size must be in"):
        find_opportunities(planted, rules_frame([]), None, chunk_size=0)


def test_matrix_round_trips_through_its_long_form(planted: pl.DataFrame) -> None:
    m = CustomerItems.from_lines(planted)
    orders = planted.group_by("unit").agg(pl.col("basket").n_unique().alias("total_orders"))
    back = CustomerItems.from_table(m.to_table(), total_orders=orders, window_end=m.window_end)
    for name in (
        "indptr",
        "indices",
        "orders",
        "quantity",
        "net_sales",
        "last_bought",
        "first_date",
        "last_date",
        "total_orders",
    ):
        np.testing.assert_array_equal(getattr(back, name), getattr(m, name), err_msg=name)
    assert (back.customers, back.items, back.window_end) == (m.customers, m.items, m.window_end)
    assert m.total_orders.tolist() == [1, 1, 1, 3, 1, 1, 1]


@settings(max_examples=100, deadline=None)
@given(
    purchases=st.lists(purchase, min_size=1, max_size=40),
    segments=st.dictionaries(st.sampled_from(CUSTOMERS), st.integers(0, 2)),
    raw_rules=st.lists(rule, min_size=1, max_size=12),
    chunk=st.integers(1, 5),
)
def test_compiled_matches_equal_the_sparse_product(purchases, segments, raw_rules, chunk) -> None:
    """The compiled antecedent matcher (customer bitsets) finds what the sparse product
    finds, empty antecedents and unknown items included."""
    from basketlens.opportunities import opportunities as module

    if module._core is None:
        pytest.skip("compiled core not built")
    lines = ledger(purchases)
    rows = [(f"r{i}", s, sorted(a), sorted(c), conf) for i, (s, a, c, conf) in enumerate(raw_rules)]
    rules = rules_frame(rows)
    customers = pl.DataFrame(
        {"customer_id": list(segments), "segment": list(segments.values())},
        schema={"customer_id": pl.String, "segment": pl.Int32},
    )
    compiled = find_opportunities(lines, rules, customers, chunk_size=chunk)
    saved = module._core
    try:
        module._core = None
        product = find_opportunities(lines, rules, customers, chunk_size=chunk)
    finally:
        module._core = saved
    assert compiled.table.equals(product.table)
    assert compiled.rule_counts.equals(product.rule_counts)
