"""The frequent-itemset miner: hand-computed counts, brute-force oracles, parameters, budget."""

from __future__ import annotations

import os
import threading
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from basketlens.errors import InputError, MiningBudgetError, ParameterError
from basketlens.mining import BasketMatrix, Itemsets, mine_itemsets, to_basket_matrix
from basketlens.mining.itemsets import ALGORITHMS, _core, resolve_min_count

TINY = [["a", "b", "c"], ["a", "b"], ["a", "c"], ["b", "c", "d"], ["a", "b", "c", "d"]]
TINY_ALL = [
    (["a"], 4), (["b"], 4), (["c"], 4), (["d"], 2),
    (["a", "b"], 3), (["a", "c"], 3), (["b", "c"], 3), (["b", "d"], 2), (["c", "d"], 2),
    (["a", "b", "c"], 2), (["b", "c", "d"], 2),
]  # fmt: skip
TINY_CLOSED = [
    (["a"], 4), (["b"], 4), (["c"], 4), (["a", "b"], 3), (["a", "c"], 3), (["b", "c"], 3),
    (["a", "b", "c"], 2), (["b", "c", "d"], 2),
]  # fmt: skip
TINY_MAXIMAL = [(["a", "b", "c"], 2), (["b", "c", "d"], 2)]


def rows(its: Itemsets) -> list[tuple[list[str], int]]:
    return its.table.select("itemset", "count").rows()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_tiny_hand_computed(algorithm: str) -> None:
    its = mine_itemsets(TINY, min_count=2, algorithm=algorithm)
    assert rows(its) == TINY_ALL
    assert its.table["support"].to_list() == [c / 5 for _, c in TINY_ALL]
    assert its.table["length"].to_list() == [1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3]
    assert its.table.schema == {
        "itemset": __import__("polars").List(__import__("polars").String),
        "count": __import__("polars").Int64,
        "support": __import__("polars").Float64,
        "length": __import__("polars").Int32,
    }
    assert rows(mine_itemsets(TINY, min_count=2, target="closed", algorithm=algorithm)) == (
        TINY_CLOSED
    )
    assert rows(mine_itemsets(TINY, min_count=2, target="maximal", algorithm=algorithm)) == (
        TINY_MAXIMAL
    )
    assert (
        rows(mine_itemsets(TINY, min_support=0.4, max_len=1, algorithm=algorithm)) == (TINY_ALL[:4])
    )


def test_tiny_info_and_arrays() -> None:
    its = mine_itemsets(TINY, min_support=0.4, target="closed")
    assert (its.n_baskets, its.min_count, its.min_support, its.target) == (5, 2, 0.4, "closed")
    info = its.info
    assert (info["n_itemsets"], info["n_frequent"], info["n_items"]) == (8, 11, 4)
    assert info["fingerprint"].startswith("blake2b:") and len(info["fingerprint"]) == 40
    assert its.codes_flat.dtype == np.int32 and its.offsets.dtype == np.int64
    assert len(its) == len(its.counts) == len(its.offsets) - 1 == 8
    got = {
        tuple(its.vocabulary[c] for c in its.codes_flat[a:b]): int(n)
        for a, b, n in zip(its.offsets[:-1], its.offsets[1:], its.counts, strict=True)
    }
    assert got == {tuple(s): c for s, c in TINY_CLOSED}
    same = mine_itemsets(to_basket_matrix(TINY), min_support=0.4)
    assert same.info["fingerprint"] == info["fingerprint"]
    assert mine_itemsets(TINY[:4], min_count=2).info["fingerprint"] != info["fingerprint"]


def test_lookup_counts_answers_every_frequent_itemset() -> None:
    its = mine_itemsets(TINY, min_count=2, target="maximal")  # a, b, c, d = 0, 1, 2, 3
    queries = [[0], [1, 0], [3, 1], [2, 1, 3], [0, 3], [0, 1, 2, 3], [], [7], [0, 1, 2]]
    flat = np.array([c for q in queries for c in q], dtype=np.int32)
    offsets = np.cumsum([0] + [len(q) for q in queries]).astype(np.int64)
    assert its.lookup_counts(flat, offsets).tolist() == [4, 3, 2, 2, -1, -1, 5, -1, 2]
    with pytest.raises(ParameterError, match="query_offsets must start at 0"):
        its.lookup_counts(flat, offsets[:-1])


