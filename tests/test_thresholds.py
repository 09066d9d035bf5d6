"""Threshold search on integer counts and the mine_rules convenience."""

from __future__ import annotations

import numpy as np
import pytest

from basketlens.errors import MiningBudgetError, ParameterError
from basketlens.mining import mine_itemsets, to_basket_matrix
from basketlens.mining.mine import mine_rules
from basketlens.mining.rules import count_rules, generate_rules, rule_splits
from basketlens.mining.thresholds import suggest_min_count


@pytest.fixture(scope="module")
def matrix():
    """400 baskets over 30 items with skewed popularity and two planted bundles."""
    rng = np.random.default_rng(11)
    weights = 1 / np.arange(1, 31) ** 0.8
    weights /= weights.sum()
    items = [f"i{j:02d}" for j in range(30)]
    baskets = []
    for b in range(400):
        size = int(rng.integers(1, 7))
        basket = set(rng.choice(items, size=size, replace=False, p=weights).tolist())
        if b % 5 == 0:
            basket |= {"i10", "i11", "i12"}
        if b % 7 == 0:
            basket |= {"i20", "i21"}
        baskets.append(sorted(basket))
    return to_basket_matrix(baskets)


def n_rules_at(matrix, min_count: int, conf: float = 0.5) -> int:
    return count_rules(mine_itemsets(matrix, min_count=min_count), min_confidence=conf)


@pytest.mark.parametrize("target", [10, 60, 250])
def test_search_finds_the_boundary(matrix, target: int) -> None:
    s = suggest_min_count(matrix, target_rules=target, min_confidence=0.5)
    got = n_rules_at(matrix, s.min_count)
    assert s.n_rules == got
    above, below = n_rules_at(matrix, s.min_count - 1), n_rules_at(matrix, s.min_count + 1)
    if got >= target:  # the highest count reaching the target ...
        assert below < target
        assert got <= 1.5 * target or abs(got - target) <= abs(below - target)
    else:  # ... or the next one, when that is nearer
        assert above >= target and abs(got - target) < abs(above - target)
    probe_counts = [p.min_count for p in s.probes]
    assert probe_counts == sorted(set(probe_counts)) and s.min_count in probe_counts
    assert all(p.seconds >= 0 and not p.budget_exceeded for p in s.probes)
    assert s.min_support == pytest.approx(s.min_count / 400)
    assert s.to_dict()["probes"][0]["min_count"] == probe_counts[0]


def test_budget_hits_count_as_too_many(matrix) -> None:
    s = suggest_min_count(matrix, target_rules=10_000, min_confidence=0.0, max_itemsets=60)
    hit = [p for p in s.probes if p.budget_exceeded]
    assert hit and all(p.n_rules is None for p in hit)
    assert len(mine_itemsets(matrix, min_count=s.min_count)) <= 60
    assert s.min_count > max(p.min_count for p in hit)


def test_unreachable_target_notes_it(matrix) -> None:
    s = suggest_min_count(matrix, target_rules=10**9, min_count_bounds=(40, 80))
    assert s.min_count == 40 and "fewer than" in s.note


def test_parameter_errors(matrix) -> None:
    with pytest.raises(ParameterError, match=r"target_rules must be in \[1, inf\); got 0"):
        suggest_min_count(matrix, target_rules=0)
    with pytest.raises(ParameterError, match="low <= high"):
        suggest_min_count(matrix, target_rules=5, min_count_bounds=(9, 3))
    with pytest.raises(ParameterError, match="give min_support, min_count or target_rules"):
        mine_rules(matrix, target_rules=None)
    with pytest.raises(MiningBudgetError):
        suggest_min_count(matrix, target_rules=5, min_count_bounds=(2, 2), max_itemsets=3)


def test_mine_rules_with_and_without_support(matrix) -> None:
    fixed = mine_rules(matrix, min_count=20, min_confidence=0.6, measures=["lift"])
    direct = mine_itemsets(matrix, min_count=20).rules(min_confidence=0.6, measures=["lift"])
    assert fixed.table.equals(direct.table) and fixed.info["threshold_search"] is None
    searched = mine_rules(matrix, target_rules=30, min_confidence=0.5)
    record = searched.info["threshold_search"]
    assert record["target_rules"] == 30 and searched.info["min_count"] == record["min_count"]
    assert len(searched) == record["n_rules"]


def _as_set(its) -> dict[tuple[str, ...], int]:
    return {tuple(row[0]): row[1] for row in its.table.select("itemset", "count").iter_rows()}


@pytest.mark.parametrize("low, high", [(2, 2), (2, 9), (5, 40), (3, 400)])
def test_itemsets_at_a_higher_count_are_those_mined_there(matrix, low: int, high: int) -> None:
    derived = mine_itemsets(matrix, min_count=low).at_least(high)
    mined = mine_itemsets(matrix, min_count=high)
    assert _as_set(derived) == _as_set(mined)
    assert derived.table.equals(mined.table)
    assert len(derived) == derived.info["n_itemsets"] and derived.min_count == high
    rules_derived = derived.rules(min_confidence=0.4).table.drop("rule_id", strict=False)
    rules_mined = mined.rules(min_confidence=0.4).table.drop("rule_id", strict=False)
    assert rules_derived.equals(rules_mined)


