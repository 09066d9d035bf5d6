"""Edges of the compiled kernel: strategy names, bound checks on itemset arrays, depth bound."""

from __future__ import annotations

import re

import numpy as np
import pytest

from basketlens.mining import _reference as reference
from basketlens.mining import mine_itemsets, to_basket_matrix
from basketlens.mining.itemsets import ALGORITHMS, _core

pytestmark = pytest.mark.skipif(_core is None, reason="compiled mining core not built")

# itemsets {0}, {1}, {0, 1} with counts 4, 3, 2
FLAT = np.array([0, 1, 0, 1], dtype=np.int32)
OFFSETS = np.array([0, 1, 2, 4], dtype=np.int64)
COUNTS = np.array([4, 3, 2], dtype=np.int64)
QUERY = (np.array([1, 0], dtype=np.int32), np.array([0, 2], dtype=np.int64))


def test_strategy_names_come_from_the_kernel() -> None:
    assert _core.STRATEGIES == ("auto", "eclat", "declat", "occurrence")
    assert (*_core.STRATEGIES, "python") == ALGORITHMS
    m = to_basket_matrix([["a", "b"], ["a"]])
    with pytest.raises(ValueError, match="invalid mining parameters"):
        _core.mine(m.indptr, m.indices, m.n_items, 1, 0, -1, len(_core.STRATEGIES))


def test_good_arrays_give_the_reference_answers() -> None:
    table = _core.build_index(FLAT, OFFSETS)
    index = reference.build_index(FLAT, OFFSETS)
    got = _core.lookup(FLAT, OFFSETS, COUNTS, table, *QUERY)
    assert got.tolist() == reference.lookup(FLAT, OFFSETS, COUNTS, index, *QUERY).tolist() == [2]
    closed, maximal = _core.closed_maximal(FLAT, OFFSETS, COUNTS, table)
    ref_closed, ref_maximal = reference.closed_maximal(FLAT, OFFSETS, COUNTS, index)
    assert closed.tolist() == ref_closed.tolist() == [True, True, True]
    assert maximal.tolist() == ref_maximal.tolist() == [False, False, True]


BAD_OFFSETS = [
    ([1, 1, 2, 4], "offsets must start at 0; got offsets[0] = 1"),
    (
        [0, 2, 1, 4],
        "non-decreasing and within len(flat) = 4; got offsets[2] = 1 after offsets[1] = 2",
    ),
    ([0, 1, 9, 4], "within len(flat) = 4; got offsets[2] = 9"),
    ([0, 1, 2, 3], "offsets must end at len(flat) = 4; got 3"),
    ([0, -5, 2, 4], "got offsets[1] = -5 after offsets[0] = 0"),
    ([], "offsets must not be empty"),
]


@pytest.mark.parametrize(("values", "message"), BAD_OFFSETS)
def test_bad_offsets_are_refused_by_every_entry_point(values: list[int], message: str) -> None:
    offsets = np.array(values, dtype=np.int64)
    counts = COUNTS[: max(len(offsets) - 1, 0)]
    table = _core.build_index(FLAT, OFFSETS)
    with pytest.raises(ValueError, match=re.escape(message)):
        _core.build_index(FLAT, offsets)
    with pytest.raises(ValueError, match=re.escape(message)):
        _core.lookup(FLAT, offsets, counts, table, *QUERY)
    with pytest.raises(ValueError, match=re.escape(message)):
        _core.closed_maximal(FLAT, offsets, counts, table)


def test_a_table_of_other_itemsets_is_refused() -> None:
    foreign = np.full(16, 10**6, dtype=np.int64)  # entries point past the itemsets
    full = np.zeros(16, dtype=np.int64)  # no empty slot: a probe would never stop
    for table in (foreign, full):
        with pytest.raises(ValueError, match="not an index built by build_index"):
            _core.lookup(FLAT, OFFSETS, COUNTS, table, np.array([1], np.int32), QUERY[1][:2] // 2)
        with pytest.raises(ValueError, match="not an index built by build_index"):
            _core.closed_maximal(FLAT, OFFSETS, COUNTS, table)
    with pytest.raises(ValueError, match="not an index built by build_index"):
        _core.lookup(FLAT, OFFSETS, COUNTS, np.full(3, -1, np.int64), *QUERY)  # too small
    with pytest.raises(ValueError, match="counts must have len"):
        _core.lookup(FLAT, OFFSETS, COUNTS[:2], _core.build_index(FLAT, OFFSETS), *QUERY)


def test_depth_bound_without_max_len() -> None:
    """Two long baskets and many short ones: with min_count=3 no itemset can be longer than
    the third-longest basket (3 frequent items), whatever max_len says."""
    long = [f"i{j:02d}" for j in range(14)]
    rng = np.random.default_rng(4)
    short = [sorted(rng.choice(long, size=3, replace=False).tolist()) for _ in range(60)]
    baskets = [long, long, *short]
    expected = mine_itemsets(baskets, min_count=3, algorithm="python").table
    assert expected["length"].max() == 3
    for algorithm in ALGORITHMS[:4]:
        for max_len in (None, 3, 20):
            got = mine_itemsets(baskets, min_count=3, max_len=max_len, algorithm=algorithm)
            assert got.table.equals(expected), (algorithm, max_len)
    # a min_count of 2 admits every subset of the long baskets: 2**14 - 1 itemsets
    assert len(mine_itemsets(baskets, min_count=2)) >= 2**14 - 1
