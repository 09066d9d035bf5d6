"""Rule generation against a brute-force oracle, exact thresholds, the Rules API, golden."""

from __future__ import annotations

import re
import time
from fractions import Fraction
from itertools import combinations, pairwise

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basketlens.errors import ParameterError
from basketlens.mining.rules import COUNT_COLUMNS, Rules, count_rules, generate_rules
from basketlens.schema import RULES_BASE_SCHEMA

ITEMS = "abcdef"


class BruteItemsets:
    """A tiny pure-Python miner with the Itemsets contract (an oracle independent of ours).

    Codes run in reverse item order so results must not depend on the coding.
    """

    def __init__(self, baskets: list[set[str]], min_count: int) -> None:
        self.baskets = [frozenset(b) for b in baskets]
        self.n_baskets = len(baskets)
        self.min_count = min_count
        self.min_support = None
        self.info = {"algorithm": "brute", "target": "all"}
        self.vocabulary = tuple(sorted({i for b in baskets for i in b}, reverse=True))
        code = {v: i for i, v in enumerate(self.vocabulary)}
        self.frequent: dict[frozenset[str], int] = {}
        for k in range(1, len(self.vocabulary) + 1):
            for combo in combinations(self.vocabulary, k):
                z = frozenset(combo)
                c = sum(z <= b for b in self.baskets)
                if c >= min_count:
                    self.frequent[z] = c
        coded = [sorted(code[i] for i in z) for z in self.frequent]
        self.offsets = np.cumsum([0] + [len(c) for c in coded]).astype(np.int64)
        self.codes_flat = np.array([x for c in coded for x in c], dtype=np.int32)
        self.counts = np.array(list(self.frequent.values()), dtype=np.int64)
        self._by_codes = {tuple(c): n for c, n in zip(coded, self.counts, strict=True)}

    def frequent_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.codes_flat, self.offsets, self.counts

    def lookup_counts(self, flat: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        out = []
        for s, e in pairwise(offsets):
            key = tuple(sorted(flat[s:e].tolist()))
            out.append(self.n_baskets if not key else self._by_codes.get(key, -1))
        return np.array(out, dtype=np.int64)


def oracle_rules(
    its: BruteItemsets, min_conf: float, min_len: int = 2, cons_max: int | None = 1
) -> set[tuple]:
    t = Fraction(repr(min_conf))
    out = set()
    for z, n_ab in its.frequent.items():
        if len(z) < min_len:
            continue
        for c in range(1, len(z) + 1):
            if cons_max is not None and c > cons_max:
                continue
            for y in combinations(sorted(z), c):
                x = z - set(y)
                if not x and min_len > 1:
                    continue
                n_a = its.frequent[x] if x else its.n_baskets
                if Fraction(n_ab, n_a) >= t:
                    out.add((tuple(sorted(x)), y, n_ab, n_a, its.frequent[frozenset(y)]))
    return out


def as_set(rules: Rules) -> set[tuple]:
    rows = rules.table.select(
        "antecedent", "consequent", "both_count", "antecedent_count", "consequent_count"
    ).rows()
    return {(tuple(a), tuple(c), ab, na, nb) for a, c, ab, na, nb in rows}


baskets_st = st.lists(
    st.sets(st.sampled_from(ITEMS), min_size=0, max_size=5), min_size=1, max_size=18
)
conf_st = st.sampled_from([0.0, 0.1, 0.25, 0.3, 1 / 3, 0.4, 0.5, 0.6, 2 / 3, 0.7, 0.75, 1.0])


@settings(max_examples=80, deadline=None)
@given(
    baskets_st,
    st.integers(1, 3),
    conf_st,
    st.sampled_from([1, 2, 3]),
    st.sampled_from([1, 2, None]),
)
def test_rules_equal_brute_force(baskets, min_count, min_conf, min_len, cons_max) -> None:
    its = BruteItemsets(baskets, min_count)
    rules = generate_rules(
        its,
        min_confidence=min_conf,
        min_len=min_len,
        consequent_max_len=cons_max,
        measures=["confidence", "lift"],
    )
    expected = oracle_rules(its, min_conf, min_len, cons_max)
    assert as_set(rules) == expected
    assert (
        len(rules)
        == len(expected)
        == count_rules(its, min_confidence=min_conf, min_len=min_len, consequent_max_len=cons_max)
    )
    conf = rules.table["confidence"].to_numpy()
    assert np.all(conf <= 1.0) and np.all(conf >= min_conf - 1e-12)
    # lift is symmetric: lift(X -> Y) == lift(Y -> X) whenever both rules exist
    lifts = {
        (a, c): lift
        for a, c, lift in rules.table.select(
            pl.col("antecedent").list.join("|"), pl.col("consequent").list.join("|"), "lift"
        ).rows()
    }
    for (a, c), lift in lifts.items():
        if (c, a) in lifts:
            assert lifts[(c, a)] == pytest.approx(lift, rel=1e-12)


def test_rule_exactly_at_threshold_is_kept() -> None:
    # 'a' in 10 baskets; b in 3 of them (0.3), c in 7 (0.7), d in 5 (0.5)
    baskets = [
        {"a"}
        | ({"b"} if i < 3 else set())
        | ({"c"} if i < 7 else set())
        | ({"d"} if i % 2 else set())
        for i in range(10)
    ]
    its = BruteItemsets(baskets, 1)
    for thr, cons in ((0.3, "b"), (0.7, "c"), (0.5, "d")):
        r = generate_rules(its, min_confidence=thr)
        kept = {(tuple(a), tuple(c)) for a, c in r.table.select("antecedent", "consequent").rows()}
        assert (("a",), (cons,)) in kept, thr
        r2 = generate_rules(its, min_confidence=thr + 1e-9)
        kept2 = {
            (tuple(a), tuple(c)) for a, c in r2.table.select("antecedent", "consequent").rows()
        }
        assert (("a",), (cons,)) not in kept2, thr


def test_float_confidence_would_lose_this_tie() -> None:
    # found by search: (9/n)/(10/n) < 0.9 in floats for n = 1000, yet 9/10 == 0.9 exactly
    n_ab, n_a, n = 9, 10, 1000
    assert (n_ab / n) / (n_a / n) < 0.9
    baskets = [{"x", "y"}] * n_ab + [{"x"}] * (n_a - n_ab) + [{"z"}] * (n - n_a)
    r = generate_rules(BruteItemsets(baskets, 1), min_confidence=0.9)
    assert (["x"], ["y"]) in r.table.select("antecedent", "consequent").rows()


def test_min_lift_exact_tie_kept() -> None:
    # lift(a -> b) = 4 · 2 / (2 · 2) = 2 exactly
    baskets = [{"a", "b"}, {"a", "b"}, {"c"}, {"c"}]
    its = BruteItemsets(baskets, 1)
    assert len(generate_rules(its, min_confidence=0.0, min_lift=2.0)) == 2
    assert len(generate_rules(its, min_confidence=0.0, min_lift=2.0000001)) == 0


def test_empty_antecedent_rules_with_min_len_one() -> None:
    baskets = [{"a", "b"}, {"a"}, {"a"}, {"b"}]
    r = generate_rules(
        BruteItemsets(baskets, 1), min_confidence=0.5, min_len=1, measures=["confidence", "support"]
    )
    empty = r.table.filter(pl.col("antecedent").list.len() == 0)
    assert sorted(empty["consequent"].to_list()) == [["a"], ["b"]]
    assert set(empty["antecedent_count"].to_list()) == {4}
    np.testing.assert_allclose(empty["confidence"].to_numpy(), empty["support"].to_numpy())


def test_table_schema_ids_and_order() -> None:
    baskets = [{"a", "b", "c"}, {"a", "b"}, {"a", "c"}, {"b", "c"}, {"a"}, {"c", "d"}]
    r = generate_rules(BruteItemsets(baskets, 1), min_confidence=0.0)
    t = r.table
    base = [
        c for c in RULES_BASE_SCHEMA if c not in ("scope", "antecedent_names", "consequent_names")
    ]
    assert t.columns[: len(base)] == base
    assert all(t.schema[c] == RULES_BASE_SCHEMA[c] for c in base)
    assert t.columns[len(base) :] == [
        "support",
        "confidence",
        "lift",
        "leverage",
        "conviction",
        "zhangs_metric",
    ]
    assert t["rule_id"].to_list() == [f"r{i:06d}" for i in range(1, t.height + 1)]
    lift = t["lift"].to_numpy()
    assert np.all(np.diff(lift) <= 1e-15)
    assert set(t["baskets"].to_list()) == {6}
    assert all(a == sorted(a) for a in t["antecedent"].to_list())
    assert r.info["n_rules"] == t.height and r.info["n_baskets"] == 6
    assert r.info["measures"] == list(t.columns[len(base) :])


def test_max_rules_keeps_the_best_and_records_found() -> None:
    baskets = [{"a", "b", "c"}, {"a", "b"}, {"a", "c"}, {"b", "c"}, {"a"}, {"c", "d"}]
    its = BruteItemsets(baskets, 1)
    full = generate_rules(its, min_confidence=0.0, sort_by="confidence")
    top = generate_rules(its, min_confidence=0.0, sort_by="confidence", max_rules=3)
    assert top.table.drop("rule_id").equals(full.table.head(3).drop("rule_id"))
    assert top.info["n_rules_found"] == len(full) and len(top) == 3


def test_rules_methods() -> None:
    baskets = [{"a", "b", "c"}, {"a", "b"}, {"a", "c"}, {"b", "c"}, {"a"}, {"c", "d"}] * 3
    r = generate_rules(BruteItemsets(baskets, 2), min_confidence=0.0, measures=["lift"])
    assert r.measures == ("lift",)
    r2 = r.with_measures(["cosine", "lift"])
    assert r2.measures == ("lift", "cosine") and len(r2) == len(r)
    assert r2.info["steps"] == [{"with_measures": ["cosine"]}]
    f = r.filter(min_confidence=0.5)
    conf = f.table["both_count"] / f.table["antecedent_count"]
    assert (conf >= 0.5).all() and len(f) == int(
        ((r.table["both_count"] * 2) >= r.table["antecedent_count"]).sum()
    )
    assert set(f.table["rule_id"]) <= set(r.table["rule_id"])  # ids kept
    top = r.top(2, by="support")
    assert (
        len(top) == 2
        and top.table["both_count"].to_list()
        == sorted(r.table["both_count"].to_list(), reverse=True)[:2]
    )
    assert len(r.significant(alpha=1.0, adjust="none")) == len(r)
    assert len(r.significant(alpha=0.0, adjust="none")) == 0


def test_real_miner_agrees_with_brute_force() -> None:
    from basketlens.mining import mine_itemsets

    rng = np.random.default_rng(3)
    baskets = [
        set(rng.choice(list(ITEMS), size=rng.integers(1, 5), replace=False)) for _ in range(60)
    ]
    its = mine_itemsets([sorted(b) for b in baskets], min_count=3)
    for cons_max in (1, None):
        got = as_set(its.rules(min_confidence=0.4, consequent_max_len=cons_max))
        assert got == oracle_rules(BruteItemsets(baskets, 3), 0.4, 2, cons_max)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_confidence": 1.5}, "min_confidence must be in [0, 1]; got 1.5"),
        ({"min_lift": -1.0}, "min_lift must be in [0, inf); got -1.0"),
        ({"min_len": 0}, "min_len must be in [1, inf); got 0"),
        ({"max_len": 1}, "min_len must be <= max_len; got min_len=2, max_len=1"),
        ({"consequent_max_len": 0}, "consequent_max_len must be in [1, inf); got 0"),
        ({"measures": ["lfit"]}, "did you mean 'lift'?"),
        ({"sort_by": "lfit"}, "unknown measure 'lfit'"),
    ],
)
def test_parameter_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=re.escape(message)):
        generate_rules(BruteItemsets([{"a", "b"}], 1), **kwargs)