def test_min_count_rounding_is_exact() -> None:
    assert resolve_min_count(10, min_support=0.5) == 5
    assert resolve_min_count(9835, min_support=0.001) == 10
    assert resolve_min_count(88162, min_support=0.001) == 89
    assert resolve_min_count(88162, min_support=0.0005) == 45
    assert resolve_min_count(3196, min_support=0.7) == 2238
    assert resolve_min_count(100, min_support=0.07) == 7  # 0.07 * 100 = 7.000000000000001
    assert resolve_min_count(3, min_support=1e-9) == 1
    assert resolve_min_count(10, min_count=3) == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_support": 1.5}, "min_support must be in (0, 1]; got 1.5"),
        ({"min_support": 0.0}, "min_support must be in (0, 1]; got 0.0"),
        ({"min_support": "0.1"}, "min_support must be a number in (0, 1]; got '0.1'"),
        ({"min_count": 0}, "min_count must be in [1, inf); got 0"),
        ({"min_count": 2.5}, "min_count must be an int in [1, inf); got 2.5"),
        ({}, "give exactly one of min_support and min_count; got min_support=None, min_count=None"),
        (
            {"min_support": 0.5, "min_count": 2},
            "give exactly one of min_support and min_count; got min_support=0.5, min_count=2",
        ),
        ({"min_count": 2, "target": "frequent"},
         "target must be one of 'all', 'closed', 'maximal'; got 'frequent'"),
        ({"min_count": 2, "max_len": 0}, "max_len must be in [1, inf); got 0"),
        ({"min_count": 2, "max_itemsets": 0}, "max_itemsets must be in [1, inf); got 0"),
        ({"min_count": 2, "algorithm": "apriori"},
         "algorithm must be one of 'auto', 'eclat', 'declat', 'occurrence', 'python'; "
         "got 'apriori'"),
    ],
)  # fmt: skip
def test_parameter_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ParameterError) as err:
        mine_itemsets(TINY, **kwargs)
    assert str(err.value) == message


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_budget_error(algorithm: str) -> None:
    assert len(mine_itemsets(TINY, min_count=2, max_itemsets=11, algorithm=algorithm)) == 11
    with pytest.raises(MiningBudgetError) as err:
        mine_itemsets(TINY, min_count=2, max_itemsets=10, algorithm=algorithm)
    msg = str(err.value)
    assert msg.startswith("more than max_itemsets=10 frequent itemsets at min_count=2 of 5")
    assert "min_support=0.8" in msg


@pytest.mark.parametrize(
    ("n_items", "density", "min_count"), [(14, 0.55, 40), (300, 0.02, 3), (60, 0.15, 8)]
)
def test_algorithms_agree(n_items: int, density: float, min_count: int) -> None:
    """Dense data exercise diffsets, sparse data galloping merges and occurrence deliver."""
    rng = np.random.default_rng(n_items)
    weights = density * 2 * rng.random(n_items)  # uneven item frequencies
    weights[:3] = [0.97, 0.9, 0.95]  # a few items in almost every basket: unbalanced tid-lists
    dense = rng.random((800, n_items)) < weights
    m = to_basket_matrix(sp.csr_matrix(dense))
    tables = {a: mine_itemsets(m, min_count=min_count, algorithm=a).table for a in ALGORITHMS}
    assert tables["python"].height > 200
    for algorithm, table in tables.items():
        assert table.equals(tables["python"]), algorithm
    # the two-pass fallback of the auto strategy (used when the one-pass buffer would be big)
    ref = _core.mine(m.indptr, m.indices, m.n_items, min_count, 0, -1, 0)
    small = _core.mine(m.indptr, m.indices, m.n_items, min_count, 0, -1, 0, 0)
    assert small[1].tolist() == ref[1].tolist() and small[2].tolist() == ref[2].tolist()
    assert small[0].tolist() == ref[0].tolist()


def test_invalid_matrix_is_an_input_error() -> None:
    bad = BasketMatrix(np.array([0, 2]), np.array([1, 0], dtype=np.int32), ("a", "b"))
    with pytest.raises(InputError, match="item codes must be sorted and unique within each"):
        mine_itemsets(bad, min_count=1)
    jagged = BasketMatrix(np.array([0, 9, 1]), np.array([0], np.int32), ("a",))
    with pytest.raises(InputError, match="indptr must be non-decreasing"):
        mine_itemsets(jagged, min_count=1)
    with pytest.raises(InputError, match="item code out of range"):
        mine_itemsets(BasketMatrix(np.array([0, 1]), np.array([2], np.int32), ("a",)), min_count=1)


