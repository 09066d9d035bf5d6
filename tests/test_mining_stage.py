"""The mine stage (``run_mining``) and item names on rules (``with_item_names``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

from basketlens.errors import ParameterError, SchemaError
from basketlens.items import item_names
from basketlens.mining import (
    MiningOptions,
    MiningResult,
    mine_itemsets,
    run_mining,
    to_basket_matrix,
)
from basketlens.mining.mine import mine_rules
from basketlens.mining.scopes import mine_scopes
from basketlens.schema import ITEM_SUPPORT_SCHEMA, RULES_BASE_SCHEMA


@pytest.fixture(scope="module")
def ledger() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Lines of 60 customers in two segments (planted a+b in segment 0, g+h in segment 1),
    their assignments and an item table that names all items but "f" (and "e" only once)."""
    rng = np.random.default_rng(1)
    rows = []
    for b in range(300):
        customer = f"c{b % 60:02d}"
        segment = (b % 60) // 30
        basket = set(rng.choice(list("abcdefgh"), size=int(rng.integers(1, 4)), replace=False))
        if segment == 0 and b % 3 == 0:
            basket |= {"a", "b"}
        if segment == 1 and b % 3 == 0:
            basket |= {"g", "h"}
        rows += [(f"B{b:03d}", item, customer) for item in sorted(basket)]
    lines = pl.DataFrame(rows, schema=["basket", "item", "unit"], orient="row")
    customers = sorted(lines["unit"].unique())
    assignments = pl.DataFrame(
        {"customer_id": customers, "segment": [int(c[1:]) // 30 for c in customers]},
        schema={"customer_id": pl.String, "segment": pl.Int32},
    )
    items = pl.DataFrame(
        {
            "item": ["a", "b", "c", "d", "e", "e", "g", "h"],
            "item_name": ["Apple", "Bread", "Cheese", "Dates", None, "Eggs", "Grapes", "Ham"],
        }
    )
    return lines, assignments, items


OPTIONS = MiningOptions(min_count=8, min_confidence=0.3, measures=("lift",))


def test_run_mining_scopes_names_and_info(ledger) -> None:
    lines, assignments, items = ledger
    result = run_mining(lines, assignments, OPTIONS, items, n_jobs=2)
    assert isinstance(result, MiningResult)
    table = result.rules.table
    assert table.columns[:10] == RULES_BASE_SCHEMA.names()
    assert table.select(RULES_BASE_SCHEMA.names()).schema == RULES_BASE_SCHEMA
    assert table["scope"].unique(maintain_order=True).to_list() == ["all", "0", "1"]
    assert table.columns[-4:] == ["level", "kind", "mirror_rule_id", "parent_rule_id"]
    assert set(result.info) == {
        "enabled", "rules", "levels", "families", "pruning", "kinds", "n_rules"
    }  # fmt: skip
    assert result.info["n_rules"] == table.height and result.info["levels"] == {}
    assert result.info["rules"]["scopes"]["0"]["n_baskets"] == 150
    # single-letter names share no words: every item is a family of its own, every rule is
    # a cross-sell, and no level above the items exists
    assert table["level"].unique().to_list() == ["item"]
    assert table["kind"].unique().to_list() == ["cross_sell"]
    assert (
        result.summary
        == f"{table.height:,} rules in 3 scopes ({table.height:,} cross-sell, 0 variant)"
    )
    # names come from the item table; "f" has none there and keeps its id
    names = {
        i: n
        for ids, ns in table.select("antecedent", "antecedent_names").rows()
        for i, n in zip(ids, ns, strict=True)
    }
    assert names["a"] == "Apple" and names["e"] == "Eggs" and names.get("f", "f") == "f"
    support = result.item_support
    assert support.schema == ITEM_SUPPORT_SCHEMA
    f_rows = support.filter(pl.col("item") == "f")
    assert f_rows["item_name"].unique().to_list() == ["f"]
    assert support.filter(pl.col("item") == "a")["item_name"].unique().to_list() == ["Apple"]
    assert result.itemsets is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.itemsets = pl.DataFrame()  # type: ignore[misc]


def test_each_scope_is_its_segments_baskets(ledger) -> None:
    lines, assignments, items = ledger
    result = run_mining(lines, assignments, OPTIONS, items, n_jobs=None)
    segment_of = dict(assignments.iter_rows())
    for scope in ("0", "1"):
        baskets = lines.filter(
            pl.col("unit").replace_strict(segment_of, return_dtype=pl.Int32) == int(scope)
        )
        alone = mine_rules(baskets, OPTIONS)
        got = result.rules.table.filter(pl.col("scope") == scope)
        extra = ("level", "kind", "mirror_rule_id", "parent_rule_id")
        assert got.drop("rule_id", "scope", "antecedent_names", "consequent_names", *extra).equals(
            alone.table.drop("rule_id")
        )
        counts = baskets.group_by("item").agg(pl.col("basket").n_unique().alias("n")).sort("item")
        support = result.item_support.filter(pl.col("scope") == scope).sort("item")
        assert support["baskets"].to_list() == counts["n"].to_list()
    planted = result.rules.table.filter(
        (pl.col("scope") == "1") & (pl.col("antecedent") == ["g"]) & (pl.col("consequent") == ["h"])
    )
    assert planted.height == 1 and planted["consequent_names"].to_list() == [["Ham"]]


def test_all_scope_only_without_assignments_or_per_segment(ledger) -> None:
    lines, assignments, items = ledger
    without = run_mining(lines, None, OPTIONS, items)
    not_per_segment = run_mining(lines, assignments, OPTIONS.updated({"per_segment": False}), items)
    for result in (without, not_per_segment):
        assert result.rules.table["scope"].unique().to_list() == ["all"]
        assert result.item_support["scope"].unique().to_list() == ["all"]
    assert without.rules.table.equals(not_per_segment.rules.table)
    # customers without a segment: their baskets are in "all" only
    partial = run_mining(lines, assignments.filter(pl.col("segment") == 0), OPTIONS, items)
    assert partial.rules.table["scope"].unique(maintain_order=True).to_list() == ["all", "0"]


def test_itemsets_per_scope_at_the_rules_min_count(ledger) -> None:
    lines, assignments, items = ledger
    options = OPTIONS.updated({"itemsets": True, "min_count": None, "target_rules": 20})
    result = run_mining(lines, assignments, options, items)
    assert result.itemsets is not None
    assert result.itemsets.columns == ["scope", "itemset", "count", "support", "length"]
    for scope, info in result.rules.info["scopes"].items():
        min_count = info["rules"]["min_count"]
        assert info["rules"]["threshold_search"]["min_count"] == min_count
        got = result.itemsets.filter(pl.col("scope") == scope)
        assert got["count"].min() >= min_count
        if scope == "all":
            assert got.drop("scope").equals(mine_itemsets(lines, min_count=min_count).table)


def test_small_scopes_get_a_note_and_no_itemsets(ledger) -> None:
    lines, assignments, items = ledger
    options = OPTIONS.updated({"itemsets": True, "min_scope_baskets": 200})
    result = run_mining(lines, assignments, options, items)
    assert (
        result.rules.rules["0"] is None
        and "150 baskets" in result.info["rules"]["scopes"]["0"]["note"]
    )
    assert result.itemsets is not None
    assert result.itemsets["scope"].unique().to_list() == ["all"]


def test_run_mining_refuses_bad_input(ledger) -> None:
    lines, assignments, items = ledger
    with pytest.raises(SchemaError, match="lines has no column 'unit'"):
        run_mining(lines.drop("unit"), assignments, OPTIONS, items)
    with pytest.raises(SchemaError, match="items has no column 'item_name'"):
        run_mining(lines, assignments, OPTIONS, items.drop("item_name"))
    with pytest.raises(SchemaError, match="assignments has no column 'segment'"):
        run_mining(lines, assignments.drop("segment"), OPTIONS, items)
    with pytest.raises(ParameterError, match="mining is disabled"):
        run_mining(lines, assignments, OPTIONS.updated({"enabled": False}), items)
    with pytest.raises(ParameterError, match=r"min_confidence must be in \[0, 1\]; got 2.0"):
        run_mining(lines, assignments, OPTIONS.updated({"min_confidence": 2.0}), items)


# ---------------------------------------------------------------- item names


def test_rules_with_item_names_returns_a_new_object() -> None:
    rules = mine_rules([["a", "b"], ["a", "b"], ["a", "c"]], min_count=1, min_confidence=0.5)
    items = pl.DataFrame({"item": ["a", "b"], "item_name": ["Apple", "Bread"]})
    named = rules.with_item_names(items)
    assert named is not rules and "antecedent_names" not in rules.table.columns
    assert named.table.columns[:5] == [
        "rule_id",
        "antecedent",
        "consequent",
        "antecedent_names",
        "consequent_names",
    ]
    assert named.table.drop("antecedent_names", "consequent_names").equals(rules.table)
    by_id = {r["rule_id"]: r for r in named.table.iter_rows(named=True)}
    for row in by_id.values():
        for ids, names in ((row["antecedent"], row["antecedent_names"]),
                           (row["consequent"], row["consequent_names"])):  # fmt: skip
            assert names == [{"a": "Apple", "b": "Bread"}.get(i, i) for i in ids]
    assert named.info["steps"][-1] == {"with_item_names": {"named_items": 2}}
    again = named.with_item_names(items.with_columns(pl.lit("X").alias("item_name")))
    assert again.table.columns == named.table.columns
    assert set(again.table["antecedent_names"].explode()) <= {"X", "c"}


def test_scoped_rules_with_item_names(ledger) -> None:
    lines, _, items = ledger
    matrix_rules = mine_scopes(to_basket_matrix(lines), {"x": np.arange(0, 100)}, OPTIONS)
    named = matrix_rules.with_item_names(items)
    assert named is not matrix_rules and "antecedent_names" not in matrix_rules.table.columns
    assert named.table.columns[:10] == RULES_BASE_SCHEMA.names()
    assert named.info == matrix_rules.info and named.info is not matrix_rules.info
    for scope, rules in named.rules.items():
        assert rules is not None and "consequent_names" in rules.table.columns
        part = named.table.filter(pl.col("scope") == scope)
        assert part["consequent_names"].to_list() == rules.table["consequent_names"].to_list()


def test_item_name_map_rules() -> None:
    items = pl.DataFrame({"item": [1, 1, 2, None], "item_name": [None, "One", None, "x"]})
    assert item_names(items) == {"1": "One", "2": "2"}
    assert item_names(items, ids=["2", "3"]) == {"2": "2", "3": "3", "1": "One"}
    with pytest.raises(SchemaError, match="item table has no column 'item_name'"):
        item_names(pl.DataFrame({"item": ["a"]}))
    with pytest.raises(SchemaError, match="must be a Polars DataFrame"):
        item_names({"a": "Apple"})  # type: ignore[arg-type]
