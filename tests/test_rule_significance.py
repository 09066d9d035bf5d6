"""The run's rule count comes from the data: the max_rules guard, productive-rule Fisher tests,
the customers behind a rule, and the account of what each step removed."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import hypergeom

from basketlens.config import run_mining_defaults
from basketlens.errors import ParameterError
from basketlens.mining import MiningOptions, mine_itemsets, to_basket_matrix
from basketlens.mining.customers import customer_counts, rule_customers
from basketlens.mining.mine import mine_rules
from basketlens.mining.pruning import productive_pvalues
from basketlens.mining.rules import count_rules, rule_filters
from basketlens.mining.thresholds import suggest_min_count

baskets_strategy = st.lists(
    st.sets(st.sampled_from("abcdef"), min_size=1, max_size=5).map(sorted),
    min_size=4,
    max_size=40,
)


def _fisher_upper(k: int, population: int, marked: int, drawn: int) -> float:
    return float(hypergeom.sf(k - 1, population, marked, drawn))


@settings(max_examples=40, deadline=None)
@given(baskets_strategy)
def test_productive_pvalues_match_fisher_against_every_generalisation(baskets) -> None:
    its = mine_itemsets(baskets, min_count=1)
    table = its.rules(min_confidence=0.0, max_len=4).table
    p = productive_pvalues(table, its)
    sets = [set(b) for b in baskets]
    n = len(sets)

    def count(items) -> int:
        return sum(1 for s in sets if set(items) <= s)

    for row, got in zip(table.iter_rows(named=True), p, strict=True):
        x, y = row["antecedent"], row["consequent"]
        want = _fisher_upper(count(x + y), n, count(x), count(y))
        if len(x) >= 2:  # also beat every rule with one left-hand item fewer
            for drop in x:
                g = [i for i in x if i != drop]
                want = max(want, _fisher_upper(count(x + y), count(g), count(x), count(g + y)))
        assert got == pytest.approx(want, abs=1e-9)


def test_productive_test_drops_an_item_that_adds_nothing() -> None:
    # c comes with a; b is on half the baskets either way, so {a, b} -> c is no better
    baskets = [["a", "b", "c"]] * 10 + [["a", "c"]] * 10 + [["b"]] * 10 + [["d"]] * 30
    its = mine_itemsets(baskets, min_count=1)
    rules = its.rules(min_confidence=0.5)
    kept = rules.significant(alpha=0.05, adjust="bh", test="productive", itemsets=its).table
    plain = rules.significant(alpha=0.05, adjust="bh").table
    to_c = pl.col("consequent") == ["c"]
    assert ["a", "b"] in plain.filter(to_c)["antecedent"].to_list()  # vs independence: kept
    assert kept.filter(to_c)["antecedent"].to_list() == [["a"]]
    with pytest.raises(ParameterError, match="needs the itemsets"):
        rules.significant(test="productive")


@settings(max_examples=40, deadline=None)
@given(baskets_strategy, st.data())
def test_customer_counts_match_a_brute_force(baskets, data) -> None:
    units = np.array(data.draw(st.lists(st.integers(0, 5), min_size=len(baskets),
                                        max_size=len(baskets))))  # fmt: skip
    matrix = to_basket_matrix(baskets)
    queries = [list(q) for k in (1, 2, 3) for q in itertools.combinations("abcdef", k)]
    got = customer_counts(matrix, units, queries)
    order = {b: i for i, b in enumerate(matrix.basket_ids or range(len(baskets)))}
    assert len(order) == len(baskets)
    for q, n in zip(queries, got, strict=True):
        want = {int(units[i]) for i, b in enumerate(baskets) if set(q) <= set(b)}
        assert n == len(want), q
    assert customer_counts(matrix, units, [["a", "zzz"]]).tolist() == [0]


def test_min_customers_drops_one_customers_habit() -> None:
    # customer 0 reorders x + y forty times; a + b is bought by twelve different customers
    baskets = [["x", "y"]] * 40 + [["a", "b"]] * 12 + [["a"], ["b"], ["x"], ["y"]] * 3
    units = np.array([0] * 40 + list(range(1, 13)) + list(range(13, 25)))
    rules = mine_rules(baskets, min_count=5, min_customers=10, units=units)
    assert sorted(map(tuple, rules.table["antecedent"].to_list())) == [("a",), ("b",)]
    assert rules.info["pruning"]["few_customers"] == 2
    counts = rule_customers(rules.table, to_basket_matrix(baskets), units)
    assert counts.tolist() == [12, 12]
    with pytest.raises(ParameterError, match="min_customers=10 needs the customer of each"):
        mine_rules(baskets, min_count=5, min_customers=10)
    assert len(mine_rules(baskets, min_count=5, min_customers=1)) == 4  # 1: no check


def test_guard_mines_at_the_lowest_count_within_max_rules() -> None:
    rng = np.random.default_rng(3)
    baskets = [sorted(set(rng.choice(list("abcdefghijkl"), size=rng.integers(2, 6)))) for _ in
               range(300)]  # fmt: skip
    matrix = to_basket_matrix(baskets)
    options = MiningOptions(target_rules=None, max_rules=60, min_confidence=0.4, max_len=3)
    search = suggest_min_count(matrix, options)
    counts = {
        mc: count_rules(mine_itemsets(matrix, min_count=mc, max_len=3), **rule_filters(options))
        for mc in range(2, 120)
    }
    lowest = min(mc for mc, n in counts.items() if n <= 60)
    assert counts[search.min_count] <= 60  # within the guard
    assert lowest <= search.min_count <= max(lowest + 1, int(lowest * 1.1) + 1)  # a tenth
    assert search.target_rules is None and search.max_rules == 60
    assert search.goal == "the most rules within max_rules=60"
    record = mine_rules(matrix, options).info["threshold_search"]
    assert record["goal"] == search.goal and record["min_count"] == search.min_count


def test_run_profile_accounts_for_every_rule_removed() -> None:
    rng = np.random.default_rng(5)
    baskets, units = [], []
    for b in range(600):
        basket = set(rng.choice(list("abcdefghij"), size=int(rng.integers(1, 5)), replace=False))
        if b % 4 == 0:
            basket |= {"k", "l"}
        baskets.append(sorted(basket))
        units.append(b % 50)
    options = run_mining_defaults()
    rules = mine_rules(baskets, options, units=np.array(units))
    pruning = rules.info["pruning"]
    removed = sum(pruning[k] for k in ("redundant", "not_significant", "few_customers"))
    assert pruning["candidates"] - removed - pruning["beyond_top"] == pruning["kept"] == len(rules)
    assert pruning["candidates"] > len(rules) > 0
    assert {("k",), ("l",)} <= set(map(tuple, rules.table["antecedent"].to_list()))
    assert rules.info["threshold_search"]["max_rules"] == options.max_rules
    # the library defaults stay exact and unpruned
    plain = mine_rules(
        baskets,
        min_count=rules.info["min_count"],
        max_len=options.max_len,
        min_confidence=options.min_confidence,
    )
    assert plain.info["pruning"]["kept"] == plain.info["pruning"]["candidates"]
    assert len(plain) == pruning["candidates"]
    assert set(pruning["seconds"]) == {"redundant", "significance", "customers"}


def test_options_can_switch_every_step_off() -> None:
    assert MiningOptions(significant=1.0).validate().significant == 1.0
    with pytest.raises(ParameterError, match="significance_test must be one of"):
        MiningOptions(significance_test="bayes").validate()
    with pytest.raises(ParameterError, match=r"give min_support, min_count or target_rules"):
        MiningOptions(target_rules=None).validate()
    MiningOptions(target_rules=None, max_rules=10).validate()
    baskets = [["a", "b"]] * 20 + [["a"]] * 20
    everything = mine_rules(baskets, min_count=2, significant=1.0)
    assert everything.info["pruning"]["not_significant"] == 0


@settings(max_examples=30, deadline=None)
@given(baskets_strategy, st.sampled_from(["bh", "holm", "none"]))
def test_capped_tests_decide_exactly_like_the_full_ones(baskets, adjust) -> None:
    from basketlens.mining.pruning import significant_mask

    its = mine_itemsets(baskets, min_count=1)
    rules = its.rules(min_confidence=0.0, max_len=4)
    full = significant_mask(productive_pvalues(rules.table, its), alpha=0.2, adjust=adjust)
    kept = rules.significant(alpha=0.2, adjust=adjust, test="productive", itemsets=its)
    assert (
        kept.table["rule_id"].to_list() == rules.table.filter(pl.Series(full))["rule_id"].to_list()
    )
    capped = productive_pvalues(rules.table, its, cap=0.2)
    exact = productive_pvalues(rules.table, its)
    assert ((capped == exact) | ((capped > 0.2) & (exact > 0.2))).all()
