"""The call list (opportunities.parquet): customer × item, cross-sell by default, the lead
rule and every supporting rule, a ranking no single rule can fill."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest

from basketlens.mining.families import FAMILIES_SCHEMA
from basketlens.opportunities import find_opportunities, run_opportunities
from basketlens.opportunities.calls import CALL_LIST_SCHEMA, build_call_list
from basketlens.opportunities.opportunities import offered_rules
from basketlens.opportunities.options import RecommendOptions

NAMES = {
    "brie_a": "Brie de Meaux LS",
    "brie_b": "Brie de Meaux Vercel",
    "bag": "Baguette tradition",
    "jam": "Confiture",
    "wine": "Vin rouge",
}
BOUGHT = {
    "c1": ["brie_a", "bag"],
    "c2": ["brie_a"],
    "c3": ["brie_b"],
    "c4": ["brie_a", "jam"],
    "c5": ["bag", "wine"],
    "c6": ["bag"],
    "c7": ["wine"],
}
PRICE = {"bag": 4.0, "brie_a": 10.0, "brie_b": 12.0}
SEGMENT = {"c1": 0, "c2": 0, "c3": 0, "c4": 0, "c5": 1, "c6": 1, "c7": 1}


def _lines() -> pl.DataFrame:
    rows = [(c, item, k) for c, items in BOUGHT.items() for k, item in enumerate(items)]
    return pl.DataFrame(
        {
            "unit": [r[0] for r in rows],
            "item": [r[1] for r in rows],
            "basket": [f"{r[0]}-1" for r in rows],
            "date": [datetime(2024, 1, 1)] * len(rows),
            "quantity": [1.0] * len(rows),
            "net_sales": [PRICE.get(r[1], 6.0) for r in rows],
        }
    )


CUSTOMERS = pl.DataFrame(
    {
        "customer_id": list(SEGMENT),
        "customer_name": [f"Shop {c}" for c in SEGMENT],
        "segment": list(SEGMENT.values()),
        "segment_name": ["Deli" if s == 0 else "Bakery" for s in SEGMENT.values()],
    },
    schema_overrides={"segment": pl.Int32},
)
ITEMS = pl.DataFrame({"item": list(NAMES), "item_name": list(NAMES.values())})
FAMILIES = pl.DataFrame(
    {
        "item": list(NAMES),
        "item_name": list(NAMES.values()),
        "family": ["family:brie_a", "family:brie_a", "family:bag", "family:jam", "family:wine"],
        "family_name": ["Brie de Meaux", "Brie de Meaux", "Baguette", "Confiture", "Vin"],
        "family_size": [2, 2, 1, 1, 1],
        "category": [None] * 5,
        "variants": [["brie_b"], ["brie_a"], [], [], []],
        "variant_basis": [["name"], ["name"], [], [], []],
    },
    schema=FAMILIES_SCHEMA,
)
_RULE_ROWS = [
    # rule_id, scope, level, kind, antecedent, consequent, confidence, lift, mirror
    ("all-r1", "all", "item", "cross_sell", ["brie_a"], ["bag"], 0.6, 2.0, "all-r2"),
    ("all-r2", "all", "item", "cross_sell", ["bag"], ["brie_a"], 0.5, 2.0, "all-r1"),
    ("all-r3", "all", "item", "variant", ["brie_a"], ["brie_b"], 0.7, 3.0, None),
    ("0-r1", "0", "item", "cross_sell", ["jam"], ["bag"], 0.8, 2.5, None),
    ("all-f1", "all", "family", "cross_sell", ["family:brie_a"], ["family:bag"], 0.55, 1.5, None),
]
RULES = pl.DataFrame(
    {
        "rule_id": [r[0] for r in _RULE_ROWS],
        "scope": [r[1] for r in _RULE_ROWS],
        "antecedent": [r[4] for r in _RULE_ROWS],
        "consequent": [r[5] for r in _RULE_ROWS],
        "antecedent_names": [[NAMES.get(i, "Brie de Meaux") for i in r[4]] for r in _RULE_ROWS],
        "consequent_names": [[NAMES.get(i, "Baguette") for i in r[5]] for r in _RULE_ROWS],
        "support": [0.2] * len(_RULE_ROWS),
        "confidence": [r[6] for r in _RULE_ROWS],
        "lift": [r[7] for r in _RULE_ROWS],
        "level": [r[2] for r in _RULE_ROWS],
        "kind": [r[3] for r in _RULE_ROWS],
        "mirror_rule_id": [r[8] for r in _RULE_ROWS],
        "parent_rule_id": [None] * len(_RULE_ROWS),
    },
    schema_overrides={"mirror_rule_id": pl.String, "parent_rule_id": pl.String},
)


def _calls(**options) -> pl.DataFrame:
    opts = RecommendOptions(**options)
    offered = offered_rules(RULES, include_variants=opts.include_variants)
    opp = find_opportunities(_lines(), offered, CUSTOMERS, items=ITEMS)
    calls = build_call_list(opp, RULES, families=FAMILIES, options=opts)
    assert calls.table.schema == CALL_LIST_SCHEMA
    return calls.table


def _by_pair(table: pl.DataFrame) -> dict[tuple[str, str], dict]:
    return {(r["customer_id"], r["item"]): r for r in table.iter_rows(named=True)}


def test_one_row_per_customer_and_item_with_every_supporting_rule() -> None:
    calls = _by_pair(_calls())
    assert set(calls) == {("c2", "bag"), ("c3", "bag"), ("c4", "bag"), ("c5", "brie_a"),
                          ("c6", "brie_a")}  # fmt: skip
    c4 = calls[("c4", "bag")]
    # the segment rule jam -> bag is the strongest; brie -> bag and the family rule back it
    assert c4["rule_id"] == "0-r1" and c4["rule_ids"][0] == "0-r1"
    assert set(c4["rule_ids"]) == {"0-r1", "all-r1", "all-f1"} and c4["n_rules"] == 3
    assert c4["rule"] == "Confiture → Baguette tradition" and c4["segment_name"] == "Deli"
    # c3 buys the other brand of brie: only the family rule reaches it
    c3 = calls[("c3", "bag")]
    assert c3["rule_ids"] == ["all-f1"] and c3["level"] == "family"
    assert c3["rule"] == "Brie de Meaux → Baguette" and c3["antecedent_orders"] is None
    # a rule and its mirror are written as a pair
    assert calls[("c2", "bag")]["rule"] == "Brie de Meaux LS ↔ Baguette tradition"
    assert all(r["kind"] == "cross_sell" for r in calls.values())


def test_variants_only_with_include_variants() -> None:
    default = _by_pair(_calls())
    # the variant rule brie_a -> brie_b, and the brands of brie to customers buying the other
    assert not any(item == "brie_b" for _, item in default)
    assert ("c3", "brie_a") not in default  # c3 already buys a brie (brie_b)
    both = _by_pair(_calls(include_variants=True))
    assert both[("c1", "brie_b")]["kind"] == "variant"
    assert both[("c1", "brie_b")]["rule_ids"] == ["all-r3"]
    assert both[("c3", "bag")]["kind"] == "cross_sell"
    assert set(default) < set(both)


def test_ranking_has_diminishing_returns_per_rule_and_item() -> None:
    table = _calls(diversity=0.5).sort("rank")
    assert table["rank"].to_list() == list(range(1, table.height + 1))
    assert table["priority"].is_sorted(descending=True)
    # priority = value × d^(earlier calls led by the same rule pair) × d^(earlier calls of the item)
    by_value = table.sort(["expected_value", "confidence", "lift", "customer_id", "item"],
                          descending=[True, True, True, False, False])  # fmt: skip
    pair = {"all-r2": "all-r1"}
    seen_rule: dict[str, int] = {}
    seen_item: dict[str, int] = {}
    for row in by_value.iter_rows(named=True):
        key = pair.get(row["rule_id"], row["rule_id"])
        n_rule, n_item = seen_rule.get(key, 0), seen_item.get(row["item"], 0)
        assert row["priority"] == pytest.approx(row["expected_value"] * 0.5 ** (n_rule + n_item))
        seen_rule[key], seen_item[row["item"]] = n_rule + 1, n_item + 1
    by_value_only = _calls(diversity=1.0).sort("rank")
    assert by_value_only["expected_value"].is_sorted(descending=True)


def test_rule_counts_are_the_calls_listing_each_rule() -> None:
    opts = RecommendOptions()
    opp = find_opportunities(_lines(), offered_rules(RULES), CUSTOMERS, items=ITEMS)
    calls = build_call_list(opp, RULES, families=FAMILIES, options=opts)
    counts = dict(calls.rule_counts.select("rule_id", "opportunity_customers").iter_rows())
    listed = calls.table.select(pl.col("rule_ids").explode())["rule_ids"].value_counts()
    assert counts == {**dict.fromkeys(RULES["rule_id"], 0), **dict(listed.iter_rows())}
    assert counts["all-r3"] == 0  # a variant rule is offered to nobody by default


def test_without_families_no_family_rule_and_no_variant_filter() -> None:
    opp = find_opportunities(_lines(), offered_rules(RULES), CUSTOMERS, items=ITEMS)
    table = build_call_list(opp, RULES, families=None).table
    assert "all-f1" not in table["rule_ids"].explode().to_list()
    assert ("c3", "bag") not in _by_pair(table)


def test_stage_offers_cross_sell_to_recommendations_and_the_model() -> None:
    stage = run_opportunities(_lines(), RULES, CUSTOMERS, items=ITEMS, families=FAMILIES)
    used = set(stage.recommendations["rule_ids"].explode().to_list())
    assert used and used <= {"all-r1", "all-r2", "0-r1"}  # item-level cross-sell only
    assert set(stage.model.rules["rule_id"]) == {"all-r1", "all-r2", "0-r1"}
    assert stage.summary()["opportunities_by_kind"] == {"cross_sell": stage.call_list.table.height}
    with_variants = run_opportunities(
        _lines(),
        RULES,
        CUSTOMERS,
        items=ITEMS,
        families=FAMILIES,
        options=RecommendOptions(include_variants=True),
    )
    assert "all-r3" in set(with_variants.model.rules["rule_id"])
    counted = stage.with_rule_counts(RULES)
    assert counted["opportunity_customers"].to_list() == (
        stage.call_list.rule_counts["opportunity_customers"].to_list()
    )
    assert np.all(counted["opportunity_customers"].to_numpy() >= 0)


def test_options_are_validated() -> None:
    with pytest.raises(Exception, match="diversity must be in"):
        RecommendOptions(diversity=0.0).validate()
    assert RecommendOptions().diversity == 0.5 and not RecommendOptions().include_variants
