"""Basket encoding: the sparse basket × item matrix every miner works on.

One vocabulary (``items``: code → item id) is shared by a run and every subset of its rows, so
results of different scopes are comparable. Item codes follow the sort order of the item ids
(numeric order for FIMI files); baskets keep their order of first appearance.

Example:
    >>> m = to_basket_matrix([["milk", "bread"], ["milk"], ["beer", "milk", "milk"]])
    >>> m.items, m.n_baskets, m.item_counts().tolist()
    (('beer', 'bread', 'milk'), 3, [1, 1, 3])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from basketlens.errors import InputError, ParameterError, SchemaError

__all__ = ["BasketMatrix", "from_pairs", "lines_matrix", "to_basket_matrix"]


@dataclass(frozen=True)
class BasketMatrix:
    """Baskets as a CSR matrix: row ``b`` holds the sorted, unique item codes of basket ``b``.

    Example:
        >>> m = to_basket_matrix([["a", "b"], ["b"]])
        >>> m.indptr.tolist(), m.indices.tolist(), m.subset([1]).n_baskets
        ([0, 2, 3], [0, 1, 1], 1)
    """

    indptr: np.ndarray  # int64, len n_baskets + 1
    indices: np.ndarray  # int32 item codes, sorted and unique within each row
    items: tuple[str, ...]  # code -> item id
    basket_ids: tuple[str, ...] | None = None

    @property
    def n_baskets(self) -> int:
        """Number of baskets (rows)."""
        return len(self.indptr) - 1

    @property
    def n_items(self) -> int:
        """Size of the shared vocabulary (columns), including items absent from these rows."""
        return len(self.items)

    def item_counts(self) -> np.ndarray:
        """Number of baskets containing each item code (int64, length ``n_items``)."""
        return np.bincount(self.indices, minlength=self.n_items).astype(np.int64)

    def subset(self, rows: np.ndarray | Sequence[int]) -> BasketMatrix:
        """The baskets ``rows`` (indices or a boolean mask), with the same vocabulary."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (self.n_baskets,):
                raise ParameterError(
                    f"rows mask must have length n_baskets={self.n_baskets}; got {rows.shape[0]}"
                )
            rows = np.flatnonzero(rows)
        rows = rows.astype(np.int64, copy=False)
        if rows.size and (rows.min() < -self.n_baskets or rows.max() >= self.n_baskets):
            raise ParameterError(f"rows must be in [0, {self.n_baskets}); got out-of-range rows")
        rows = np.where(rows < 0, rows + self.n_baskets, rows)
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        # gather positions: for each output slot, start of its row + offset within the row
        pos = np.arange(indptr[-1], dtype=np.int64) - np.repeat(indptr[:-1] - starts, lengths)
        ids = None if self.basket_ids is None else _pick(self.basket_ids, rows)
        return BasketMatrix(indptr, self.indices[pos], self.items, ids)

    def __repr__(self) -> str:
        return (
            f"BasketMatrix(n_baskets={self.n_baskets}, n_items={self.n_items}, "
            f"nnz={len(self.indices)})"
        )


def _pick(values: tuple[str, ...], rows: np.ndarray) -> tuple[str, ...]:
    """``tuple(values[i] for i in rows)``, with the indexing done by ``itemgetter``.

    Example:
        >>> _pick(("a", "b", "c"), np.array([2, 0])), _pick(("a",), np.array([0]))
        (('c', 'a'), ('a',))
    """
    if len(rows) < 2:
        return tuple(values[i] for i in rows.tolist())
    return itemgetter(*rows.tolist())(values)