def test_repeated_mining_does_not_leak() -> None:
    statm = Path("/proc/self/statm")
    if not statm.exists():
        pytest.skip("RSS is read from /proc/self/statm (Linux only)")
    rng = np.random.default_rng(5)
    m = to_basket_matrix(sp.csr_matrix(rng.random((1500, 40)) < 0.2))
    query = (np.arange(40, dtype=np.int32), np.arange(41, dtype=np.int64))

    def run(times: int) -> None:
        for _ in range(times):
            for target in ("all", "maximal"):
                mine_itemsets(m, min_count=10, target=target).lookup_counts(*query)
            with pytest.raises(MiningBudgetError):
                mine_itemsets(m, min_count=10, max_itemsets=100)

    def rss_mib() -> float:
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    run(10)  # warm up allocator pools
    before = rss_mib()
    run(100)
    # a leak of the kernel's output alone would be ~0.2 MiB per mine, 60 MiB in all
    assert len(mine_itemsets(m, min_count=10)) == 8074
    assert rss_mib() - before < 8


def test_threads_mine_independently() -> None:
    rng = np.random.default_rng(7)
    data = [[f"i{j}" for j in rng.choice(40, size=8, replace=False)] for _ in range(3000)]
    expected = rows(mine_itemsets(data, min_count=15))
    results: list = [None] * 4

    def work(k: int) -> None:
        results[k] = rows(mine_itemsets(data, min_count=15))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(expected) > 100 and all(r == expected for r in results)


# ---------------------------------------------------------------- brute-force oracle


def oracle(baskets: list[set[str]], min_count: int, max_len: int | None) -> dict:
    universe = sorted(set().union(*baskets)) if baskets else []
    top = len(universe) if max_len is None else min(max_len, len(universe))
    freq = {}
    for k in range(1, top + 1):
        for combo in combinations(universe, k):
            c = sum(1 for b in baskets if b.issuperset(combo))
            if c >= min_count:
                freq[combo] = c
    closed, maximal = dict(freq), dict(freq)
    for s, c in freq.items():
        for d in range(len(s) if len(s) > 1 else 0):
            sub = s[:d] + s[d + 1 :]
            maximal.pop(sub, None)
            if freq[sub] == c:
                closed.pop(sub, None)
    return {"all": freq, "closed": closed, "maximal": maximal}


baskets_strategy = st.lists(
    st.sets(st.sampled_from([f"x{i:02d}" for i in range(12)]), max_size=9),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(
    baskets=baskets_strategy,
    min_count=st.integers(1, 6),
    max_len=st.one_of(st.none(), st.integers(1, 4)),
)
def test_matches_brute_force(baskets: list[set[str]], min_count: int, max_len: int | None) -> None:
    expected = oracle(baskets, min_count, max_len)
    for algorithm in ALGORITHMS:
        for target in ("all", "closed", "maximal"):
            its = mine_itemsets(
                [sorted(b) for b in baskets], min_count=min_count, max_len=max_len,
                target=target, algorithm=algorithm,
            )  # fmt: skip
            got = {tuple(s): c for s, c in rows(its)}
            assert got == expected[target], (algorithm, target)
            if max_len is not None:
                assert all(len(s) <= max_len for s in got)
        # anti-monotone support: every itemset's count <= each one-item-smaller subset
        full = expected["all"]
        for s, c in full.items():
            for d in range(len(s) if len(s) > 1 else 0):
                assert full[s[:d] + s[d + 1 :]] >= c


@settings(max_examples=40, deadline=None)
@given(
    baskets=baskets_strategy,
    min_count=st.integers(1, 5),
    target=st.sampled_from(["all", "closed", "maximal"]),
)
def test_lookup_counts_match_brute_force(
    baskets: list[set[str]], min_count: int, target: str
) -> None:
    its = mine_itemsets([sorted(b) for b in baskets], min_count=min_count, target=target)
    code = {item: k for k, item in enumerate(its.vocabulary)}
    universe = sorted(code)
    queries = [s for k in range(0, min(3, len(universe)) + 1) for s in combinations(universe, k)]
    flat = np.array([code[i] for q in queries for i in reversed(q)], dtype=np.int32)
    offsets = np.cumsum([0] + [len(q) for q in queries]).astype(np.int64)
    got = its.lookup_counts(flat, offsets).tolist()
    for q, g in zip(queries, got, strict=True):
        c = sum(1 for b in baskets if b.issuperset(q))
        assert g == (c if c >= min_count or not q else -1), q
