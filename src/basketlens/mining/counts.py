"""What mining reads from one scope's baskets: counts, never the baskets themselves.

Every step of mining after the baskets are built — threshold help, frequent itemsets, rules,
the customers behind a rule (``min_customers``), the purchase evidence of item families —
reads the baskets through :class:`BasketCounts`. Each answer is a count: the frequent itemsets
with their basket counts, or a sum over baskets or over customers. So a back-end that holds
the baskets in parts answers the sums by adding what each part answers (the Spark engine:
parts that hold whole customers, so customer counts add up too) and the itemsets by
partition-then-count, while one definition of every step serves both engines.

:class:`MatrixCounts` answers from a :class:`~basketlens.mining.encode.BasketMatrix` in
memory: the local engine, and each part of the Spark engine.

Example:
    >>> from basketlens.mining.encode import to_basket_matrix
    >>> m = to_basket_matrix([["a", "b"], ["a", "b"], ["a"], ["b"]])
    >>> counts = MatrixCounts(m, units=np.array([0, 1, 1, 2]))
    >>> counts.itemsets(min_count=2).table["count"].to_list()
    [3, 3, 2]
    >>> counts.customer_counts(pl.Series([["a", "b"], ["b"]])).tolist()
    [2, 3]
    >>> counts.pair_counts(np.array([0]), np.array([1])).tolist()
    [2]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from basketlens.errors import ParameterError
from basketlens.mining._kernel import core as _core
from basketlens.mining.customers import customer_counts
from basketlens.mining.encode import BasketMatrix, to_basket_matrix
from basketlens.mining.itemsets import Itemsets, mine_itemsets

__all__ = ["BasketCounts", "CustomerPairs", "MatrixCounts", "as_counts"]


@dataclass(frozen=True)
class CustomerPairs:
    """Customer-level counts of item pairs (i, j): customers who bought i (``a``), j (``b``),
    both — not necessarily in one basket — (``ab``); ``n_units``: customers in all.

    Every field is a sum over customers, so parts holding disjoint customers add up.
    """

    a: np.ndarray
    b: np.ndarray
    ab: np.ndarray
    n_units: int

    def __add__(self, other: CustomerPairs) -> CustomerPairs:
        return CustomerPairs(
            self.a + other.a, self.b + other.b, self.ab + other.ab, self.n_units + other.n_units
        )


class BasketCounts(ABC):
    """One scope's baskets as mining reads them (see the module docstring).

    ``items`` is the vocabulary (code → item id, shared by every scope of a run) and
    ``n_baskets`` the number of baskets; ``has_units`` tells whether the customer of each
    basket is known (``min_customers`` and the "instead" evidence of families need it).
    """

    items: tuple[str, ...]
    n_baskets: int

    @property
    def n_items(self) -> int:
        """Size of the vocabulary."""
        return len(self.items)

    @property
    @abstractmethod
    def has_units(self) -> bool:
        """Whether the customer of every basket is known."""

    @abstractmethod
    def item_counts(self) -> np.ndarray:
        """Baskets holding each item code (int64, one per item of the vocabulary)."""

    @abstractmethod
    def itemsets(
        self,
        *,
        min_count: int | None = None,
        min_support: float | None = None,
        max_len: int | None = None,
        max_itemsets: int | None = None,
        max_memory: int | None = None,
    ) -> Itemsets:
        """The exact frequent itemsets (all of them) with their basket counts; the parameters
        are :func:`~basketlens.mining.itemsets.mine_itemsets`'s, and so are the errors
        (:class:`~basketlens.errors.MiningBudgetError` beyond ``max_itemsets``)."""

    @abstractmethod
    def customer_counts(self, itemsets: pl.Series) -> np.ndarray:
        """Distinct customers with a basket holding every item of each itemset (``list<str>``
        series); see :func:`basketlens.mining.customers.customer_counts`."""

    @abstractmethod
    def pair_counts(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Baskets holding both item codes ``i[k]`` and ``j[k]`` (int64, one per pair)."""

    @abstractmethod
    def customer_pairs(self, i: np.ndarray, j: np.ndarray) -> CustomerPairs | None:
        """Customer-level counts of the pairs (None when the customers are unknown)."""


