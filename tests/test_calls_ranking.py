"""The call list's numpy guts (ranking.py, evidence.py) against the Polars computations they
replaced: the same order, the same groups, the same variant flags."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from basketlens.opportunities.evidence import ItemVocabulary, owns_variant
from basketlens.opportunities.matrix import CustomerItems
from basketlens.opportunities.ranking import descending_keys, group_order, list_column

FLOATS = st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0, 2.5, float("nan"), 7.0]))


@given(st.lists(FLOATS, max_size=30))
@settings(max_examples=200, deadline=None)
def test_descending_keys_sort_as_polars(values: list[float | None]) -> None:
    s = pl.Series("x", values, dtype=pl.Float64)
    df = pl.DataFrame({"x": s, "i": np.arange(len(values))})
    want = df.sort(["x", "i"], descending=[True, False], nulls_last=True)["i"].to_list()
    keys = [np.arange(len(values)), *descending_keys(s)]
    assert np.lexsort(keys).tolist() == want


@st.composite
def evidence(draw: st.DrawFn) -> tuple[pl.DataFrame, bool]:
    n = draw(st.integers(0, 40))
    per_rule = draw(st.booleans())  # strength a function of the rule (the fast path) or not
    rules = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    values = draw(st.lists(FLOATS, min_size=7, max_size=7))
    rows = {
        "group": draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)),
        "rule_no": rules,
        "value": [values[r] for r in rules]
        if per_rule
        else draw(st.lists(FLOATS, min_size=n, max_size=n)),
        "lift": [values[(r + 3) % 7] for r in rules],
    }
    schema = {"group": pl.Int64, "rule_no": pl.Int64, "value": pl.Float64, "lift": pl.Float64}
    return pl.DataFrame(rows, schema=schema), per_rule


@given(evidence())
@settings(max_examples=300, deadline=None)
def test_group_order_matches_a_polars_sort(case: tuple[pl.DataFrame, bool]) -> None:
    ev, _ = case  # a rule may repeat in a group: ties keep the input order
    order, first = group_order(
        ev["group"].to_numpy(), ev["rule_no"].to_numpy(), [ev["value"], ev["lift"]]
    )
    want = (
        ev.with_row_index("i")
        .sort(
            ["group", "value", "lift", "rule_no", "i"],
            descending=[False, True, True, False, False],
            nulls_last=True,
        )["i"]
        .to_list()
    )
    assert order.tolist() == want
    groups = ev["group"].to_numpy()[order]
    assert first.tolist() == [k for k in range(len(groups)) if k == 0 or groups[k] != groups[k - 1]]


def test_list_column_cuts_at_the_starts() -> None:
    values = pl.Series(["a", "b", "c", "d"])
    got = list_column("ids", values, np.array([0, 1, 3]))
    assert got.dtype == pl.List(pl.String)
    assert got.to_list() == [["a"], ["b", "c"], ["d"]]
    assert list_column("ids", values.head(0), np.zeros(0, np.int64)).to_list() == []


def test_item_vocabulary_appends_unknown_ids() -> None:
    vocab = ItemVocabulary(("a", "c"), ["b", None, "a", "b"])
    assert vocab.items.to_list() == ["a", "c", "b"]
    codes = vocab.codes(pl.Series(["c", "b", None]))
    assert codes.tolist() == [1, 2, -1]
    assert vocab.matrix_codes(codes).tolist() == [1, -1, -1]


@given(st.data())
@settings(max_examples=100, deadline=None)
def test_owns_variant_matches_a_brute_force(data: st.DataObject) -> None:
    items = ["a", "b", "c", "d", "e"]
    bought = data.draw(st.lists(st.sets(st.sampled_from(items)), min_size=1, max_size=5))
    cells = pl.DataFrame(
        {
            "customer_id": [f"u{k}" for k, s in enumerate(bought) for _ in s],
            "item": [i for s in bought for i in sorted(s)],
        }
    )
    n = cells.height
    table = cells.with_columns(
        orders=pl.lit(1, pl.Int32), quantity=pl.lit(1.0), net_sales=pl.lit(1.0),
        first_date=pl.lit(None, pl.Datetime("us")), last_date=pl.lit(None, pl.Datetime("us")),
    )  # fmt: skip
    if n == 0:
        return
    matrix = CustomerItems.from_table(table)
    family = data.draw(st.lists(st.sampled_from(["f", "g", "h"]), min_size=5, max_size=5))
    links = data.draw(st.lists(st.lists(st.sampled_from([*items, "zz"]), max_size=2),
                               min_size=5, max_size=5))  # fmt: skip
    families = pl.DataFrame(
        {"item": items, "family": family, "variants": links},
        schema={"item": pl.String, "family": pl.String, "variants": pl.List(pl.String)},
    )
    vocab = ItemVocabulary(matrix.items, ["e", "zz"])
    cust = np.array(data.draw(st.lists(st.integers(0, matrix.n_customers - 1), max_size=8)))
    codes = st.integers(0, len(vocab.items) - 1)
    item = np.array(data.draw(st.lists(codes, min_size=len(cust), max_size=len(cust))), np.int64)
    got = owns_variant(cust.astype(np.int64), item, matrix, families, vocab)
    fam = dict(zip(items, family, strict=True))
    link = dict(zip(items, links, strict=True))
    for k in range(len(cust)):
        own = set(matrix.items[j] for j in matrix.row_items(int(cust[k])))
        it = vocab.items[int(item[k])]
        others = {o for o in items if o != it and it in fam and fam[o] == fam[it]}
        others |= set(link.get(it, []))
        assert got[k] == bool(others & own), (k, it, own, others)
