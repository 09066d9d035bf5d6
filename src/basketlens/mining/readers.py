"""Basket files → :class:`~basketlens.mining.encode.BasketMatrix`: :func:`read_baskets`.

Three formats: ``"basket"`` (one basket a line, item labels separated by ``sep``),
``"fimi"`` (one basket a line, integer item ids separated by spaces) — both may be gzipped —
and ``"long"`` (a table with one row per basket line, read by
:func:`basketlens.ingest.readers.read_table`: CSV, Parquet, Excel, JSON lines).

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "baskets.csv"
    >>> _ = p.write_text("milk,bread\\nmilk\\n")
    >>> m = read_baskets(p)
    >>> m.items, m.n_baskets
    (('bread', 'milk'), 2)
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from basketlens._validation import check_option
from basketlens.errors import InputError, ParameterError, SchemaError
from basketlens.ingest.readers import read_table
from basketlens.mining._kernel import core as _core
from basketlens.mining.encode import BasketMatrix, from_pairs, to_basket_matrix

logger = logging.getLogger(__name__)

__all__ = [
    "BASKET_FORMATS", "read_basket_file", "read_baskets", "read_fimi", "read_long",
    "without_items",
]  # fmt: skip

#: The formats :func:`read_baskets` reads.
BASKET_FORMATS: tuple[str, ...] = ("basket", "fimi", "long")


def read_baskets(
    path: str | Path,
    *,
    format: Literal["basket", "fimi", "long"] = "basket",
    sep: str = ",",
    basket_col: str = "basket",
    item_col: str = "item",
    exclude_items: Sequence[str] = (),
) -> BasketMatrix:
    """Read a basket file in ``format``: "basket" (``sep``-separated labels, one basket a
    line), "fimi" (space-separated integer ids) or "long" (a table with ``basket_col`` and
    ``item_col``). See :func:`read_basket_file`, :func:`read_fimi`, :func:`read_long`.
    ``exclude_items`` drops placeholder items such as "NONE" (:func:`without_items`).

    Example:
        >>> m = read_baskets("groceries.csv.gz")  # doctest: +SKIP
        >>> m.n_baskets, m.n_items  # doctest: +SKIP
        (9835, 169)
    """
    check_option("format", format, BASKET_FORMATS)
    if format == "fimi":
        matrix = read_fimi(path)
    elif format == "long":
        matrix = read_long(path, basket_col=basket_col, item_col=item_col)
    else:
        matrix = read_basket_file(path, sep=sep)
    return without_items(matrix, exclude_items) if exclude_items else matrix


def without_items(matrix: BasketMatrix, exclude: Sequence[str]) -> BasketMatrix:
    """``matrix`` without the items labelled ``exclude`` (case-insensitive, trimmed); baskets
    left empty by the exclusion are dropped, as cleaning drops their lines in a run.

    Example:
        >>> m = without_items(to_basket_matrix([["a", "NONE"], ["NONE"], ["b"]]), ["none"])
        >>> m.items, m.n_baskets
        (('a', 'b'), 2)
    """
    wanted = {e.strip().casefold() for e in exclude}
    drop = np.array([label.strip().casefold() in wanted for label in matrix.items], dtype=bool)
    if not drop.any():
        logger.info("exclude_items: none of %s is an item", sorted(wanted))
        return matrix
    keep_code = ~drop[matrix.indices]
    new_code = np.cumsum(~drop) - 1  # old code -> new code (monotonic: rows stay sorted)
    before = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(matrix.n_baskets), before)[keep_code]
    after = np.bincount(rows, minlength=matrix.n_baskets)
    alive = (after > 0) | (before == 0)  # keep baskets that were empty to begin with
    indptr = np.zeros(int(alive.sum()) + 1, dtype=np.int64)
    np.cumsum(after[alive], out=indptr[1:])
    ids = matrix.basket_ids
    if ids is not None:
        ids = tuple(i for i, a in zip(ids, alive.tolist(), strict=True) if a)
    items = tuple(label for label, d in zip(matrix.items, drop.tolist(), strict=True) if not d)
    logger.info(
        "exclude_items: %d item(s) dropped, %d basket(s) left empty dropped",
        int(drop.sum()),
        int((~alive).sum()),
    )
    return BasketMatrix(indptr, new_code[matrix.indices[keep_code]].astype(np.int32), items, ids)


def read_long(
    path: str | Path, *, basket_col: str = "basket", item_col: str = "item"
) -> BasketMatrix:
    """Read a long table (one row per basket line) with ``basket_col`` and ``item_col``.

    Any format :func:`~basketlens.ingest.readers.read_table` opens; other columns are ignored.
    A missing column is an error naming the file and the columns it has.

    Example:
        >>> m = read_long("lines.parquet", basket_col="order", item_col="sku")  # doctest: +SKIP
    """
    table = read_table(Path(path), role="baskets")
    missing = [c for c in (basket_col, item_col) if c not in table.columns]
    if missing:
        raise SchemaError(
            f"{path}: no column {', '.join(map(repr, missing))}; columns are "
            f"{', '.join(table.columns)} (choose them with basket_col / item_col; "
            "--basket-col / --item-col on the command line)"
        )
    long = table.frame.select(basket_col, item_col).collect()
    m = to_basket_matrix(long, basket_col=basket_col, item_col=item_col)
    logger.debug("read_long %s: %d baskets, %d items", path, m.n_baskets, m.n_items)
    return m


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
    return from_pairs(rows, codes, n_rows, labels, None)


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
    if _core is None:  # pragma: no cover - only on a broken build
        raise InputError("reading FIMI files needs the compiled mining core; reinstall basketlens")
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
    m = from_pairs(rows.astype(np.int64), codes, n_rows, labels, None)
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