class MatrixCounts(BasketCounts):
    """:class:`BasketCounts` of a basket matrix in memory; ``units``: the customer (an integer
    code ≥ 0) of each basket row, or None."""

    def __init__(self, matrix: BasketMatrix, units: np.ndarray | None = None) -> None:
        self.matrix = matrix
        self.items = matrix.items
        self.n_baskets = matrix.n_baskets
        self.units = None if units is None else np.asarray(units, dtype=np.int64)
        if self.units is not None and self.units.shape != (matrix.n_baskets,):
            raise ParameterError(
                f"units must give one customer per basket ({matrix.n_baskets}); "
                f"got {self.units.shape}"
            )

    def __repr__(self) -> str:
        return f"MatrixCounts({self.matrix!r}, units={self.units is not None})"

    @property
    def has_units(self) -> bool:
        return self.units is not None

    def item_counts(self) -> np.ndarray:
        return self.matrix.item_counts()

    def itemsets(
        self,
        *,
        min_count: int | None = None,
        min_support: float | None = None,
        max_len: int | None = None,
        max_itemsets: int | None = None,
        max_memory: int | None = None,
    ) -> Itemsets:
        return mine_itemsets(
            self.matrix,
            min_count=min_count,
            min_support=min_support,
            max_len=max_len,
            max_itemsets=max_itemsets,
            max_memory=max_memory,
        )

    def customer_counts(self, itemsets: pl.Series) -> np.ndarray:
        if self.units is None:
            raise ParameterError("the customers of the baskets are unknown: pass units=")
        return customer_counts(self.matrix, self.units, itemsets)

    def _csc(self) -> sp.csc_matrix:
        cached = self.__dict__.get("_csc_cache")
        if cached is None:
            m = self.matrix
            data = np.ones(len(m.indices), dtype=bool)
            cached = sp.csr_matrix((data, m.indices, m.indptr), shape=(m.n_baskets, m.n_items))
            cached = self.__dict__["_csc_cache"] = cached.tocsc()
        return cached

    def pair_counts(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        m = self.matrix
        if _core is not None:
            return _rows_holding_both(m.indptr, m.indices, m.n_items, i, j)
        return _pair_counts(self._csc(), np.asarray(i), np.asarray(j))

    def customer_pairs(self, i: np.ndarray, j: np.ndarray) -> CustomerPairs | None:
        if self.units is None:
            return None
        n = self.n_baskets
        n_units = int(self.units.max()) + 1 if n else 0
        owner = sp.csr_matrix(
            (np.ones(n, dtype=np.int32), (self.units, np.arange(n))), shape=(n_units, n)
        )
        bought = (owner @ self._csc().astype(np.int32)).tocsr()
        bought.sum_duplicates()
        bought.sort_indices()
        i, j = np.asarray(i).astype(np.int64), np.asarray(j).astype(np.int64)
        per_item = np.bincount(bought.indices, minlength=self.n_items).astype(np.int64)
        if _core is not None:
            ab = _rows_holding_both(bought.indptr, bought.indices, self.n_items, i, j)
        else:
            ab = _pair_counts(bought.astype(bool).tocsc(), i, j)
        return CustomerPairs(a=per_item[i], b=per_item[j], ab=ab, n_units=n_units)


def _rows_holding_both(
    indptr: np.ndarray, indices: np.ndarray, n_items: int, i: np.ndarray, j: np.ndarray
) -> np.ndarray:
    """Rows of a CSR matrix (sorted, unique columns per row) holding both columns i[k] and
    j[k], by the compiled core (each row its own "customer" of ``_core.unit_counts``)."""
    n_rows = len(indptr) - 1
    pairs = np.stack([np.asarray(i), np.asarray(j)], axis=1).astype(np.int32).ravel()
    if len(pairs) == 0 or n_rows == 0:
        return np.zeros(len(pairs) // 2, dtype=np.int64)
    return _core.unit_counts(
        np.ascontiguousarray(indptr, dtype=np.int64),
        np.ascontiguousarray(indices, dtype=np.int32),
        n_items,
        np.arange(n_rows, dtype=np.int64),
        n_rows,
        pairs,
        np.arange(0, len(pairs) + 1, 2, dtype=np.int64),
    )


def _pair_counts(matrix: sp.csc_matrix, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Number of rows holding both columns i[k] and j[k] (boolean CSC ``matrix``)."""
    if len(i) == 0:
        return np.zeros(0, dtype=np.int64)
    a = matrix[:, i]
    b = matrix[:, j]
    return np.asarray(a.multiply(b).sum(axis=0)).ravel().astype(np.int64)


def as_counts(baskets: Any, units: np.ndarray | None = None) -> BasketCounts:
    """``baskets`` when it is a :class:`BasketCounts`, else the :class:`MatrixCounts` of what
    :func:`~basketlens.mining.encode.to_basket_matrix` makes of it (with ``units``).

    Example:
        >>> as_counts([["a", "b"], ["a"]]).item_counts().tolist()
        [2, 1]
    """
    if isinstance(baskets, BasketCounts):
        return baskets
    return MatrixCounts(to_basket_matrix(baskets), units)
