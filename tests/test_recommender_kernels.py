"""The recommender's fast kernels return exactly what the plain computation returns: the set
and sort routines against numpy's own, the Gram matrix against a dense product."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from basketlens._arrays import (
    dense_rank,
    group_starts,
    isin_sorted,
    lexsort,
    rank_within_rows,
    unique_sorted,
)
from basketlens.opportunities.matrix import CustomerItems
from basketlens.recommender import itemitem
from basketlens.recommender.reasons import value_text, value_texts
from basketlens.recommender.signals import RuleEvidence

_ints = hnp.arrays(np.int64, st.integers(0, 60), elements=st.integers(-5, 40))
# few distinct values, so ties (and -0.0 beside 0.0, infinities, NaN) are common
_floats = st.sampled_from([0.0, -0.0, 1.5, -2.0, 3.25, np.inf, -np.inf, np.nan])


def test_hand_computed_examples() -> None:
    assert unique_sorted(np.array([4, 4, 1, 9, 1])).tolist() == [1, 4, 9]
    assert unique_sorted(np.array([], dtype=np.int64)).tolist() == []
    assert isin_sorted(np.array([3, 0, 7]), np.array([0, 7])).tolist() == [False, True, True]
    assert isin_sorted(np.array([3]), np.array([], dtype=np.int64)).tolist() == [False]
    rank, n = dense_rank(np.array([10, 30, 10, 20]))
    assert (rank.tolist(), n) == ([0, 2, 0, 1], 3)
    # row 0 first; within a row the higher score, then the lower column; then position
    rows = np.array([1, 0, 1, 1, 0])
    score = np.array([0.2, 0.1, 0.7, 0.2, 0.1])
    cols = np.array([5, 3, 1, 2, 3])
    assert lexsort((cols, -score, rows)).tolist() == [1, 4, 2, 3, 0]


@given(_ints)
def test_unique_sorted_is_np_unique(values: np.ndarray) -> None:
    assert np.array_equal(unique_sorted(values), np.unique(values))


@given(hnp.arrays(np.float64, st.integers(0, 40), elements=_floats))
def test_unique_sorted_on_floats_is_np_unique(values: np.ndarray) -> None:
    assert np.array_equal(unique_sorted(values), np.unique(values), equal_nan=True)


@given(hnp.arrays(np.int64, st.tuples(st.integers(0, 5), st.integers(0, 6)),
                  elements=st.integers(-5, 40)), _ints)  # fmt: skip
def test_isin_sorted_is_np_isin(values: np.ndarray, table: np.ndarray) -> None:
    table = np.unique(table)
    assert np.array_equal(isin_sorted(values, table), np.isin(values, table))


@settings(max_examples=200)
@given(
    st.integers(0, 50).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.int64, n, elements=st.integers(0, 4)),
            hnp.arrays(np.float64, n, elements=_floats),
            hnp.arrays(np.bool_, n),
        )
    )
)
def test_lexsort_is_np_lexsort(keys: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    rows, score, flag = keys
    for combo in ((-score, rows), (score, ~flag, rows), (rows, score), (flag,)):
        assert np.array_equal(lexsort(combo), np.lexsort(combo))


def test_lexsort_falls_back_when_the_keys_cannot_be_packed() -> None:
    rng = np.random.default_rng(0)
    keys = tuple(rng.random(3000) for _ in range(6))  # 3000**7 > 2**62
    assert np.array_equal(lexsort(keys), np.lexsort(keys))


@pytest.mark.parametrize("cells", [itemitem.GRAM_CELLS, 7, 1])  # one block; blocks of rows
def test_gram_is_the_dense_product(monkeypatch: pytest.MonkeyPatch, cells: int) -> None:
    monkeypatch.setattr(itemitem, "GRAM_CELLS", cells)
    rng = np.random.default_rng(3)
    dense = (rng.random((50, 6)) < 0.4).astype(np.float32)
    G = itemitem.gram(sp.csr_matrix(dense))
    assert G.dtype == np.float64
    assert np.array_equal(G, dense.T.astype(np.float64) @ dense)
    assert itemitem.gram(sp.csr_matrix((0, 4), dtype=np.float32)).tolist() == [[0.0] * 4] * 4


@settings(max_examples=40)
@given(st.integers(0, 2**32 - 1), st.integers(1, 30), st.integers(1, 6))
def test_segment_grams_are_the_grams_of_the_rows(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n, m)) < 0.5).astype(np.float32)
    segment = rng.integers(-1, 3, n)
    G, parts = itemitem.segment_grams(sp.csr_matrix(dense), segment)
    assert np.array_equal(G, dense.T.astype(np.float64) @ dense)
    present = [s for s in (0, 1, 2) if (segment == s).any()]
    assert len(parts) == len(present)
    for s, part in zip(present, parts, strict=True):
        rows = dense[segment == s].astype(np.float64)
        assert np.array_equal(part, rows.T @ rows)
    # CoPurchase fitted on the precomputed grams is the one that computes its own
    X = sp.csr_matrix(dense)
    own = itemitem.CoPurchase.fit(X, segment, G=itemitem.gram(X))  # grams of its own
    given_ = itemitem.CoPurchase.fit(X, segment, G=G, grams=parts)
    for name in ("sources", "shares", "bases"):
        assert np.array_equal(getattr(own, name), getattr(given_, name))
    assert own.segments == given_.segments


@given(
    st.lists(
        st.tuples(
            st.floats(0, 1), st.floats(0, 1e7, allow_nan=False), st.floats(0, 1e7, allow_nan=False)
        ),
        max_size=20,
    ),
    st.sampled_from([None, "", "£", "€", "EUR", "R$", "GBP"]),
    st.sampled_from([1.0, 3.0, 3.3, 12.0]),
)
def test_value_texts_are_value_text(
    rows: list[tuple[float, float, float]], currency: str | None, months: float
) -> None:
    prob, spend, value = ([r[i] for r in rows] for i in range(3))
    expected = [value_text(p, s, v, currency, months) for p, s, v in rows]
    assert value_texts(prob, spend, value, currency, months) == expected


def test_rule_evidence_lists_the_strongest_rule_first() -> None:
    """c1 owns a and b: rules a→x (0.5, lift 2), b→x (0.5, lift 3), a→y (0.9) and, in segment
    1, b→x (0.8); c2 (segment 0) owns a only; nobody has bought x or y (z stands for them)."""
    lines = pl.DataFrame(
        {
            "unit": ["c1", "c1", "c2", "c3", "c3"],
            "item": ["a", "b", "a", "x", "y"],
            "basket": ["1", "1", "2", "3", "3"],
            "quantity": [1.0] * 5,
            "net_sales": [1.0] * 5,
            "date": [datetime(2024, 1, 1)] * 5,
        }
    )
    matrix = CustomerItems.from_lines(lines)
    info = pl.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "customer_name": [None, None, None],
            "segment": [1, 0, 0],
            "segment_name": [None, None, None],
        },
        schema_overrides={"customer_name": pl.String, "segment_name": pl.String},
    )
    rules = pl.DataFrame(
        {
            "rule_id": ["r0", "r1", "r2", "r3"],
            "scope": ["all", "all", "all", "1"],
            "antecedent": [["a"], ["b"], ["a"], ["b"]],
            "consequent": [["x"], ["x"], ["y"], ["x"]],
            "support": [0.1] * 4,
            "confidence": [0.5, 0.5, 0.9, 0.8],
            "lift": [2.0, 3.0, 1.5, 1.1],
        }
    )
    ev = RuleEvidence.find(matrix, rules, info)
    x, y = matrix.codes(["x", "y"], axis="item").tolist()
    c1, c2 = matrix.codes(["c1", "c2"], axis="customer").tolist()
    assert ev.pairs.select("row", "col", "rule_id").rows() == [
        (c1, x, "r3"), (c1, x, "r1"), (c1, x, "r0"), (c1, y, "r2"), (c2, x, "r0"), (c2, y, "r2"),
    ]  # fmt: skip
    assert ev.key.tolist() == sorted(ev.key.tolist())
    conf, lift, rule = ev.lookup(np.array([c1 * matrix.n_items + x, c2 * matrix.n_items + x, 0]))
    assert conf.tolist() == [0.8, 0.5, 0.0] and lift.tolist() == [1.1, 2.0, 1.0]
    assert rule.tolist() == [3, 0, -1]


@settings(max_examples=200)
@given(
    st.integers(0, 40).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.int64, n, elements=st.integers(0, 5)),
            hnp.arrays(
                np.float64,
                n,
                elements=st.sampled_from([0.0, -0.0, 0.5, 1 / 3, -2.0, np.inf, -np.inf, 7.25]),
            ),
        )
    )
)
def test_rank_within_rows_is_the_lexsort_rank(case: tuple[np.ndarray, np.ndarray]) -> None:
    rows, score = np.sort(case[0]), case[1]  # 1/3 is not a float32: ranked by dense rank
    order = np.lexsort((-score, rows))
    start = np.searchsorted(rows[order], rows[order], side="left")
    expected = np.empty(rows.size, dtype=np.int64)
    expected[order] = np.arange(rows.size) - start
    assert np.array_equal(rank_within_rows(rows, score), expected)
    exact = np.where(score == 1 / 3, 0.25, score)  # float32 scores: packed with their bits
    order = np.lexsort((-exact, rows))
    expected[order] = np.arange(rows.size) - start
    assert np.array_equal(rank_within_rows(rows, exact), expected)
    shuffled = case[0]  # rows not sorted: ranked through lexsort
    order = np.lexsort((-score, shuffled))
    start = np.searchsorted(shuffled[order], shuffled[order], side="left")
    expected[order] = np.arange(rows.size) - start
    assert np.array_equal(rank_within_rows(shuffled, score), expected)


@given(_ints)
def test_group_starts_is_searchsorted_left(values: np.ndarray) -> None:
    values = np.sort(values)
    assert np.array_equal(group_starts(values), np.searchsorted(values, values, side="left"))


@pytest.mark.parametrize("single", [True, False])  # single precision; its double fallback
def test_ease_weights_are_the_closed_form(monkeypatch: pytest.MonkeyPatch, single: bool) -> None:
    doubles: list[int] = []
    if not single:  # single precision fails: the fit falls back to double
        monkeypatch.setattr(itemitem.sla.lapack, "spotrf", lambda a, **_: (a, 1))
        dpotrf = itemitem.sla.lapack.dpotrf
        monkeypatch.setattr(
            itemitem.sla.lapack, "dpotrf", lambda a, **kw: doubles.append(1) or dpotrf(a, **kw)
        )
    rng = np.random.default_rng(1)
    X = (rng.random((300, 140)) < 0.2).astype(np.float32)  # more rows than one block of B
    lam = 5.0
    P = np.linalg.inv(X.T.astype(np.float64) @ X + lam * np.eye(140))
    oracle = -P / np.diag(P)
    np.fill_diagonal(oracle, 0.0)
    fitted = itemitem.Ease.fit(sp.csr_matrix(X), lam=lam)
    assert fitted.weights.dtype == np.float32
    assert np.allclose(fitted.weights, oracle, atol=1e-5)
    assert np.all(np.diag(fitted.weights) == 0)
    assert len(doubles) == (0 if single else 1)


@settings(max_examples=50)
@given(st.integers(0, 2**32 - 1), st.integers(0, 40), st.integers(1, 12), st.integers(1, 14))
def test_top_k_by_blocks_of_rows_is_top_k_at_once(seed: int, rows: int, n: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.choice(np.array([0.0, 0.5, 1.0, -np.inf], dtype=np.float32), size=(rows, n))
    whole = itemitem._top_k(scores, min(k, n))  # ties everywhere: the selection must match
    for cells in (1, n, 3 * n + 1):  # one row, one, three rows (and a bit) per block
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(itemitem, "_TOP_K_CELLS", cells)
            assert np.array_equal(itemitem.top_k(scores, k), whole)
