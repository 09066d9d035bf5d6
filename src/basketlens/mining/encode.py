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

import gzip
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from basketlens.errors import InputError, ParameterError, SchemaError

logger = logging.getLogger(__name__)

__all__ = ["BasketMatrix", "read_basket_file", "read_fimi", "to_basket_matrix"]


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
        ids = None if self.basket_ids is None else tuple(self.basket_ids[i] for i in rows)
        return BasketMatrix(indptr, self.indices[pos], self.items, ids)

    def __repr__(self) -> str:
        return (
            f"BasketMatrix(n_baskets={self.n_baskets}, n_items={self.n_items}, "
            f"nnz={len(self.indices)})"
        )


def _from_pairs(
    rows: np.ndarray, codes: np.ndarray, n_rows: int, items: tuple[str, ...], ids: Any
) -> BasketMatrix:
    """CSR from (row, code) pairs: sorts, drops duplicate items within a basket."""
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
    baskets: pl.Series, item_ids: pl.Series, items: Sequence[str] | None = None
) -> BasketMatrix:
    """Encode parallel basket/item string Series (no nulls) into a BasketMatrix."""
    vocab = _vocabulary(item_ids, items)
    codes = item_ids.cast(pl.Enum(vocab)).to_physical().cast(pl.Int32)
    # one hash pass groups the lines by basket (order of first appearance)
    grouped = (
        pl.DataFrame({"basket": baskets, "code": codes})
        .group_by("basket", maintain_order=True)
        .agg(pl.col("code"))
    )
    lengths = grouped.get_column("code").list.len().to_numpy().astype(np.int64)
    flat = grouped.get_column("code").explode().to_numpy()
    rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    ids = tuple(grouped.get_column("basket").to_list())
    return _from_pairs(rows, flat, len(lengths), tuple(vocab.to_list()), ids)


def _from_frame(
    df: pl.DataFrame, basket_col: str, item_col: str, items: Sequence[str] | None
) -> BasketMatrix:
    for col in (basket_col, item_col):
        if col not in df.columns:
            raise SchemaError(
                f"column {col!r} not found in the basket table; columns are {df.columns}"
            )
    out = []
    for col in (basket_col, item_col):
        s = df.get_column(col)
        if s.dtype != pl.String:
            s = s.cast(pl.String)
        if s.null_count():
            row = int(s.is_null().arg_max())
            raise InputError(f"column {col!r} has a missing value in row {row}; drop or fill it")
        out.append(s)
    return _encode_long(out[0], out[1], items)


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
    return _from_pairs(rows, codes, n, tuple(vocab.to_list()), None)


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
            "to_basket_matrix got a string or path; use read_fimi or read_basket_file for files"
        )
    try:
        iter(data)
    except TypeError:
        raise InputError(
            f"cannot encode baskets from {type(data).__name__}; pass a list of baskets, "
            "a long table, a scipy sparse matrix or a BasketMatrix"
        ) from None
    return _from_lists(data, items)


def _read_lines(path: str | Path) -> tuple[Path, pl.Series]:
    """The lines of a (possibly gzipped) UTF-8 text file as a String Series."""
    path = Path(path)
    raw = _read_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}, line {line}: not valid UTF-8 text") from None
    if text.endswith("\n"):
        text = text[:-1]
    if not text:
        return path, pl.Series("line", [], dtype=pl.String)
    lines = pl.Series("line", [text]).str.split("\n").explode()
    return path, lines.str.strip_suffix("\r")


def _tokens(lines: pl.Series, sep: str) -> pl.DataFrame:
    """Long (row, line=token) table of the split lines; an empty line is an empty basket."""
    df = pl.DataFrame({"line": lines}).with_row_index("row")
    df = df.filter(pl.col("line").str.len_bytes() > 0)
    return df.with_columns(pl.col("line").str.split(sep)).explode("line")


def _matrix_from_tokens(
    long: pl.DataFrame, n_rows: int, vocab: pl.Series, labels: tuple[str, ...]
) -> BasketMatrix:
    rows = long.get_column("row").to_numpy().astype(np.int64)
    codes = long.get_column("line").cast(pl.Enum(vocab)).to_physical().to_numpy()
    return _from_pairs(rows, codes, n_rows, labels, None)


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read basket file {path}: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(f"basket file {path} is not a valid gzip file: {exc}") from None
    return raw


def read_fimi(path: str | Path) -> BasketMatrix:
    """Read a FIMI file: one basket per line, integer item ids separated by spaces (.gz ok).

    Parsed in numpy (no Python loop per item). Item ids are the integers' decimal forms,
    coded in numeric order; an empty line is an empty basket.

    Example:
        >>> m = read_fimi("retail.dat.gz")  # doctest: +SKIP
        >>> m.n_baskets  # doctest: +SKIP
        88162
    """
    from basketlens.mining import _core

    path = Path(path)
    raw = _read_bytes(path)
    rows, values, n_rows, err = _core.parse_fimi(raw)
    if err:
        line = n_rows
        text = raw.split(b"\n", line)[line - 1].decode("utf-8", "replace").strip()
        what = "has an item id over 18 digits" if err == 2 else "is not a list of integer item ids"
        raise InputError(
            f"{path}, line {line}: {text[:80]!r} {what} "
            "(FIMI files hold space-separated integers; for text labels use "
            "--format basket or read_basket_file)"
        )
    uniq = np.sort(values)
    if uniq.size > 1:
        uniq = uniq[np.concatenate(([True], uniq[1:] != uniq[:-1]))]
    if uniq.size and int(uniq[-1]) < 4 * len(values) + 1024:  # small ids: a lookup table
        lut = np.zeros(int(uniq[-1]) + 1, dtype=np.int32)
        lut[uniq] = np.arange(uniq.size, dtype=np.int32)
        codes = lut[values]
    else:
        codes = np.searchsorted(uniq, values).astype(np.int32)
    labels = tuple(str(v) for v in uniq.tolist())
    m = _from_pairs(rows.astype(np.int64), codes, n_rows, labels, None)
    logger.debug("read_fimi %s: %d baskets, %d items", path, m.n_baskets, m.n_items)
    return m


def read_basket_file(path: str | Path, *, sep: str = ",") -> BasketMatrix:
    """Read a basket file: one basket per line, item labels separated by ``sep`` (.gz ok).

    Labels are kept verbatim (no trimming); an empty line is an empty basket; an empty
    label (e.g. ``a,,b``) is an error naming the line.

    Example:
        >>> m = read_basket_file("groceries.csv.gz")  # doctest: +SKIP
        >>> m.n_baskets, m.n_items  # doctest: +SKIP
        (9835, 169)
    """
    if not isinstance(sep, str) or not sep or sep in "\r\n":
        raise ParameterError(f"sep must be a non-empty string without newlines; got {sep!r}")
    path, lines = _read_lines(path)
    long = _tokens(lines, sep)
    empty = long.get_column("line").str.len_bytes() == 0
    if empty.any():
        i = int(empty.arg_max())
        raise InputError(
            f"{path}, line {int(long['row'][i]) + 1}: empty item between separators {sep!r}"
        )
    vocab = long.get_column("line").unique().sort()
    m = _matrix_from_tokens(long, len(lines), vocab, tuple(vocab.to_list()))
    logger.debug("read_basket_file %s: %d baskets, %d items", path, m.n_baskets, m.n_items)
    return m