def test_no_rules_gives_empty_table_with_schema() -> None:
    r = generate_rules(BruteItemsets([{"a"}, {"b"}], 1), min_confidence=0.5)
    assert len(r) == 0
    assert r.table.columns[:7] == ["rule_id", "antecedent", "consequent", *COUNT_COLUMNS]
    assert r.table.schema["lift"] == pl.Float64


def test_golden_groceries(shared_path) -> None:
    path = shared_path("groceries", "groceries.csv.gz")
    from basketlens.mining import mine_itemsets, read_basket_file

    its = mine_itemsets(read_basket_file(path, sep=","), min_support=0.001)
    t0 = time.perf_counter()
    rules = its.rules(min_confidence=0.5)
    seconds = time.perf_counter() - t0
    assert len(rules) == 5668
    lengths = (rules.table["antecedent"].list.len() + 1).value_counts().sort("antecedent")
    assert dict(lengths.rows()) == {2: 11, 3: 1461, 4: 3211, 5: 939, 6: 46}
    assert round(rules.table["lift"].min(), 3) == 1.957
    assert len(its.rules(min_confidence=0.5, consequent_max_len=None)) == 5829
    assert seconds < 10
    # rules come from all frequent itemsets whatever target was mined
    for target in ("closed", "maximal"):
        other = mine_itemsets(read_basket_file(path, sep=","), min_support=0.001, target=target)
        assert other.rules(min_confidence=0.5).table.equals(rules.table)


def test_numpy_order_equals_table_sort_and_nulls_not_nan() -> None:
    baskets = [{"a", "b", "c"}, {"a", "b"}, {"a", "c"}, {"b", "c"}, {"a", "e"}, {"c", "d"}, {"d"}]
    for sort_by in ("lift", "conviction", "support", "both_count", None):
        r = generate_rules(
            BruteItemsets(baskets, 1),
            min_confidence=0.0,
            min_len=1,
            consequent_max_len=None,
            sort_by=sort_by,
        )
        assert r.top(len(r), by=sort_by or "both_count").table.equals(r.table)
    t = r.table
    assert t["conviction"].null_count() == int((t["both_count"] == t["antecedent_count"]).sum())
    assert t["conviction"].null_count() > 0 and t["conviction"].is_nan().sum() == 0
