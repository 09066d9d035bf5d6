"""Redundancy pruning against a brute-force definition; p-value adjustments by hand/scipy."""

from __future__ import annotations

from fractions import Fraction
from unittest.mock import patch

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import false_discovery_control

from basketlens.errors import InputError, ParameterError
from basketlens.mining import mine_itemsets, pruning
from basketlens.mining.pruning import adjust_pvalues, redundant_mask, significant_mask


def brute_redundant(table: pl.DataFrame) -> list[bool]:
    rows = table.select("antecedent", "consequent", "both_count", "antecedent_count").rows()
    out = []
    for x, y, ab, a in rows:
        conf = Fraction(ab, a)
        out.append(
            any(
                y2 == y and set(x2) < set(x) and Fraction(ab2, a2) >= conf
                for x2, y2, ab2, a2 in rows
            )
        )
    return out


def rules_table(antecedents, consequents, n_a, n_ab) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "antecedent": antecedents,
            "consequent": consequents,
            "antecedent_count": n_a,
            "both_count": n_ab,
        },
        schema_overrides={"antecedent": pl.List(pl.String)},
    )


def test_hand_example_all_subsets_not_only_parents() -> None:
    # {a} -> z (conf 0.8) makes {a, b, c} -> z (0.75) redundant although {a, b} -> z is absent;
    # {a, b, d} -> z (0.9) beats every subset present; {b} -> y has another consequent.
    t = rules_table(
        [["a"], ["a", "b", "c"], ["a", "b", "d"], ["b"], ["b", "c"]],
        [["z"], ["z"], ["z"], ["y"], ["z"]],
        [10, 8, 10, 10, 10],
        [8, 6, 9, 10, 9],
    )
    assert redundant_mask(t).tolist() == [False, True, False, False, False]


def test_equal_confidence_is_redundant_and_empty_antecedent_counts() -> None:
    t = rules_table([[], ["a"], ["a", "b"]], [["z"], ["z"], ["z"]], [20, 10, 4], [10, 5, 3])
    # {} -> z: 0.5; {a} -> z: 0.5 (improvement 0: redundant); {a,b} -> z: 0.75
    assert redundant_mask(t).tolist() == [False, True, False]


def test_multi_item_consequents_compared_as_a_whole() -> None:
    t = rules_table(
        [["a"], ["a", "b"], ["a", "b"]], [["y", "z"], ["y", "z"], ["z"]], [10, 5, 5], [9, 4, 5]
    )
    assert redundant_mask(t).tolist() == [False, True, False]


def test_missing_columns_error() -> None:
    with pytest.raises(InputError, match="both_count"):
        redundant_mask(
            pl.DataFrame({"antecedent": [["a"]], "consequent": [["b"]], "antecedent_count": [1]})
        )


baskets_st = st.lists(
    st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=6, unique=True),
    min_size=4,
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(baskets_st, st.integers(1, 3), st.sampled_from([1, 2, None]), st.integers(0, 2**32 - 1))
def test_redundant_equals_brute_force(baskets, min_count, cons_max, seed) -> None:
    rules = mine_itemsets(baskets, min_count=min_count).rules(
        min_confidence=0.0, min_len=1, consequent_max_len=cons_max, measures=["confidence"]
    )
    # drop a random third of the rules so more general rules are sometimes missing
    keep = np.random.default_rng(seed).random(len(rules)) > 0.33
    table = rules.table.filter(pl.Series(keep))
    expected = brute_redundant(table)
    assert redundant_mask(table).tolist() == expected
    with patch.object(pruning, "_MAX_KEY", 0):  # the Polars-join fallback agrees
        assert redundant_mask(table).tolist() == expected
    pruned = rules.prune_redundant()
    assert len(pruned) == len(rules) - sum(brute_redundant(rules.table))
    assert pruned.info["steps"][-1]["prune_redundant"]["removed"] == len(rules) - len(pruned)


def test_adjust_hand_values() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 -> Holm ×4, ×3, ×2, ×1 then running max
    np.testing.assert_allclose(adjust_pvalues(p, "holm"), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(adjust_pvalues(p, "bonferroni"), [0.04, 0.16, 0.12, 0.02])
    # BH: p·m/rank = 0.02, 0.02, 0.04, 0.04 after the running min from the top
    np.testing.assert_allclose(adjust_pvalues(p, "bh"), [0.02, 0.04, 0.04, 0.02])
    np.testing.assert_array_equal(adjust_pvalues(p, "none"), p)
    np.testing.assert_allclose(adjust_pvalues([0.5, 0.9], "bonferroni"), [1.0, 1.0])


def test_bh_matches_scipy() -> None:
    p = np.random.default_rng(1).random(500) ** 3
    np.testing.assert_allclose(adjust_pvalues(p, "bh"), false_discovery_control(p), rtol=1e-12)


def test_significant_mask_and_errors() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005])
    assert significant_mask(p, alpha=0.05, adjust="holm").tolist() == [True, False, False, True]
    assert significant_mask(p, alpha=0.05, adjust="bh").tolist() == [True, True, True, True]
    assert significant_mask(p, alpha=0.025, adjust="holm").tolist() == [False, False, False, True]
    with pytest.raises(ParameterError, match="adjust must be one of"):
        significant_mask(p, adjust="fdr")
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        adjust_pvalues([0.5, 1.5])