def from_pairs(
    rows: np.ndarray, codes: np.ndarray, n_rows: int, items: tuple[str, ...], ids: Any
) -> BasketMatrix:
    """CSR from (row, code) pairs: sorts, drops duplicate items within a basket.

    Example:
        >>> from_pairs(np.array([1, 0, 1]), np.array([0, 1, 0]), 2, ("a", "b"), None).indptr
        array([0, 1, 2])
    """
    n_items = max(len(items), 1)
    key = rows.astype(np.int64) * n_items + codes.astype(np.int64)
    if key.size > 1 and not bool(np.all(key[1:] >= key[:-1])):
        key = np.sort(key)  # by row then code (np.unique hashes, far slower here)
    if key.size > 1:
        key = key[np.concatenate(([True], key[1:] != key[:-1]))]  # duplicates collapse
    r = key // n_items
    indices = (key - r * n_items).astype(np.int32)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n_rows), out=indptr[1:])
    return BasketMatrix(indptr, indices, items, ids)


def _vocabulary(item_ids: pl.Series, items: Sequence[str] | None) -> pl.Series:
    """The sorted item ids, or the given vocabulary (checked: unique, covers every item)."""
    if items is None:
        return item_ids.unique().sort()
    vocab = pl.Series("item", [str(x) for x in items], dtype=pl.String)
    if vocab.n_unique() != len(vocab):
        raise ParameterError("items labels must be unique")
    unknown = item_ids.filter(~item_ids.is_in(vocab.implode()))
    if len(unknown):
        raise InputError(
            f"item {unknown[0]!r} is not in the given items vocabulary "
            f"({unknown.n_unique()} unknown item ids); add it or drop those lines"
        )
    return vocab


def _encode_long(
    baskets: pl.Series,
    item_ids: pl.Series,
    items: Sequence[str] | None = None,
    first: pl.Series | None = None,
) -> tuple[BasketMatrix, pl.Series | None]:
    """Encode parallel basket/item string Series (no nulls) into a BasketMatrix; with
    ``first`` (a Series parallel to them), also its first value in each basket row."""
    vocab = _vocabulary(item_ids, items)
    codes = item_ids.cast(pl.Enum(vocab)).to_physical().cast(pl.Int32)
    # one hash pass groups the lines by basket (order of first appearance)
    columns = {"basket": baskets, "code": codes}
    if first is not None:
        columns["first"] = first
    grouped = (
        pl.DataFrame(columns)
        .group_by("basket", maintain_order=True)
        .agg(pl.col("code"), *([pl.col("first").first()] if first is not None else []))
    )
    lengths = grouped.get_column("code").list.len().to_numpy().astype(np.int64)
    flat = grouped.get_column("code").explode().to_numpy()
    rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    ids = tuple(grouped.get_column("basket").to_list())
    matrix = from_pairs(rows, flat, len(lengths), tuple(vocab.to_list()), ids)
    return matrix, None if first is None else grouped.get_column("first")


def _checked(df: pl.DataFrame, columns: tuple[str, ...]) -> list[pl.Series]:
    """``columns`` of the basket table as text, refusing a missing column or value."""
    for col in columns:
        if col not in df.columns:
            raise SchemaError(
                f"column {col!r} not found in the basket table; columns are {df.columns}"
            )
    out = []
    for col in columns:
        s = df.get_column(col)
        if s.dtype != pl.String:
            s = s.cast(pl.String)
        if s.null_count():
            row = int(s.is_null().arg_max())
            raise InputError(f"column {col!r} has a missing value in row {row}; drop or fill it")
        out.append(s)
    return out


def _from_frame(
    df: pl.DataFrame, basket_col: str, item_col: str, items: Sequence[str] | None
) -> BasketMatrix:
    baskets, item_ids = _checked(df, (basket_col, item_col))
    return _encode_long(baskets, item_ids, items)[0]


def lines_matrix(lines: pl.DataFrame) -> tuple[BasketMatrix, pl.Series]:
    """The :class:`BasketMatrix` of ``lines`` (``basket``, ``item``, ``unit``) and the unit
    (as text) of each basket row: the unit of the basket's first line — one grouping of the
    lines for both.

    Example:
        >>> lines = pl.DataFrame({"basket": ["1", "2", "1"], "item": ["a", "b", "c"],
        ...                       "unit": ["y", "x", "z"]})
        >>> m, units = lines_matrix(lines)
        >>> m.indptr.tolist(), units.to_list()
        ([0, 2, 3], ['y', 'x'])
    """
    baskets, item_ids = _checked(lines, ("basket", "item"))
    matrix, units = _encode_long(baskets, item_ids, None, lines["unit"].cast(pl.String))
    assert units is not None
    return matrix, units


