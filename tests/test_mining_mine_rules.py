"""``mine_rules``: one MiningOptions for every step, the same filters in the threshold search."""

from __future__ import annotations

import numpy as np
import pytest

from basketlens.errors import MiningBudgetError, ParameterError
from basketlens.mining import MiningOptions, mine_itemsets, to_basket_matrix
from basketlens.mining.mine import mine_rules
from basketlens.mining.rules import count_rules, rule_filters
from basketlens.mining.thresholds import suggest_min_count


@pytest.fixture(scope="module")
def matrix():
    """500 baskets over 25 items with a planted triple (x, y, z) and a planted pair (p, q)."""
    rng = np.random.default_rng(21)
    items = [f"i{j:02d}" for j in range(20)] + ["p", "q", "x", "y", "z"]
    weights = 1 / np.arange(1, 26) ** 0.7
    weights /= weights.sum()
    baskets = []
    for b in range(500):
        basket = set(rng.choice(items, size=int(rng.integers(1, 6)), replace=False, p=weights))
        if b % 6 == 0:
            basket |= {"x", "y", "z"}
        if b % 9 == 0:
            basket |= {"p", "q"}
        baskets.append(sorted(basket))
    return to_basket_matrix(baskets)


def test_options_object_and_changes_are_the_same_call(matrix) -> None:
    options = MiningOptions(min_count=15, min_confidence=0.4, measures=("lift", "leverage"))
    by_object = mine_rules(matrix, options)
    by_names = mine_rules(matrix, min_count=15, min_confidence=0.4, measures=["lift", "leverage"])
    overridden = mine_rules(matrix, options, min_confidence=0.6)
    assert by_object.table.equals(by_names.table)
    assert by_object.table.columns[-2:] == ["lift", "leverage"]
    filtered = by_object.filter(min_confidence=0.6)
    assert 0 < len(overridden) < len(by_object)
    assert overridden.table.drop("rule_id").equals(filtered.table.drop("rule_id"))


def test_default_options_are_the_library_defaults(matrix) -> None:
    defaults = MiningOptions()
    assert defaults.max_len is None and defaults.searches_threshold
    rules = mine_rules(matrix)
    search = rules.info["threshold_search"]
    assert search["target_rules"] == defaults.target_rules
    assert rules.info["max_len"] is None and rules.info["min_confidence"] == 0.5
    assert len(rules) == search["n_rules"]


@pytest.mark.parametrize(
    "filters",
    [
        {"min_lift": 3.0},
        {"min_len": 3},
        {"consequent_max_len": None},
        {"max_len": 2, "min_confidence": 0.2},
    ],
)
def test_threshold_search_counts_the_rules_that_are_kept(matrix, filters: dict) -> None:
    """Regression: the search of `basketlens mine` counted rules without --min-lift, min_len
    and consequent_max_len, so it chose a threshold for rules that were then filtered away."""
    rules = mine_rules(matrix, target_rules=40, **filters)
    search = rules.info["threshold_search"]
    assert len(rules) == search["n_rules"]
    options = MiningOptions(target_rules=40, **filters)
    its = mine_itemsets(matrix, min_count=search["min_count"], max_len=options.max_len)
    assert count_rules(its, **rule_filters(options)) == len(rules)
    # the filter matters: without it the search would have counted more rules here
    unfiltered = count_rules(its, **rule_filters(MiningOptions(target_rules=40)))
    assert unfiltered != len(rules)


def test_steps_run_in_order_prune_significant_top(matrix) -> None:
    options = MiningOptions(
        min_count=10,
        min_confidence=0.2,
        prune_redundant=True,
        significant=0.05,
        adjust="bh",
        top=7,
        sort_by="leverage",
    )
    got = mine_rules(matrix, options)
    base = mine_itemsets(matrix, min_count=10).rules(min_confidence=0.2, sort_by="leverage")
    expected = base.prune_redundant().significant(alpha=0.05, adjust="bh").top(7, by="leverage")
    assert got.table.equals(expected.table)
    assert [next(iter(s)) for s in got.info["steps"]] == ["prune_redundant", "significant", "top"]
    assert len(got) == 7 and got.table["leverage"].is_sorted(descending=True)


def test_unknown_and_invalid_options_are_refused_before_mining(matrix) -> None:
    with pytest.raises(
        ParameterError, match=r"unknown key 'min_suport'.*did you mean 'min_support'"
    ):
        mine_rules(matrix, min_suport=0.1)
    with pytest.raises(ParameterError, match=r"min_support must be in \(0, 1\]; got 1.5"):
        mine_rules(matrix, min_support=1.5)
    with pytest.raises(ParameterError, match="give min_support or min_count, not both"):
        mine_rules(matrix, min_support=0.1, min_count=3)
    with pytest.raises(ParameterError, match="min_len must be <= max_len"):
        mine_rules(matrix, min_count=3, min_len=4, max_len=3)
    with pytest.raises(ParameterError, match="sort_by has unknown value 'lfit'"):
        mine_rules(matrix, min_count=3, sort_by="lfit")
    with pytest.raises(ParameterError, match="adjust must be one of"):
        mine_rules(matrix, min_count=3, significant=0.05, adjust="sidak")
    with pytest.raises(ParameterError, match="give min_support, min_count or target_rules"):
        mine_rules(matrix, target_rules=None)
    with pytest.raises(MiningBudgetError, match="max_itemsets=5"):
        mine_rules(matrix, min_count=2, max_itemsets=5)


def test_suggest_min_count_takes_the_same_options(matrix) -> None:
    options = MiningOptions(target_rules=25, min_lift=2.0)
    by_object = suggest_min_count(matrix, options)
    by_names = suggest_min_count(matrix, target_rules=25, min_lift=2.0)

    def key(s):
        return s.min_count, s.n_rules, [(p.min_count, p.n_rules) for p in s.probes]

    assert key(by_object) == key(by_names)
    assert by_object.n_rules == count_rules(
        mine_itemsets(matrix, min_count=by_object.min_count), min_lift=2.0
    )
    with pytest.raises(ParameterError, match="target_rules must be an int"):
        suggest_min_count(matrix, options, target_rules=None, min_count=4)
