"""Basket encoders: lists, long tables, sparse matrices and files give the same matrix."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from basketlens.errors import InputError, ParameterError, SchemaError
from basketlens.mining import BasketMatrix, read_basket_file, read_fimi, to_basket_matrix

BASKETS = [["b", "a", "c"], ["a", "b", "a"], [], ["d"], ["c", "a"]]
INDPTR = [0, 3, 5, 5, 6, 8]
INDICES = [0, 1, 2, 0, 1, 3, 0, 2]


def assert_matrix(m: BasketMatrix, items: tuple[str, ...] = ("a", "b", "c", "d")) -> None:
    assert m.indptr.dtype == np.int64 and m.indices.dtype == np.int32
    assert m.items == items
    assert m.indptr.tolist() == INDPTR
    assert m.indices.tolist() == INDICES


def test_from_lists_collapses_duplicates() -> None:
    m = to_basket_matrix(BASKETS)
    assert_matrix(m)
    assert (m.n_baskets, m.n_items, m.basket_ids) == (5, 4, None)
    assert m.item_counts().tolist() == [3, 2, 2, 1]
    assert to_basket_matrix(m) is m


def test_long_tables_agree() -> None:
    long = pl.DataFrame(
        {
            "inv": ["1", "1", "1", "2", "2", "2", "4", "5", "5"],
            "sku": ["b", "a", "c", "a", "b", "a", "d", "c", "a"],
        }
    )
    m = to_basket_matrix(long, basket_col="inv", item_col="sku")
    assert m.basket_ids == ("1", "2", "4", "5")  # order of first appearance
    assert m.indices.tolist() == INDICES
    assert m.indptr.tolist() == [0, 3, 5, 6, 8]
    m2 = to_basket_matrix(long.to_pandas(), basket_col="inv", item_col="sku")
    assert (m2.indptr.tolist(), m2.indices.tolist(), m2.items) == (
        m.indptr.tolist(), m.indices.tolist(), m.items,
    )  # fmt: skip
    m3 = to_basket_matrix(long.lazy(), basket_col="inv", item_col="sku")
    assert m3.indices.tolist() == INDICES
    ints = to_basket_matrix(pl.DataFrame({"basket": [7, 7, 3], "item": [20, 3, 3]}))
    assert (ints.basket_ids, ints.items, ints.indices.tolist()) == (("7", "3"), ("20", "3"),
                                                                    [0, 1, 1])  # fmt: skip


def test_given_vocabulary() -> None:
    vocab = ["d", "c", "b", "a", "z"]
    m = to_basket_matrix(BASKETS, items=vocab)
    assert m.items == tuple(vocab) and m.n_items == 5
    assert m.indptr.tolist() == INDPTR and m.indices.tolist() == [1, 2, 3, 2, 3, 0, 1, 3]
    long = pl.DataFrame({"basket": ["1", "1"], "item": ["a", "z"]})
    assert to_basket_matrix(long, items=vocab).indices.tolist() == [3, 4]
    with pytest.raises(InputError, match="item 'q' is not in the given items vocabulary"):
        to_basket_matrix([["a", "q"]], items=vocab)
    with pytest.raises(ParameterError, match="items labels must be unique"):
        to_basket_matrix(long, items=["a", "a", "z"])


def test_long_table_errors() -> None:
    with pytest.raises(SchemaError, match="column 'basket' not found"):
        to_basket_matrix(pl.DataFrame({"invoice": ["1"], "item": ["a"]}))
    with pytest.raises(InputError, match="column 'item' has a missing value in row 1"):
        to_basket_matrix(pl.DataFrame({"basket": ["1", "2"], "item": ["a", None]}))
    with pytest.raises(InputError, match="basket 0 is a string"):
        to_basket_matrix(["abc"])
    with pytest.raises(InputError, match="use read_baskets"):
        to_basket_matrix("groceries.csv")


def test_from_scipy_sparse() -> None:
    dense = np.zeros((5, 4))
    for r, row in enumerate(BASKETS):
        for item in row:
            dense[r, "abcd".index(item)] = 2.0
    dense[2, 1] = 0.0
    for fmt in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        assert_matrix(to_basket_matrix(fmt(dense), items=["a", "b", "c", "d"]))
    assert to_basket_matrix(sp.csr_matrix(dense)).items == ("0", "1", "2", "3")
    with pytest.raises(ParameterError, match=r"items must have one label per column \(4\); got 3"):
        to_basket_matrix(sp.csr_matrix(dense), items=["a", "b", "c"])


def test_subset_keeps_vocabulary() -> None:
    m = to_basket_matrix(BASKETS)
    s = m.subset(np.array([4, 0]))
    assert s.items == m.items and s.n_items == 4
    assert s.indptr.tolist() == [0, 2, 5] and s.indices.tolist() == [0, 2, 0, 1, 2]
    mask = m.subset(np.array([False, False, True, True, False]))
    assert mask.indptr.tolist() == [0, 0, 1] and mask.indices.tolist() == [3]
    assert m.subset([]).n_baskets == 0
    with pytest.raises(ParameterError, match="rows must be in"):
        m.subset([5])


def write(path: Path, text: str, *, gz: bool) -> Path:
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_files_agree(tmp_path: Path, gz: bool) -> None:
    fimi = write(tmp_path / "b.dat", "2 1 3 \n1  2 1\n\n4\r\n3 1", gz=gz)
    m = read_fimi(fimi)
    assert_matrix(m, items=("1", "2", "3", "4"))
    text = "b,a,c\na,b,a\n\nd\r\nc,a\n"
    m2 = read_basket_file(write(tmp_path / "b.csv", text, gz=gz))
    assert_matrix(m2)
    m3 = read_basket_file(write(tmp_path / "b.txt", text.replace(",", "|"), gz=gz), sep="|")
    assert_matrix(m3)


def test_fimi_numeric_order_and_labels_verbatim(tmp_path: Path) -> None:
    m = read_fimi(write(tmp_path / "n.dat", "10 9\n100\n", gz=False))
    assert m.items == ("9", "10", "100") and m.indices.tolist() == [0, 1, 2]
    b = read_basket_file(write(tmp_path / "l.csv", "cream cheese ,milk\n", gz=False))
    assert b.items == ("cream cheese ", "milk")
    assert read_fimi(write(tmp_path / "e.dat", "", gz=False)).n_baskets == 0


def test_malformed_files(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.dat", "1 2\n3 x4\n", gz=False)
    with pytest.raises(InputError, match=r"bad\.dat, line 2: '3 x4' is not a list of integer"):
        read_fimi(bad)
    long_id = write(tmp_path / "long.dat", "1\n2\n" + "9" * 19 + "\n", gz=False)
    with pytest.raises(InputError, match=r"line 3: .* over 18 digits"):
        read_fimi(long_id)
    empty_item = write(tmp_path / "bad.csv", "a,b\nc,,d\n", gz=False)
    with pytest.raises(InputError, match=r"bad\.csv, line 2: empty item between separators ','"):
        read_basket_file(empty_item)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a\nb\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.csv, line 3: not valid UTF-8"):
        read_basket_file(latin)
    with pytest.raises(InputError, match="cannot read basket file"):
        read_fimi(tmp_path / "missing.dat")
    with pytest.raises(InputError, match="not a valid gzip file"):
        read_fimi(tmp_path.joinpath("x.gz").write_bytes(b"\x1f\x8bxx") and tmp_path / "x.gz")
    with pytest.raises(ParameterError, match="sep must be a non-empty string"):
        read_basket_file(empty_item, sep="")


def test_vectorised_long_table_is_fast_enough() -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    df = pl.DataFrame(
        {
            "basket": pl.Series(rng.integers(0, 20_000, n)).cast(pl.String),
            "item": pl.Series(rng.integers(0, 5_000, n)).cast(pl.String),
        }
    )
    m = to_basket_matrix(df)
    assert len(m.indices) == df.unique().height
    assert m.n_baskets == df["basket"].n_unique()
