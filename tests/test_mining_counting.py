"""The compiled pruning helpers (``_core.unit_counts``, ``_core.hypergeom_tail``) give what
the numpy code they replace gives: the same customer counts, the same p-values bit for bit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import hypergeom

from basketlens.mining import customers, measures, to_basket_matrix
from basketlens.mining._kernel import core as _core
from basketlens.mining.customers import customer_counts

pytestmark = pytest.mark.skipif(_core is None, reason="compiled core not built")

baskets = st.lists(st.sets(st.sampled_from("abcdefg"), min_size=1), min_size=1, max_size=70)
QUERIES = [[]] + [list(q) for k in (1, 2, 3, 4) for q in itertools.combinations("abcdeg", k)]


@settings(max_examples=60, deadline=None)
@given(baskets, st.data())
def test_unit_counts_match_the_numpy_bitsets_and_a_brute_force(data_baskets, data) -> None:
    rows = [sorted(b) for b in data_baskets]
    n = len(rows)
    units = np.array(data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)))
    matrix = to_basket_matrix(rows)
    queries = [*QUERIES, ["a", "zzz"], ["b", "b"]]
    compiled = customer_counts(matrix, units, queries)
    saved = customers._core
    try:
        customers._core = None  # the numpy path
        plain = customer_counts(matrix, units, queries)
    finally:
        customers._core = saved
    want = [len({int(units[i]) for i, b in enumerate(rows) if set(q) <= set(b)}) for q in queries]
    want[-2] = 0  # an unknown item: nobody
    assert compiled.tolist() == plain.tolist() == want
    # the basket-list intersection (used when the bitsets would be too big) agrees too
    codes = {item: k for k, item in enumerate(matrix.items)}
    known = [q for q in queries if all(i in codes for i in q)]
    flat = np.array([codes[i] for q in known for i in q], dtype=np.int32)
    offsets = np.r_[0, np.cumsum([len(q) for q in known])].astype(np.int64)
    args = (matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32), matrix.n_items,
            units.astype(np.int64), int(units.max()) + 1, flat, offsets)  # fmt: skip
    by_lists = _core.unit_counts(*args, 0)
    by_bits = _core.unit_counts(*args)
    assert by_lists.tolist() == by_bits.tolist() == [want[queries.index(q)] for q in known]


def test_unit_counts_refuses_bad_input() -> None:
    indptr, indices = np.array([0, 1], np.int64), np.array([0], np.int32)
    units, flat, offsets = np.array([0], np.int64), np.array([0], np.int32), np.array([0, 1])
    assert _core.unit_counts(indptr, indices, 1, units, 1, flat, offsets).tolist() == [1]
    with pytest.raises(ValueError, match="unit code"):
        _core.unit_counts(indptr, indices, 1, units + 3, 1, flat, offsets)
    with pytest.raises(ValueError, match="sizes"):
        _core.unit_counts(indptr, indices, 1, units, 1, flat, np.array([0, 2]))


counts = st.integers(1, 3000)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(counts, st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)),
                min_size=1, max_size=30))  # fmt: skip
def test_compiled_hypergeom_tail_is_the_numpy_loop_bit_for_bit(cases) -> None:
    n = np.array([c[0] for c in cases], dtype=np.float64)
    a = np.floor(n * [c[1] for c in cases])
    b = np.floor(n * [c[2] for c in cases])
    k = np.floor(np.minimum(a, b) * [c[3] for c in cases]) + 1
    compiled = measures.hypergeom_upper(k, n, a, b)
    saved = measures._core
    try:
        measures._core = None
        plain = measures.hypergeom_upper(k, n, a, b)
    finally:
        measures._core = saved
    assert np.array_equal(compiled, plain)
    want = hypergeom.sf(k - 1, n, a, b)
    assert np.allclose(compiled, want, rtol=1e-9, atol=1e-15)


def test_hypergeom_tail_checks_its_arrays() -> None:
    x = np.ones(3)
    with pytest.raises(ValueError, match="same size"):
        _core.hypergeom_tail(x, x, x, x, x, x, np.ones(2), x)
    with pytest.raises(ValueError, match="float64"):
        _core.hypergeom_tail(x, x.astype(np.int64), x, x, x, x, x, x)


@settings(max_examples=60, deadline=None)
@given(baskets, st.data())
def test_pair_counts_and_customer_pairs_match_the_sparse_products(data_baskets, data) -> None:
    from basketlens.mining import counts as counts_module
    from basketlens.mining.counts import MatrixCounts

    rows = [sorted(b) for b in data_baskets]
    n = len(rows)
    units = np.array(data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)))
    matrix = to_basket_matrix(rows)
    codes = st.integers(0, matrix.n_items - 1)
    pairs = data.draw(st.lists(st.tuples(codes, codes), max_size=15))
    i = np.array([p[0] for p in pairs], dtype=np.int64)
    j = np.array([p[1] for p in pairs], dtype=np.int64)
    compiled = MatrixCounts(matrix, units)
    got_pairs, got_customers = compiled.pair_counts(i, j), compiled.customer_pairs(i, j)
    saved = counts_module._core
    try:
        counts_module._core = None  # the scipy sparse products
        plain = MatrixCounts(matrix, units)
        want_pairs, want_customers = plain.pair_counts(i, j), plain.customer_pairs(i, j)
    finally:
        counts_module._core = saved
    assert got_pairs.tolist() == want_pairs.tolist()
    brute = [sum(1 for b in rows if {matrix.items[x], matrix.items[y]} <= set(b)) for x, y in pairs]
    assert got_pairs.tolist() == brute
    for field in ("a", "b", "ab"):
        assert getattr(got_customers, field).tolist() == getattr(want_customers, field).tolist()
    assert got_customers.n_units == want_customers.n_units


@settings(max_examples=60, deadline=None)
@given(baskets, st.data())
def test_row_matches_finds_the_rows_holding_every_item(data_baskets, data) -> None:
    rows_ = [sorted(b) for b in data_baskets]
    matrix = to_basket_matrix(rows_)
    subset = sorted(data.draw(st.sets(st.integers(0, len(rows_) - 1))))
    sets = [[], ["a"], ["a", "b"], ["c", "d", "e"], ["g", "zzz"], ["b", "b"]]
    codes = {item: k for k, item in enumerate(matrix.items)}
    coded = [[codes.get(i, -1) for i in s] for s in sets]
    flat = np.array([c for s in coded for c in s], dtype=np.int32)
    offsets = np.r_[0, np.cumsum([len(s) for s in coded])].astype(np.int64)
    args = (matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32), matrix.n_items,
            np.array(subset, dtype=np.int64), flat, offsets)  # fmt: skip
    row, which = _core.row_matches(*args)
    got = sorted(zip(row.tolist(), which.tolist(), strict=True))
    want = sorted(
        (r, k)
        for k, s in enumerate(sets)
        for r in subset
        if s and all(i in codes for i in s) and set(s) <= set(rows_[r])
    )
    assert got == want
    if subset and (flat >= 0).any():  # bitsets over the limit: None, the caller's way
        assert _core.row_matches(*args, 0) is None
