"""The customer × item purchase matrix every opportunity and recommendation is computed on.

One row per customer (the cleaned lines' ``unit``), one column per item, both sorted by id.
Each stored cell is a (customer, item) pair the customer bought at least once, with the
number of distinct baskets (``orders``), the quantity, the net sales and the last date.
Cells are kept in CSR order (row-major, columns sorted), so a pair lookup is one
``searchsorted`` on the flat key ``row * n_items + col``.

Example:
    >>> import polars as pl
    >>> from datetime import datetime
    >>> lines = pl.DataFrame({
    ...     "unit": ["c1", "c1", "c2"], "item": ["a", "b", "a"], "basket": ["1", "1", "2"],
    ...     "quantity": [1.0, 2.0, 3.0], "net_sales": [10.0, 4.0, 30.0],
    ...     "date": [datetime(2024, 1, 1)] * 3})
    >>> m = CustomerItems.from_lines(lines)
    >>> m.customers, m.items, m.csr().toarray().tolist()
    (('c1', 'c2'), ('a', 'b'), [[True, True], [True, False]])
    >>> m.lookup([1, 1], [0, 1]).tolist()
    [2, -1]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl
import scipy.sparse as sp

from basketlens._arrays import stable_argsort
from basketlens.errors import EmptyInputError, SchemaError

logger = logging.getLogger(__name__)

__all__ = [
    "CUSTOMER_ITEMS_SCHEMA",
    "TOTAL_ORDERS_SCHEMA",
    "CustomerItems",
    "customer_item_cells",
    "unit_item_sales",
]

#: Long form of the matrix (``model/customer_items.parquet``): one row per stored cell.
CUSTOMER_ITEMS_SCHEMA: pl.Schema = pl.Schema(
    {
        "customer_id": pl.String,
        "item": pl.String,
        "orders": pl.Int32,
        "quantity": pl.Float64,
        "net_sales": pl.Float64,
        "first_date": pl.Datetime("us"),
        "last_date": pl.Datetime("us"),
    }
)

#: Each customer's distinct baskets (beside the cells: ``total_orders`` of the matrix).
TOTAL_ORDERS_SCHEMA: pl.Schema = pl.Schema({"unit": pl.String, "total_orders": pl.Int64})

_BITMAP_LIMIT = 2_000_000_000  # bits (250 MB) for the packed ownership matrix behind has()
_NEEDED = ("unit", "item", "basket", "quantity", "net_sales", "date")


@dataclass(frozen=True, eq=False)
class CustomerItems:
    """Sparse customer × item purchases (CSR arrays plus per-cell and per-customer facts).

    ``first_date`` / ``last_date`` / ``total_orders`` are per customer (row); ``orders``,
    ``quantity``, ``net_sales`` and ``last_bought`` are per stored cell; ``window_end`` is the
    last date of the lines the matrix was built from.
    """

    customers: tuple[str, ...]
    items: tuple[str, ...]
    indptr: np.ndarray  # int64, n_customers + 1
    indices: np.ndarray  # int32 column codes, sorted within each row
    orders: np.ndarray  # int32, distinct baskets with the item
    quantity: np.ndarray  # float64
    net_sales: np.ndarray  # float64
    last_bought: np.ndarray  # datetime64[us]
    first_date: np.ndarray  # datetime64[us] per customer: first purchase of anything
    last_date: np.ndarray  # datetime64[us] per customer: last purchase of anything
    total_orders: np.ndarray  # int32 per customer: distinct baskets
    window_end: datetime

    @property
    def n_customers(self) -> int:
        return len(self.customers)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def nnz(self) -> int:
        return int(self.indices.size)

    def __repr__(self) -> str:
        return f"CustomerItems({self.n_customers} customers × {self.n_items} items, nnz={self.nnz})"

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_lines(cls, lines: pl.DataFrame | pl.LazyFrame) -> CustomerItems:
        """Aggregate cleaned lines (``CLEAN_SCHEMA``; ``unit`` is the customer) into the matrix."""
        cells, totals = customer_item_cells(lines)
        return cls.from_table(cells, total_orders=totals)

    @classmethod
    def from_table(
        cls,
        table: pl.DataFrame,
        *,
        total_orders: pl.DataFrame | None = None,
        window_end: datetime | None = None,
    ) -> CustomerItems:
        """Build from the long form (``CUSTOMER_ITEMS_SCHEMA``, one row per customer and item).

        ``total_orders`` (columns unit, total_orders) gives each customer's distinct baskets;
        without it the largest per-item order count is used (a lower bound).
        """
        missing = [c for c in CUSTOMER_ITEMS_SCHEMA if c not in table.columns]
        if missing:
            raise SchemaError(f"customer-item table lacks column(s) {', '.join(missing)}")
        if table.height == 0:
            raise EmptyInputError("no purchases to build the customer × item matrix from")
        table = table.cast(dict(CUSTOMER_ITEMS_SCHEMA)).select(list(CUSTOMER_ITEMS_SCHEMA))
        customers = table["customer_id"].unique().sort()
        items = table["item"].unique().sort()
        coded = table.with_columns(
            pl.col("customer_id")
            .replace_strict(
                customers, pl.int_range(customers.len(), eager=True), return_dtype=pl.Int64
            )
            .alias("_row"),
            pl.col("item")
            .replace_strict(items, pl.int_range(items.len(), eager=True), return_dtype=pl.Int32)
            .alias("_col"),
        )
        # by row, then column: one sort of int64 keys (4x faster than Polars' two-key sort)
        key = coded["_row"].to_numpy() * max(items.len(), 1) + coded["_col"].to_numpy()
        coded = coded.select(pl.all().gather(pl.Series(stable_argsort(key), dtype=pl.Int64)))
        rows = coded["_row"].to_numpy()
        indptr = np.zeros(customers.len() + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=customers.len()), out=indptr[1:])
        per_customer = (
            coded.group_by("_row")
            .agg(pl.col("first_date").min(), pl.col("last_date").max(), pl.col("orders").max())
            .sort("_row")
        )
        orders = per_customer["orders"].to_numpy().astype(np.int32)
        if total_orders is not None:
            known = pl.DataFrame({"unit": customers, "_fallback": orders}).join(
                total_orders.select("unit", "total_orders"),
                on="unit",
                how="left",
                maintain_order="left",
            )
            orders = (
                known.select(pl.coalesce("total_orders", "_fallback"))
                .to_series()
                .to_numpy()
                .astype(np.int32)
            )
        end = window_end or table["last_date"].max()
        return cls(
            customers=tuple(customers.to_list()),
            items=tuple(items.to_list()),
            indptr=indptr,
            indices=coded["_col"].to_numpy().astype(np.int32),
            orders=coded["orders"].to_numpy().astype(np.int32),
            quantity=coded["quantity"].to_numpy().astype(np.float64),
            net_sales=coded["net_sales"].to_numpy().astype(np.float64),
            last_bought=coded["last_date"].to_numpy().astype("datetime64[us]"),
            first_date=per_customer["first_date"].to_numpy().astype("datetime64[us]"),
            last_date=per_customer["last_date"].to_numpy().astype("datetime64[us]"),
            total_orders=orders,
            window_end=end,
        )

    def to_table(self) -> pl.DataFrame:
        """The long form (``CUSTOMER_ITEMS_SCHEMA``); ``first_date`` holds the customer's first
        purchase of anything, which is all the round trip needs."""
        rows = np.repeat(np.arange(self.n_customers), np.diff(self.indptr))
        return pl.DataFrame(
            {
                "customer_id": pl.Series(self.customers, dtype=pl.String).gather(rows),
                "item": pl.Series(self.items, dtype=pl.String).gather(self.indices),
                "orders": self.orders,
                "quantity": self.quantity,
                "net_sales": self.net_sales,
                "first_date": self.first_date[rows],
                "last_date": self.last_bought,
            }
        ).cast(dict(CUSTOMER_ITEMS_SCHEMA))

    # ------------------------------------------------------------------ access
    def csr(self) -> sp.csr_matrix:
        """Boolean customers × items CSR matrix (True = bought at least once)."""
        data = np.ones(self.nnz, dtype=bool)
        return sp.csr_matrix(
            (data, self.indices, self.indptr), shape=(self.n_customers, self.n_items)
        )

    def _keys(self) -> np.ndarray:
        cached = self.__dict__.get("_key_cache")
        if cached is None:
            rows = np.repeat(np.arange(self.n_customers, dtype=np.int64), np.diff(self.indptr))
            cached = rows * self.n_items + self.indices
            object.__setattr__(self, "_key_cache", cached)
        return cached

    def lookup(self, rows: np.ndarray | list[int], cols: np.ndarray | list[int]) -> np.ndarray:
        """Cell position of each (row, col) pair, -1 where not bought (or col < 0)."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        keys = self._keys()
        if keys.size == 0:
            return np.full(rows.shape, -1, dtype=np.int64)
        query = rows * self.n_items + cols
        # searched in ascending order, each search starts where the last ended: about twice
        # as fast as searching them as they come, sort included (200 k pairs)
        flat = query.ravel()
        order = np.argsort(flat)
        pos = np.empty(flat.size, dtype=np.int64)
        pos[order] = np.searchsorted(keys, flat[order])
        pos = np.minimum(pos, keys.size - 1).reshape(query.shape)
        return np.where((cols >= 0) & (keys[pos] == query), pos, -1)

    def has(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Whether each customer row bought each item col (False for col < 0).

        Uses a packed bit matrix when it fits in ``_BITMAP_LIMIT`` bits (built once), else the
        sorted-key lookup.
        """
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        if self.n_customers * self.n_items > _BITMAP_LIMIT:
            return self.lookup(rows, cols) >= 0
        bits = self.__dict__.get("_bitmap")
        if bits is None:
            width = (self.n_items + 7) // 8
            bits = np.zeros(self.n_customers * width, dtype=np.uint8)
            cell_rows = np.repeat(np.arange(self.n_customers, dtype=np.int64), np.diff(self.indptr))
            cell_cols = self.indices.astype(np.int64)
            np.bitwise_or.at(
                bits, cell_rows * width + (cell_cols >> 3), (1 << (cell_cols & 7)).astype(np.uint8)
            )
            object.__setattr__(self, "_bitmap", bits)
        width = (self.n_items + 7) // 8
        safe = np.maximum(cols, 0)
        found = bits[rows * width + (safe >> 3)]
        found >>= (safe & 7).astype(np.uint8)  # in place: fewer temporaries of the query size
        found &= 1
        return found.astype(bool, copy=False) & (cols >= 0)

    def codes(self, values: list[str] | tuple[str, ...], *, axis: str) -> np.ndarray:
        """Codes of customer ids (``axis="customer"``) or item ids (``"item"``), -1 if unknown."""
        vocab = self.customers if axis == "customer" else self.items
        index = self.__dict__.get(f"_index_{axis}")
        if index is None:
            index = {v: i for i, v in enumerate(vocab)}
            object.__setattr__(self, f"_index_{axis}", index)
        return np.array([index.get(v, -1) for v in values], dtype=np.int64)

    def item_codes(self, values: pl.Series) -> np.ndarray:
        """Codes of the item ids in a String Series (-1 if unknown or null):
        ``codes(values.to_list(), axis="item")`` in one hashed pass, without Python strings.

        Example:
            >>> m = CustomerItems.from_table(pl.DataFrame({"customer_id": ["c"], "item": ["b"],
            ...     "orders": [1], "quantity": [1.0], "net_sales": [1.0],
            ...     "first_date": [datetime(2024, 1, 1)], "last_date": [datetime(2024, 1, 1)]}))
            >>> m.item_codes(pl.Series(["b", "z", None])).tolist()
            [0, -1, -1]
        """
        items = pl.Series(self.items, dtype=pl.String)
        codes = pl.int_range(items.len(), eager=True, dtype=pl.Int64)
        coded = values.cast(pl.String).replace_strict(
            items, codes, default=-1, return_dtype=pl.Int64
        )
        return coded.fill_null(-1).to_numpy().astype(np.int64, copy=False)

    def row_items(self, row: int) -> np.ndarray:
        """Item codes the customer in ``row`` has bought."""
        return self.indices[self.indptr[row] : self.indptr[row + 1]]


def _usable(lines: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    lf = lines.lazy()
    missing = [c for c in _NEEDED if c not in lf.collect_schema().names()]
    if missing:
        raise SchemaError(
            f"lines lack column(s) {', '.join(missing)}; pass the cleaned lines "
            "(basketlens.clean.clean_ledger(...).lines)"
        )
    return lf.filter(pl.col("unit").is_not_null() & pl.col("item").is_not_null())


def customer_item_cells(lines: pl.DataFrame | pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The matrix's long form (``CUSTOMER_ITEMS_SCHEMA``: per customer and item bought, the
    distinct baskets, quantity, net sales, first and last date) and each customer's distinct
    baskets (``TOTAL_ORDERS_SCHEMA``), from cleaned lines.

    A customer's cells need only its own lines, and each sum adds them in line order, so the
    lines of any set of whole customers give those customers' cells bit for bit (how the Spark
    engine builds the matrix, one partition of customers at a time).

    Example:
        >>> from datetime import datetime
        >>> lines = pl.DataFrame({"unit": ["c1", "c1"], "item": ["a", "a"],
        ...     "basket": ["1", "2"], "quantity": [1.0, 2.0], "net_sales": [10.0, 4.0],
        ...     "date": [datetime(2024, 1, 1)] * 2})
        >>> cells, totals = customer_item_cells(lines)
        >>> cells.select("customer_id", "item", "orders", "net_sales").rows(), totals.rows()
        ([('c1', 'a', 2, 14.0)], [('c1', 2)])
    """
    usable = _usable(lines)
    cells = (
        usable.group_by("unit", "item")
        .agg(
            pl.col("basket").n_unique().cast(pl.Int32).alias("orders"),
            pl.col("quantity").sum(),
            pl.col("net_sales").sum(),
            pl.col("date").min().alias("first_date"),
            pl.col("date").max().alias("last_date"),
        )
        .rename({"unit": "customer_id"})
    )
    totals = usable.group_by("unit").agg(pl.col("basket").n_unique().alias("total_orders"))
    # in memory: the streaming engine's parallel sums vary in the last bits between runs
    cells_df, totals_df = pl.collect_all([cells, totals], engine="in-memory")
    return (
        cells_df.cast(dict(CUSTOMER_ITEMS_SCHEMA)).select(list(CUSTOMER_ITEMS_SCHEMA)),
        totals_df.cast(dict(TOTAL_ORDERS_SCHEMA)),
    )


def unit_item_sales(lines: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """``(unit, item, net_sales)``: each customer's net sales of each item (lines with both),
    summed in line order (see :func:`customer_item_cells`).

    Example:
        >>> lines = pl.DataFrame({"unit": ["c", "c", None], "item": ["a", "a", "a"],
        ...                       "net_sales": [1.5, 2.0, 9.0]})
        >>> unit_item_sales(lines).rows()
        [('c', 'a', 3.5)]
    """
    return (
        lines.lazy()
        .filter(pl.col("unit").is_not_null() & pl.col("item").is_not_null())
        .group_by("unit", "item")
        .agg(pl.col("net_sales").sum())
        .collect(engine="in-memory")
    )
