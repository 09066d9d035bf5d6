"""How many customers stand behind a rule: the customers with a basket holding all its items.

Basket counts overstate the evidence of a ledger where customers reorder: a restaurant that
orders the same three items every week gives a "rule" of fifty baskets and one customer — its
habit, not a pattern to sell to anybody else. Fisher's test cannot see this (it takes baskets
as independent), so the ``run`` profile also asks every rule to be seen at ``min_customers``
customers (:func:`customer_counts`).

The count is exact. The compiled core intersects the items' basket lists and counts the
distinct customers of the baskets left (``_core.unit_counts``); without it, each item's
baskets are a bitset, the baskets of an itemset the AND of its items' bitsets, and only the
set bits are expanded to baskets, then to customers.

Example:
    >>> import numpy as np
    >>> from basketlens.mining import to_basket_matrix
    >>> m = to_basket_matrix([["a", "b"], ["a", "b"], ["a", "b"], ["a"]])
    >>> units = np.array([0, 0, 1, 1])  # customer of each basket
    >>> customer_counts(m, units, [["a", "b"], ["a"]]).tolist()
    [2, 2]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from basketlens.errors import ParameterError
from basketlens.mining._kernel import core as _core
from basketlens.mining.encode import BasketMatrix

__all__ = ["customer_counts", "rule_customers", "rule_itemsets"]

_CHUNK_WORDS = 4_000_000  # itemset × word cells processed at once (32 MB)
_CHUNK_SEEN = 32_000_000  # itemset × customer flags processed at once (32 MB)


def _bitsets(matrix: BasketMatrix) -> np.ndarray:
    """(n_items + 1) × words uint64: bit b of row i is set when basket b holds item i; the
    last row is all ones (the padding of shorter itemsets)."""
    words = max(1, (matrix.n_baskets + 63) // 64)
    bits = np.zeros((matrix.n_items + 1, words), dtype=np.uint64)
    rows = np.repeat(np.arange(matrix.n_baskets, dtype=np.int64), np.diff(matrix.indptr))
    flat = matrix.indices.astype(np.int64) * words + (rows >> 6)
    # each (item, basket) is stored once, so adding the bits is OR-ing them
    np.add.at(bits.reshape(-1), flat, np.left_shift(np.uint64(1), (rows & 63).astype(np.uint64)))
    bits[-1] = np.iinfo(np.uint64).max
    return bits


def _set_bits(acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, bit index) of every set bit of a 2-d uint64 array, lowest bits peeled off one
    round at a time (work in proportion to the set bits, not to 64 × the words)."""
    rows, cols = np.nonzero(acc)
    values = acc[rows, cols]
    out_rows, out_bits = [], []
    while values.size:
        low = values & (~values + np.uint64(1))  # the lowest set bit
        # a power of two is exact in float64, and so is its log2
        out_bits.append(cols * 64 + np.log2(low.astype(np.float64)).astype(np.int64))
        out_rows.append(rows)
        values = values ^ low
        left = values != 0
        values, rows, cols = values[left], rows[left], cols[left]
    if not out_rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_rows), np.concatenate(out_bits)


def customer_counts(
    matrix: BasketMatrix, units: np.ndarray, itemsets: Sequence[Sequence[str]] | pl.Series
) -> np.ndarray:
    """Number of distinct customers with a basket holding every item of each itemset.

    ``units`` is the customer (a non-negative integer code) of each basket row of ``matrix``;
    item ids unknown to ``matrix`` make an itemset unseen (0).
    """
    units = np.asarray(units, dtype=np.int64)
    if units.shape != (matrix.n_baskets,):
        raise ParameterError(
            f"units must give one customer per basket ({matrix.n_baskets}); got {units.shape}"
        )
    series = itemsets if isinstance(itemsets, pl.Series) else pl.Series(list(itemsets))
    series = series.cast(pl.List(pl.String))
    n = len(series)
    out = np.zeros(n, dtype=np.int64)
    if n == 0 or matrix.n_baskets == 0:
        return out
    lengths = series.list.len().fill_null(0).to_numpy().astype(np.int64)
    width = max(int(lengths.max()), 1)
    values = series.explode().drop_nulls()
    codes = values.cast(pl.Enum(list(matrix.items)), strict=False).to_physical()
    flat = codes.fill_null(-1).to_numpy().astype(np.int64)
    pad = np.full((n, width), matrix.n_items, dtype=np.int64)  # padding: the all-ones row
    pos = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    pad[np.repeat(np.arange(n), lengths), pos] = flat
    unknown = (pad < 0).any(axis=1)
    pad[pad < 0] = matrix.n_items
    # rules of one itemset (A + B -> C, A + C -> B, ...) are counted once
    pad = np.sort(pad, axis=1)
    base = matrix.n_items + 1
    if base**width < 2**62:  # rows packed in one integer: a 1-d unique, much faster
        key = pad @ (base ** np.arange(width - 1, -1, -1, dtype=np.int64))
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        pad = pad[first]
    else:
        pad, inverse = np.unique(pad, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    n, out = len(pad), np.zeros(len(pad), dtype=np.int64)
    n_units = int(units.max()) + 1
    if _core is not None:  # the same counts by tid-list intersections, compiled
        keep = pad < matrix.n_items  # drop the padding
        flat = pad[keep].astype(np.int32)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(keep.sum(axis=1), out=offsets[1:])
        out = _core.unit_counts(
            np.ascontiguousarray(matrix.indptr, dtype=np.int64),
            np.ascontiguousarray(matrix.indices, dtype=np.int32),
            matrix.n_items,
            np.ascontiguousarray(units),
            n_units,
            flat,
            offsets,
        )
        counts = out[inverse]
        counts[unknown] = 0
        return counts
    bits = _bitsets(matrix)
    words = bits.shape[1]
    step = max(1, min(_CHUNK_WORDS // words, _CHUNK_SEEN // n_units))
    for lo in range(0, n, step):
        part = pad[lo : lo + step]
        acc = bits[part[:, 0]].copy()
        for j in range(1, width):
            acc &= bits[part[:, j]]
        z, basket = _set_bits(acc)
        keep = basket < matrix.n_baskets
        seen = np.zeros(len(part) * n_units, dtype=bool)  # itemset × customer, set when seen
        seen[z[keep] * n_units + units[basket[keep]]] = True
        out[lo : lo + len(part)] = seen.reshape(len(part), n_units).sum(axis=1)
    counts = out[inverse]
    counts[unknown] = 0
    return counts


def rule_customers(table: pl.DataFrame, matrix: BasketMatrix, units: np.ndarray) -> np.ndarray:
    """Customers behind each rule of ``table``: with a basket holding antecedent ∪ consequent.

    Example:
        >>> from basketlens.mining import to_basket_matrix
        >>> m = to_basket_matrix([["a", "b"], ["a", "b"], ["b"]])
        >>> t = pl.DataFrame({"antecedent": [["a"], ["b"]], "consequent": [["b"], ["a"]]})
        >>> rule_customers(t, m, np.array([0, 1, 1])).tolist()
        [2, 2]
    """
    if table.height == 0:
        return np.zeros(0, dtype=np.int64)
    return customer_counts(matrix, units, rule_itemsets(table))


def rule_itemsets(table: pl.DataFrame) -> pl.Series:
    """Each rule's itemset, antecedent ∪ consequent (``list<str>``).

    Example:
        >>> t = pl.DataFrame({"antecedent": [["a"]], "consequent": [["b"]]})
        >>> rule_itemsets(t).to_list()
        [['a', 'b']]
    """
    return table.select(z=pl.concat_list("antecedent", "consequent"))["z"]
