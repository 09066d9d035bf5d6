"""The faster mine-stage helpers give what the code they replaced gave: the grouping of the
lines done once (matrix, basket units and scopes) and complete linkage in the compiled core.

Each reference below is the replaced implementation, kept verbatim as the oracle; for the
clustering that is ``families._linkage_by_counts``, which the package keeps as its fallback."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basketlens.mining._kernel import core
from basketlens.mining.encode import BasketMatrix, _pick, lines_matrix, to_basket_matrix
from basketlens.mining.families import _cluster, _complete_linkage, _linkage_by_counts
from basketlens.mining.source import MatrixSource, basket_scopes, basket_units, first_units

# ------------------------------------------------------------------ the replaced code


def _reference_cluster(links: pl.DataFrame, index: dict[str, int]) -> np.ndarray:
    order = links.sort(["similarity", "item", "other"], descending=[True, False, False])
    u = np.array([index[x] for x in order["item"].to_list()], dtype=np.int64)
    v = np.array([index[x] for x in order["other"].to_list()], dtype=np.int64)
    return _linkage_by_counts(len(index), u, v)


def _reference_scopes(
    lines: pl.DataFrame, matrix: BasketMatrix, assignments: pl.DataFrame
) -> dict[str, np.ndarray]:
    basket_segment = (
        lines.group_by("basket")
        .agg(pl.col("unit").first())
        .join(
            assignments.select(
                pl.col("customer_id").cast(pl.String).alias("unit"), pl.col("segment")
            ).unique("unit", keep="first"),
            on="unit",
        )
    )
    order = pl.DataFrame({"basket": list(matrix.basket_ids or ())}).with_row_index("row")
    joined = order.join(basket_segment, on="basket", how="left").sort("row")
    scopes: dict[str, np.ndarray] = {}
    for segment in sorted(joined["segment"].drop_nulls().unique().to_list()):
        rows = joined.filter(pl.col("segment") == segment)["row"].to_numpy().astype(np.int64)
        scopes[str(segment)] = rows
    return scopes


def _reference_units(lines: pl.DataFrame, matrix: BasketMatrix) -> np.ndarray:
    first = lines.group_by("basket").agg(pl.col("unit").first().cast(pl.String))
    order = pl.DataFrame({"basket": list(matrix.basket_ids or ())}).join(
        first, on="basket", how="left", maintain_order="left"
    )
    units = order["unit"].fill_null("")
    codes = units.rank("dense").cast(pl.Int64) - 1
    return codes.to_numpy()


# ------------------------------------------------------------------ strategies


def _graphs(n: int) -> st.SearchStrategy:
    edge = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
    return st.tuples(st.just(n), st.lists(edge, max_size=60), st.randoms())


def _edges(case) -> tuple[int, np.ndarray, np.ndarray]:
    """Distinct undirected edges (no loops) in a random merge order, either direction."""
    n, raw, rnd = case
    pairs = sorted({(min(a, b), max(a, b)) for a, b in raw if a != b})
    rnd.shuffle(pairs)
    pairs = [(b, a) if rnd.random() < 0.5 else (a, b) for a, b in pairs]
    u = np.array([a for a, _ in pairs], dtype=np.int64)
    v = np.array([b for _, b in pairs], dtype=np.int64)
    return n, u, v


_line = st.tuples(st.sampled_from("bcdefgh"), st.sampled_from("pqrstu"), st.sampled_from("uvwxy"))


# ------------------------------------------------------------------ tests


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 12).flatmap(_graphs))
def test_compiled_complete_linkage_matches_the_edge_count_version(case) -> None:
    n, u, v = _edges(case)
    assert core is not None  # the compiled path is the one under test
    label = core.complete_linkage(n, u, v)
    assert label.dtype == np.int64
    assert label.tolist() == _linkage_by_counts(n, u, v).tolist()
    assert _complete_linkage(n, u, v).tolist() == label.tolist()


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 8).flatmap(_graphs))
def test_repeated_edges_and_loops_are_left_to_the_counting_version(case) -> None:
    n, u, v = _edges(case)
    if len(u) == 0:
        return
    # the first edge again, reversed: a repeated edge; a loop on node 0
    for uu, vv in ((np.r_[u, v[:1]], np.r_[v, u[:1]]), (np.r_[u, 0], np.r_[v, 0])):
        assert core.complete_linkage(n, uu, vv) is None
    again_u, again_v = np.r_[u, v[:1]], np.r_[v, u[:1]]
    want = _linkage_by_counts(n, again_u, again_v)
    assert _complete_linkage(n, again_u, again_v).tolist() == want.tolist()


def test_compiled_complete_linkage_checks_its_input() -> None:
    with pytest.raises(ValueError, match="out of range"):
        core.complete_linkage(3, np.array([0, 3]), np.array([1, 2]))
    with pytest.raises(ValueError, match="one node per edge"):
        core.complete_linkage(3, np.array([0, 1]), np.array([1]))
    assert core.complete_linkage(0, np.zeros(0, np.int64), np.zeros(0, np.int64)).tolist() == []
    assert core.complete_linkage(2, np.zeros(0, np.int64), np.zeros(0, np.int64)).tolist() == [0, 1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text("ab", max_size=3), max_size=12), st.data())
def test_pick_is_indexing_by_rows(values, data) -> None:
    rows = data.draw(st.lists(st.integers(0, max(len(values) - 1, 0)), max_size=15))
    rows = np.array(rows if values else [], dtype=np.int64)
    assert _pick(tuple(values), rows) == tuple(values[i] for i in rows)


def test_complete_linkage_on_dense_cliques_with_chains() -> None:
    # two 6-cliques joined by a chain of look-alikes, strongest edges last: labels as before
    rng = np.random.default_rng(7)
    edges = [(a, b) for a in range(6) for b in range(a + 1, 6)]
    edges += [(a + 6, b + 6) for a, b in edges] + [(5, 6), (4, 6), (5, 7), (11, 12), (12, 13)]
    order = rng.permutation(len(edges))
    u = np.array([edges[k][0] for k in order], dtype=np.int64)
    v = np.array([edges[k][1] for k in order], dtype=np.int64)
    label = _complete_linkage(14, u, v)
    assert label.tolist() == _linkage_by_counts(14, u, v).tolist()
    assert len(set(label[:6].tolist())) == 1 and label[0] != label[6]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 7), st.sampled_from([0.0, 0.25, 0.5, 1.0])),
        max_size=25,
    )
)
def test_cluster_orders_links_like_the_text_sort(rows) -> None:
    ids = pl.Series("item", [f"i{k}" for k in (3, 10, 1, 25, 7, 40, 2, 9)]).sort()
    names = ids.to_list()
    seen: dict[tuple[str, str], float] = {}
    for a, b, s in rows:
        if a != b:
            seen.setdefault((min(names[a], names[b]), max(names[a], names[b])), s)
    links = pl.DataFrame(
        {
            "item": [a for a, _ in seen],
            "other": [b for _, b in seen],
            "basis": ["name"] * len(seen),
            "similarity": list(seen.values()),
        },
        schema={
            "item": pl.String,
            "other": pl.String,
            "basis": pl.String,
            "similarity": pl.Float64,
        },
    )
    index = {item: k for k, item in enumerate(names)}
    assert _cluster(links, ids).tolist() == _reference_cluster(links, index).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(_line, min_size=1, max_size=40), st.data())
def test_lines_grouped_once_give_the_same_matrix_units_and_scopes(rows, data) -> None:
    lines = pl.DataFrame(
        {
            "basket": [b for b, _, _ in rows],
            "item": [i for _, i, _ in rows],
            "unit": [u for _, _, u in rows],
        }
    )
    customers = data.draw(st.lists(st.sampled_from("uvwxz"), unique=True))
    segments = data.draw(
        st.lists(st.integers(0, 2), min_size=len(customers), max_size=len(customers))
    )
    assignments = pl.DataFrame(
        {"customer_id": customers, "segment": segments},
        schema={"customer_id": pl.String, "segment": pl.Int32},
    )
    matrix, units = lines_matrix(lines)
    expected = to_basket_matrix(lines.select("basket", "item"))
    assert matrix.indptr.tolist() == expected.indptr.tolist()
    assert matrix.indices.tolist() == expected.indices.tolist()
    assert (matrix.items, matrix.basket_ids) == (expected.items, expected.basket_ids)
    assert units.to_list() == first_units(lines, matrix).to_list()
    want_units = _reference_units(lines, expected)
    want_scopes = _reference_scopes(lines, expected, assignments)
    for given_units in (None, units):
        got = basket_scopes(lines, matrix, assignments, given_units)
        assert list(got) == list(want_scopes)
        assert all(got[k].tolist() == want_scopes[k].tolist() for k in got)
        assert basket_units(lines, matrix, given_units).tolist() == want_units.tolist()
    source = MatrixSource.from_lines(lines, assignments)
    assert source.units.tolist() == want_units.tolist()
    assert {k: r.tolist() for k, r in source.scopes.items()} == {
        k: r.tolist() for k, r in want_scopes.items()
    }
