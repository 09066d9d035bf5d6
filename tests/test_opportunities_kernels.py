"""The opportunities stage's array kernels against brute-force oracles."""

from __future__ import annotations

from datetime import datetime

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import polars as pl
from hypothesis import given, settings

from basketlens._arrays import stable_argsort
from basketlens.mining.families import FAMILIES_SCHEMA
from basketlens.opportunities.calls import _of_rules
from basketlens.opportunities.evidence import ItemVocabulary, owns_variant
from basketlens.opportunities.matrix import CustomerItems

_ITEMS = [f"i{k}" for k in range(8)]
_CUSTOMERS = [f"c{k}" for k in range(6)]


def _matrix(cells: set[tuple[int, int]]) -> CustomerItems:
    rows = sorted(cells) or [(0, 0)]
    day = datetime(2024, 1, 1)
    return CustomerItems.from_table(
        pl.DataFrame(
            {
                "customer_id": [_CUSTOMERS[r] for r, _ in rows],
                "item": [_ITEMS[c] for _, c in rows],
                "orders": [1] * len(rows),
                "quantity": [1.0] * len(rows),
                "net_sales": [1.0] * len(rows),
                "first_date": [day] * len(rows),
                "last_date": [day] * len(rows),
            }
        )
    )


_cells = st.sets(st.tuples(st.integers(0, 5), st.integers(0, 7)), max_size=30)


@given(_cells, st.lists(st.one_of(st.none(), st.sampled_from([*_ITEMS, "zz", ""])), max_size=20))
def test_item_codes_are_codes(cells: set[tuple[int, int]], values: list[str | None]) -> None:
    m = _matrix(cells)
    expected = m.codes(values, axis="item")
    assert m.item_codes(pl.Series(values, dtype=pl.String)).tolist() == expected.tolist()


@given(_cells, st.lists(st.tuples(st.integers(0, 6), st.integers(-1, 8)), max_size=40))
def test_lookup_is_the_cell_position(
    cells: set[tuple[int, int]], pairs: list[tuple[int, int]]
) -> None:
    m = _matrix(cells)
    rows = np.array([min(r, m.n_customers - 1) for r, _ in pairs], dtype=np.int64)
    cols = np.array([min(c, m.n_items - 1) if c >= 0 else -1 for _, c in pairs], dtype=np.int64)
    expected = []
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        start, stop = int(m.indptr[r]), int(m.indptr[r + 1])
        hit = [p for p in range(start, stop) if c >= 0 and m.indices[p] == c]
        expected.append(hit[0] if hit else -1)
    assert m.lookup(rows, cols).tolist() == expected
    assert m.lookup(rows[:, None], cols[None, :]).shape == (rows.size, cols.size)


@given(
    st.lists(st.sampled_from(["a", "b", "c", None]), max_size=12),
    st.lists(st.sampled_from(["a", "b", "d"]), max_size=4),
)
def test_of_rules_is_the_inner_join(table_ids: list[str | None], rule_ids: list[str]) -> None:
    table = pl.DataFrame({"rule_id": table_ids, "x": range(len(table_ids))},
                         schema={"rule_id": pl.String, "x": pl.Int64})  # fmt: skip
    rules = pl.DataFrame({"rule_id": rule_ids}, schema={"rule_id": pl.String})
    joined = table.join(rules, on="rule_id")
    assert sorted(_of_rules(table, rules).rows()) == sorted(joined.rows())


@settings(max_examples=60, deadline=None)
@given(
    _cells,
    st.lists(st.integers(0, 3), min_size=len(_ITEMS), max_size=len(_ITEMS)),
    st.lists(
        st.lists(st.sampled_from([*_ITEMS, "x9"]), max_size=3),
        min_size=len(_ITEMS),
        max_size=len(_ITEMS),
    ),
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 8)), max_size=25),
)
def test_owns_variant_is_any_owned_partner(
    cells: set[tuple[int, int]],
    family: list[int],
    variants: list[list[str]],
    calls: list[tuple[int, int]],
) -> None:
    m = _matrix(cells)
    families = pl.DataFrame(
        {
            "item": _ITEMS,
            "item_name": _ITEMS,
            "family": [f"f{f}" for f in family],
            "family_name": [f"f{f}" for f in family],
            "family_size": [family.count(f) for f in family],
            "category": [None] * len(_ITEMS),
            "variants": variants,
            "variant_basis": [[] for _ in _ITEMS],
        },
        schema=FAMILIES_SCHEMA,
    )
    vocab = ItemVocabulary(m.items, ["x9"])
    cust = np.array([min(c, m.n_customers - 1) for c, _ in calls], dtype=np.int64)
    item = np.array([i % len(vocab.items) for _, i in calls], dtype=np.int64)
    owned = {(m.customers[r], m.items[c]) for r in range(m.n_customers) for c in m.row_items(r)}
    fam_of = dict(zip(_ITEMS, family, strict=True))
    links = dict(zip(_ITEMS, variants, strict=True))
    expected = []
    for r, i in zip(cust.tolist(), item.tolist(), strict=True):
        name = vocab.items[i]
        partners = {o for o in _ITEMS if o != name and name in fam_of and fam_of[o] == fam_of[name]}
        partners |= set(links.get(name, []))
        expected.append(any((m.customers[r], o) in owned for o in partners))
    assert owns_variant(cust, item, m, families, vocab).tolist() == expected


@given(
    hnp.arrays(np.int64, st.integers(0, 60), elements=st.integers(0, 9)),
    st.sampled_from([1, 2**20, 2**58]),
)
def test_stable_argsort_is_the_stable_argsort(keys: np.ndarray, scale: int) -> None:
    keys = keys * scale  # the largest scale cannot be packed: the fallback
    assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))


def test_stable_argsort_of_other_keys_is_the_stable_argsort() -> None:
    for keys in (np.array([2, -1, 2, 0]), np.array([0.5, 0.1, 0.5]), np.array([7])):
        assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))


@given(_cells, st.randoms(use_true_random=False))
def test_from_table_orders_cells_by_customer_then_item(cells: set[tuple[int, int]], rnd) -> None:
    rows = list(cells) or [(0, 0)]
    rnd.shuffle(rows)
    day = datetime(2024, 1, 1)
    m = CustomerItems.from_table(
        pl.DataFrame(
            {
                "customer_id": [_CUSTOMERS[r] for r, _ in rows],
                "item": [_ITEMS[c] for _, c in rows],
                "orders": [1] * len(rows),
                "quantity": [float(10 * r + c) for r, c in rows],
                "net_sales": [1.0] * len(rows),
                "first_date": [day] * len(rows),
                "last_date": [day] * len(rows),
            }
        )
    )
    expected = sorted((_CUSTOMERS[r], _ITEMS[c], float(10 * r + c)) for r, c in rows)
    got = [
        (m.customers[r], m.items[int(m.indices[p])], float(m.quantity[p]))
        for r in range(m.n_customers)
        for p in range(int(m.indptr[r]), int(m.indptr[r + 1]))
    ]
    assert got == expected