def _from_sparse(data: Any, items: Sequence[str] | None) -> BasketMatrix:
    csr = data.tocsr(copy=True)
    csr.eliminate_zeros()
    csr.sum_duplicates()
    csr.sort_indices()
    n_cols = csr.shape[1]
    if items is None:
        labels = tuple(str(j) for j in range(n_cols))
    else:
        labels = tuple(str(x) for x in items)
        if len(labels) != n_cols:
            raise ParameterError(
                f"items must have one label per column ({n_cols}); got {len(labels)}"
            )
        if len(set(labels)) != len(labels):
            raise ParameterError("items labels must be unique")
    return BasketMatrix(csr.indptr.astype(np.int64), csr.indices.astype(np.int32), labels, None)


def _from_lists(data: Iterable[Iterable[str]], items: Sequence[str] | None) -> BasketMatrix:
    flat: list[str] = []
    lengths: list[int] = []
    for i, basket in enumerate(data):
        if isinstance(basket, str | bytes):
            raise InputError(
                f"basket {i} is a string ({basket!r}); pass each basket as a list of items"
            )
        before = len(flat)
        flat.extend(x if isinstance(x, str) else str(x) for x in basket)
        lengths.append(len(flat) - before)
    n = len(lengths)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.asarray(lengths, dtype=np.int64))
    s = pl.Series(flat, dtype=pl.String)
    vocab = _vocabulary(s, items)
    codes = s.cast(pl.Enum(vocab)).to_physical().to_numpy()
    return from_pairs(rows, codes, n, tuple(vocab.to_list()), None)


def to_basket_matrix(
    data: Any,
    *,
    basket_col: str = "basket",
    item_col: str = "item",
    items: Sequence[str] | None = None,
) -> BasketMatrix:
    """Encode baskets as a :class:`BasketMatrix`.

    ``data`` is a list of baskets (iterables of item ids; duplicates collapse), a Polars or
    pandas long table with ``basket_col`` / ``item_col``, a scipy sparse matrix (non-zero =
    present; ``items`` labels the columns) or a BasketMatrix (returned as is). For lists and
    tables, ``items`` fixes the vocabulary (code = position), e.g. to share it across runs;
    by default codes follow the sorted item ids.

    Example:
        >>> import polars as pl
        >>> df = pl.DataFrame({"basket": ["1", "1", "2"], "item": ["b", "a", "a"]})
        >>> to_basket_matrix(df).indices.tolist()
        [0, 1, 0]
    """
    if isinstance(data, BasketMatrix):
        return data
    if isinstance(data, pl.LazyFrame):
        data = data.collect()
    if isinstance(data, pl.DataFrame):
        return _from_frame(data, basket_col, item_col, items)
    mod = type(data).__module__
    if mod.startswith("pandas"):
        if not hasattr(data, "columns"):
            raise InputError("a pandas object must be a DataFrame with basket and item columns")
        return _from_frame(pl.from_pandas(data), basket_col, item_col, items)
    if mod.startswith("scipy.sparse"):
        return _from_sparse(data, items)
    if isinstance(data, str | bytes | Path):
        raise InputError(
            "to_basket_matrix got a string or path; use read_baskets (or read_fimi or "
            "read_basket_file) for files"
        )
    try:
        iter(data)
    except TypeError:
        raise InputError(
            f"cannot encode baskets from {type(data).__name__}; pass a list of baskets, "
            "a long table, a scipy sparse matrix or a BasketMatrix"
        ) from None
    return _from_lists(data, items)
