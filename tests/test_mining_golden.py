"""Golden counts on real data (../shared/data), agreed by independent implementations."""

from __future__ import annotations

from pathlib import Path

import pytest

from basketlens.mining import mine_itemsets, read_basket_file, read_fimi

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def data_file(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real dataset not available: {path} (see README: shared data)")
    return path


@pytest.fixture(scope="module")
def groceries():
    return read_basket_file(data_file("groceries", "groceries.csv.gz"), sep=",")


def test_groceries_summary(groceries) -> None:
    assert (groceries.n_baskets, groceries.n_items, len(groceries.indices)) == (9835, 169, 43367)
    counts = dict(zip(groceries.items, groceries.item_counts().tolist(), strict=True))
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:5]
    assert top == [
        ("whole milk", 2513), ("other vegetables", 1903), ("rolls/buns", 1809),
        ("soda", 1715), ("yogurt", 1372),
    ]  # fmt: skip
    assert "cream cheese " in counts  # labels are kept verbatim


@pytest.mark.parametrize(
    ("target", "expected"), [("all", 13492), ("closed", 13464), ("maximal", 7794)]
)
def test_groceries_itemsets(groceries, target: str, expected: int) -> None:
    its = mine_itemsets(groceries, min_support=0.001, target=target)
    assert its.min_count == 10
    assert its.table.height == expected
    if target == "all":
        first = its.table.row(0, named=True)
        assert (first["itemset"], first["count"]) == (["whole milk"], 2513)


@pytest.mark.parametrize(
    ("name", "min_support", "min_count", "expected"),
    [("retail", 0.001, 89, 7589), ("retail", 0.0005, 45, 19242), ("chess", 0.7, 2238, 48731)],
)
def test_fimi_itemsets(name: str, min_support: float, min_count: int, expected: int) -> None:
    m = read_fimi(data_file("fimi", f"{name}.dat.gz"))
    assert m.n_baskets == {"retail": 88162, "chess": 3196}[name]
    its = mine_itemsets(m, min_support=min_support)
    assert (its.min_count, len(its)) == (min_count, expected)
