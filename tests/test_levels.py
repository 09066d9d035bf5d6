"""Multi-level rules (Srikant & Agrawal 1995): families and categories above the items, parent
and mirror links, and what run_mining adds to every rule."""

from __future__ import annotations

import numpy as np
import polars as pl

from basketlens.mining import MiningOptions, run_mining, to_basket_matrix
from basketlens.mining.levels import group_matrix, mirror_ids, parent_ids


def _cheese_and_wine() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Six cheeses and six wines: every cheese basket takes some wine, but each cheese-wine
    pair is too rare to be a rule; the two bestsellers Brie and Bordeaux are frequent."""
    cheeses = ["brie", "comte", "morbier", "roquefort", "gouda", "feta"]
    wines = ["bordeaux", "chablis", "rioja", "chianti", "porto", "tokaji"]
    rng = np.random.default_rng(0)
    rows = []
    for b in range(400):
        unit = f"u{b % 40}"
        if b % 2 == 0:
            c = "brie" if b % 8 == 0 else cheeses[int(rng.integers(1, 6))]
            w = "bordeaux" if b % 8 == 0 else wines[int(rng.integers(1, 6))]
            rows += [(f"B{b}", c, unit), (f"B{b}", w, unit)]
        else:
            rows += [(f"B{b}", "bread", unit)]
            if b % 3 == 0:
                rows.append((f"B{b}", "butter", unit))
    lines = pl.DataFrame(rows, schema=["basket", "item", "unit"], orient="row")
    category = {**dict.fromkeys(cheeses, "Cheese"), **dict.fromkeys(wines, "Wine")}
    category |= {"bread": "Bakery", "butter": "Dairy"}
    items = pl.DataFrame(
        {
            "item": list(category),
            "item_name": [i.title() for i in category],
            "category": list(category.values()),
        }
    )
    return lines, items


def test_category_rule_found_when_no_item_pair_is_frequent() -> None:
    lines, items = _cheese_and_wine()
    options = MiningOptions(min_count=30, min_confidence=0.5, generalised=True)
    result = run_mining(lines, None, options, items)
    rules = result.rules.table
    category = rules.filter(pl.col("level") == "category")
    pair = category.filter(
        (pl.col("antecedent") == ["category:Cheese"]) & (pl.col("consequent") == ["category:Wine"])
    )
    assert pair.height == 1 and pair["antecedent_names"].to_list() == [["Cheese"]]
    assert pair["rule_id"].item().startswith("all-c")
    assert pair["kind"].item() == "cross_sell"
    # underneath it: the one frequent pair, Brie -> Bordeaux, points up to it
    items_level = rules.filter(pl.col("level") == "item")
    brie = items_level.filter(pl.col("antecedent") == ["brie"])
    assert brie["consequent"].to_list() == [["bordeaux"]]
    assert brie["parent_rule_id"].item() == pair["rule_id"].item()
    # every other cheese -> wine pair is below min_count at the item level
    assert not items_level.filter(pl.col("antecedent") == ["comte"]).height
    assert set(result.info["levels"]) == {"category"}  # names share no words: no families
    assert result.info["kinds"]["category"]["cross_sell"] == category.height


def test_without_generalised_only_item_rules() -> None:
    lines, items = _cheese_and_wine()
    result = run_mining(lines, None, MiningOptions(min_count=30), items)
    assert result.rules.table["level"].unique().to_list() == ["item"]
    assert result.info["levels"] == {}


def test_family_rules_generalise_brand_variants_and_skip_repeats() -> None:
    # steak and buns come in two brands each; each brand pair alone is too rare
    rows = []
    for b in range(300):
        unit = f"u{b % 30}"
        if b % 3 == 0:
            s, bun = ("steak_a", "bun_a") if b % 2 else ("steak_b", "bun_b")
            rows += [(f"B{b}", s, unit), (f"B{b}", bun, unit)]
        else:
            rows += [(f"B{b}", "salt", unit), (f"B{b}", "pepper", unit)]
    lines = pl.DataFrame(rows, schema=["basket", "item", "unit"], orient="row")
    items = pl.DataFrame(
        {
            "item": ["steak_a", "steak_b", "bun_a", "bun_b", "salt", "pepper"],
            "item_name": [
                "Steak haché LS",
                "Steak haché Prix Pro",
                "Pain burger LS",
                "Pain burger Prix Pro",
                "Sel fin",
                "Poivre",
            ],
            "brand": ["LS", "Prix Pro", "LS", "Prix Pro", None, None],
        }
    )
    options = MiningOptions(min_count=60, min_confidence=0.5, generalised=True)
    result = run_mining(lines, None, options, items)
    rules = result.rules.table
    family = rules.filter(pl.col("level") == "family")
    assert sorted(family["antecedent_names"].to_list()) == [["Pain burger"], ["Steak haché"]]
    assert family["rule_id"].str.starts_with("all-f").all()
    # salt <-> pepper holds for single-item families: it is an item rule, not repeated above
    assert rules.filter(pl.col("antecedent") == ["salt"])["level"].to_list() == ["item"]
    assert result.info["levels"]["family"]["repeats_item_rules"] == 2
    # a rule and its mirror know each other
    steak = family.filter(pl.col("antecedent_names") == ["Steak haché"]).row(0, named=True)
    bun = family.filter(pl.col("antecedent_names") == ["Pain burger"]).row(0, named=True)
    assert steak["mirror_rule_id"] == bun["rule_id"] and bun["mirror_rule_id"] == steak["rule_id"]


def test_group_matrix_merges_items_of_a_group_within_a_basket() -> None:
    m = to_basket_matrix([["a1", "a2", "b"], ["b"], ["c"]])
    g = group_matrix(m, {"a1": "A", "a2": "A", "b": "B"})
    assert g.items == ("A", "B")
    assert g.n_baskets == 3 and g.item_counts().tolist() == [1, 2]


def test_parent_ids_link_each_level_to_the_one_above() -> None:
    rules = pl.DataFrame(
        {
            "rule_id": ["all-r1", "all-r2", "0-r1", "all-f1", "0-f1", "all-c1"],
            "scope": ["all", "all", "0", "all", "0", "all"],
            "level": ["item", "item", "item", "family", "family", "category"],
            "antecedent": [["a1"], ["a1", "a2"], ["a2"], ["F:a"], ["F:a"], ["C:x"]],
            "consequent": [["b1"], ["b1"], ["b1"], ["F:b"], ["F:b"], ["C:y"]],
        }
    )
    groups = {
        "family": {"a1": "F:a", "a2": "F:a", "b1": "F:b"},
        "category": {"a1": "C:x", "a2": "C:x", "b1": "C:y"},
    }
    assert parent_ids(rules, groups).to_list() == [
        "all-f1",
        "all-f1",  # a1 + a2 are both of family a
        "0-f1",  # same scope only
        "all-c1",
        None,
        None,
    ]


def test_mirror_ids_within_scope_and_level() -> None:
    rules = pl.DataFrame(
        {
            "rule_id": ["1", "2", "3", "4"],
            "scope": ["all", "all", "0", "all"],
            "level": ["item"] * 4,
            "antecedent": [["a"], ["b"], ["b"], ["a", "c"]],
            "consequent": [["b"], ["a"], ["a"], ["b"]],
        }
    )
    assert mirror_ids(rules).to_list() == ["2", "1", None, None]