def test_at_least_refuses_a_lower_count_or_closed_itemsets(matrix) -> None:
    with pytest.raises(ParameterError, match="min_count >= 5; got target='all', min_count=4"):
        mine_itemsets(matrix, min_count=5).at_least(4)
    with pytest.raises(ParameterError, match="target='closed'"):
        mine_itemsets(matrix, min_count=5, target="closed").at_least(6)


@pytest.mark.parametrize("goal", [{"target_rules": 60}, {"target_rules": None, "max_rules": 80}])
def test_search_hands_over_the_itemsets_of_its_choice(matrix, goal: dict) -> None:
    """The final rules reuse the chosen probe's itemsets: they must be what mining at the
    chosen count gives, and the walk down must be the only mining (bisection probes are read
    off the lowest count mined)."""
    s = suggest_min_count(matrix, min_confidence=0.5, **goal)
    assert s.itemsets is not None
    assert _as_set(s.itemsets) == _as_set(mine_itemsets(matrix, min_count=s.min_count))
    assert "itemsets" not in s.to_dict()
    by_count = {p.min_count: p for p in s.probes}
    assert by_count[s.min_count].n_itemsets == len(s.itemsets)
    for p in s.probes:  # every probe's counts are those of mining at its count
        assert p.n_rules == n_rules_at(matrix, p.min_count)


@pytest.mark.parametrize(("low", "high"), [(2, 2), (3, 9), (5, 40), (8, 81)])
@pytest.mark.parametrize("conf", [0.0, 0.3, 0.8])
def test_splits_at_a_higher_count_are_those_of_that_count(matrix, low, high, conf) -> None:
    """The search splits the lowest itemsets once and reads every higher count off them: the
    same candidates, so the same count and the same rules table as splitting again."""
    filters = {"min_confidence": conf, "min_lift": 1.0, "max_len": 4}
    at_high = mine_itemsets(matrix, min_count=high, max_len=4)
    read_off = rule_splits(mine_itemsets(matrix, min_count=low, max_len=4), **filters)
    read_off = read_off.at_least(high)
    assert len(read_off) == count_rules(at_high, **filters)
    fresh = generate_rules(at_high, **filters).table
    reused = generate_rules(at_high, **filters, splits=read_off).table
    assert reused.equals(fresh)


def test_search_reuses_its_splits_for_the_final_rules(matrix) -> None:
    options = {"target_rules": None, "max_rules": 80, "min_confidence": 0.3, "max_len": 4}
    s = suggest_min_count(matrix, **options)
    assert s.splits is not None and len(s.splits) == s.n_rules
    assert "splits" not in s.to_dict() and "itemsets" not in s.to_dict()
    mined = mine_rules(matrix, **options, prune_redundant=False)
    at = mine_itemsets(matrix, min_count=s.min_count, max_len=4)
    assert mined.table.equals(generate_rules(at, min_confidence=0.3, max_len=4).table)


def _probe_record(s) -> list[tuple]:
    return [(p.min_count, p.n_itemsets, p.n_rules, p.budget_exceeded) for p in s.probes]


@pytest.mark.parametrize("max_rules", [5, 30, 80, 200, 600, 5000])
def test_mining_ahead_leaves_the_guard_search_as_it_was(matrix, max_rules, monkeypatch) -> None:
    """The walk down may mine a lower count ahead (_look_ahead) and read the next probes off
    it: the same probes, the same choice, the same itemsets — only fewer kernel runs."""
    from basketlens.mining import thresholds
    from basketlens.mining.counts import MatrixCounts

    options = {"target_rules": None, "max_rules": max_rules, "min_confidence": 0.2}
    runs: list[int] = []
    real = MatrixCounts.itemsets

    def counted(self, **kw):
        runs.append(kw["min_count"])
        return real(self, **kw)

    monkeypatch.setattr(MatrixCounts, "itemsets", counted)
    counts = MatrixCounts(matrix)
    ahead = suggest_min_count(counts, **options)
    with_ahead = list(runs)
    runs.clear()
    monkeypatch.setattr(thresholds, "_look_ahead", lambda *a, **k: None)
    plain = suggest_min_count(counts, **options)
    assert _probe_record(ahead) == _probe_record(plain)
    assert (ahead.min_count, ahead.n_rules, ahead.note) == (
        plain.min_count,
        plain.n_rules,
        plain.note,
    )
    assert ahead.itemsets.table.equals(plain.itemsets.table)
    assert len(with_ahead) <= len(runs)
    if max_rules >= 200:  # these walks mine ahead (one kernel run fewer)
        assert len(with_ahead) < len(runs)


def test_look_ahead_mines_half_of_a_step_expected_to_fit() -> None:
    from basketlens.mining.thresholds import ThresholdProbe, _look_ahead

    before = ThresholdProbe(400, 100, 50, False, 0.0)
    now = ThresholdProbe(200, 400, 400, False, 0.0)  # rules x8, itemsets x4 per halving
    assert _look_ahead(before, now, 100, 2, max_rules=5000) == (50, 2 * 400 * 16 + 1)
    assert _look_ahead(before, now, 100, 2, max_rules=3000) is None  # 100 would not fit
    assert _look_ahead(before, now, 100, 2, max_rules=30_000) == (50, 2 * 400 * 16 + 1)
    assert _look_ahead(before, now, 2, 2, max_rules=30_000) is None  # nothing below lo
    assert _look_ahead(ThresholdProbe(400, 10, 0, False, 0.0), now, 100, 2, 5000) is None
