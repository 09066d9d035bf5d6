"""Per-scope item support and rules on one shared vocabulary."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from basketlens.errors import ParameterError
from basketlens.mining import mine_itemsets, to_basket_matrix
from basketlens.mining.scopes import item_support, mine_scopes
from basketlens.schema import ITEM_SUPPORT_SCHEMA, RULES_BASE_SCHEMA


@pytest.fixture(scope="module")
def matrix():
    rng = np.random.default_rng(5)
    items = list("abcdefgh")
    baskets = []
    for b in range(240):
        basket = set(rng.choice(items, size=int(rng.integers(1, 5)), replace=False).tolist())
        if b < 120 and b % 3 == 0:
            basket |= {"a", "b"}  # planted in segment 0
        if b >= 120 and b % 4 == 0:
            basket |= {"g", "h"}  # planted in segment 1
        baskets.append(sorted(basket))
    return to_basket_matrix(baskets)


SCOPES = {0: np.arange(0, 120), 1: np.arange(120, 240), "tiny": np.array([3, 7, 9])}


def test_item_support_hand_example() -> None:
    m = to_basket_matrix([["b", "a"], ["a"], ["c"], ["b"], ["a", "b"]])
    t = item_support(m, {"s": np.array([0, 3, 4])}, item_names={"a": "Apple", "b": "Bread"})
    assert t.schema == ITEM_SUPPORT_SCHEMA
    assert t.rows() == [
        ("all", "a", "Apple", 3, 0.6, 1),
        ("all", "b", "Bread", 3, 0.6, 2),  # tie broken by item id
        ("all", "c", None, 1, 0.2, 3),
        ("s", "b", "Bread", 3, 1.0, 1),
        ("s", "a", "Apple", 2, 2 / 3, 2),
    ]


def test_item_support_matches_subset_counts(matrix) -> None:
    t = item_support(matrix, SCOPES)
    assert t["scope"].unique(maintain_order=True).to_list() == ["all", "0", "1", "tiny"]
    for scope, rows in {"all": np.arange(240), **{str(k): v for k, v in SCOPES.items()}}.items():
        part = t.filter(pl.col("scope") == scope)
        counts = matrix.subset(rows).item_counts()
        expected = {matrix.items[i]: int(c) for i, c in enumerate(counts) if c}
        assert dict(part.select("item", "baskets").rows()) == expected
        assert part["rank"].to_list() == list(range(1, part.height + 1))
        np.testing.assert_allclose(part["support"], part["baskets"] / len(rows))


def test_each_scope_equals_mining_that_subset_alone(matrix) -> None:
    s = mine_scopes(
        matrix, SCOPES, min_support=0.1, min_confidence=0.4, measures=["lift"], n_jobs=2
    )
    assert s.table.columns[:4] == ["rule_id", "scope", "antecedent", "consequent"]
    assert s.table.schema["scope"] == RULES_BASE_SCHEMA["scope"]
    for scope, rows in (("all", np.arange(240)), ("0", SCOPES[0]), ("1", SCOPES[1])):
        alone = mine_itemsets(matrix.subset(rows), min_support=0.1).rules(
            min_confidence=0.4, measures=["lift"]
        )
        got = s.table.filter(pl.col("scope") == scope)
        assert got.drop("rule_id", "scope").equals(alone.table.drop("rule_id"))
        assert got["rule_id"].to_list() == [f"{scope}-{r}" for r in alone.table["rule_id"]]
        assert s.info["scopes"][scope]["n_rules"] == got.height
    # planted bundles show up in their own segment
    pairs = set(s.table.filter(pl.col("scope") == "0")["antecedent"].list.join(",").to_list())
    assert {"a", "b"} <= pairs
    assert s.rules["0"] is not None and s.rules["0"].info["itemsets"]["fingerprint"]


def test_scopes_share_the_vocabulary(matrix) -> None:
    s = mine_scopes(matrix, SCOPES, min_count=10, min_confidence=0.3)
    vocab = set(matrix.items)
    items = set(s.table["antecedent"].explode().to_list()) | set(
        s.table["consequent"].explode().to_list()
    )
    assert items <= vocab
    for r in s.rules.values():
        if r is not None:
            assert r.info["itemsets"]["n_items"] == len(matrix.items)


def test_tiny_scope_gets_a_note_not_an_error(matrix) -> None:
    s = mine_scopes(matrix, SCOPES, min_count=10, min_scope_baskets=10)
    assert s.rules["tiny"] is None
    assert s.info["scopes"]["tiny"]["n_rules"] == 0
    assert "3 baskets" in s.info["scopes"]["tiny"]["note"]
    assert s.table.filter(pl.col("scope") == "tiny").height == 0


def test_threads_give_the_same_result(matrix) -> None:
    one = mine_scopes(matrix, SCOPES, target_rules=15, n_jobs=None)
    two = mine_scopes(matrix, SCOPES, target_rules=15, n_jobs=2)
    assert one.table.equals(two.table) and two.info["n_jobs"] == 2
    assert one.info["scopes"]["0"]["rules"]["threshold_search"]["target_rules"] == 15


def test_scope_errors(matrix) -> None:
    with pytest.raises(ParameterError, match="'all' is reserved"):
        mine_scopes(matrix, {"all": [1, 2]}, min_count=5)
    with pytest.raises(ParameterError, match=r"scope 'x': rows must be in \[0, 240\); got row 240"):
        item_support(matrix, {"x": [0, 240]})
    with pytest.raises(ParameterError, match="rows must be unique"):
        item_support(matrix, {"x": [1, 1]})
    with pytest.raises(ParameterError, match="give min_support, min_count or target_rules"):
        mine_scopes(matrix, SCOPES, target_rules=None)
    with pytest.raises(ParameterError, match=r"n_jobs must be in \[1, inf\); got 0"):
        mine_scopes(matrix, SCOPES, min_count=5, n_jobs=0)
