"""What an item is typically worth per month to the customers of a scope who buy it.

Definition (used for ``expected_value`` / ``expected_quantity`` everywhere):

* A customer's *observed months* are ``max(1, (window_end − first purchase + 1 day) / 30.4375
  days)``: the time the customer has been on the books in the analysis window.
* The customer's *monthly spend* on an item is their net sales of it divided by their observed
  months (likewise the *monthly quantity*, in the ledger's unit: pieces or kilos).
* An item's ``monthly_value`` in a scope is the **median** monthly spend over the scope's
  customers who bought it (``buyers`` of them); the median, not the mean, so one wholesale
  buyer does not set the price of a suggestion for everyone. ``monthly_quantity`` likewise.
* An opportunity's ``expected_value`` = rule confidence × Σ ``monthly_value`` of the
  consequent items the customer lacks (in the rule's scope). When the scope has no buyer of an
  item, the "all" scope's value is used; when nobody bought it, 0.

Example:
    >>> import polars as pl
    >>> from datetime import datetime
    >>> from basketlens.opportunities.matrix import CustomerItems
    >>> lines = pl.DataFrame({
    ...     "unit": ["c1", "c2", "c3"], "item": ["a", "a", "a"], "basket": ["1", "2", "3"],
    ...     "quantity": [1.0, 2.0, 9.0], "net_sales": [10.0, 20.0, 90.0],
    ...     "date": [datetime(2024, 1, 1)] * 3})
    >>> v = ItemValues.compute(CustomerItems.from_lines(lines), {"all": None})
    >>> v.table.select("scope", "item", "buyers", "monthly_value").rows()
    [('all', 'a', 3, 20.0)]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from basketlens.opportunities.matrix import CustomerItems

__all__ = ["DAYS_PER_MONTH", "ITEM_VALUES_SCHEMA", "ItemValues", "observed_months"]

DAYS_PER_MONTH = 30.4375

ITEM_VALUES_SCHEMA: pl.Schema = pl.Schema(
    {
        "scope": pl.String,
        "item": pl.String,
        "buyers": pl.Int64,
        "monthly_value": pl.Float64,
        "monthly_quantity": pl.Float64,
    }
)


def observed_months(matrix: CustomerItems) -> np.ndarray:
    """Months each customer has been observed (see the module docstring), at least 1."""
    end = np.datetime64(matrix.window_end, "us")
    days = (end - matrix.first_date) / np.timedelta64(1, "D") + 1.0
    return np.maximum(1.0, days / DAYS_PER_MONTH)


@dataclass(frozen=True)
class ItemValues:
    """Per-scope typical monthly value and quantity of each item (dense arrays + a table)."""

    table: pl.DataFrame  # ITEM_VALUES_SCHEMA
    value: dict[str, np.ndarray]  # scope -> float64 per item code (fallbacks applied)
    quantity: dict[str, np.ndarray]

    @classmethod
    def compute(
        cls, matrix: CustomerItems, scope_rows: Mapping[str, np.ndarray | None]
    ) -> ItemValues:
        """Values for each scope (``None`` rows = every customer); "all" is always included."""
        scope_rows = {"all": None, **dict(scope_rows)}
        months = observed_months(matrix)
        rows = np.repeat(np.arange(matrix.n_customers), np.diff(matrix.indptr))
        cells = pl.DataFrame(
            {
                "row": rows,
                "col": matrix.indices,
                "v": matrix.net_sales / months[rows],
                "q": matrix.quantity / months[rows],
            }
        )
        frames = []
        for scope, members in scope_rows.items():
            part = cells if members is None else cells.filter(pl.col("row").is_in(members))
            frames.append(
                part.group_by("col")
                .agg(
                    pl.len().cast(pl.Int64).alias("buyers"),
                    pl.col("v").median().alias("monthly_value"),
                    pl.col("q").median().alias("monthly_quantity"),
                )
                .with_columns(scope=pl.lit(scope, pl.String))
            )
        long = pl.concat(frames).sort("scope", "col")
        items = pl.Series(matrix.items, dtype=pl.String)
        table = long.with_columns(item=items.gather(long["col"])).select(list(ITEM_VALUES_SCHEMA))
        return cls.from_table(table, matrix.items)

    @classmethod
    def from_table(cls, table: pl.DataFrame, items: tuple[str, ...]) -> ItemValues:
        """Rebuild the dense lookups from ``table`` on the item coding ``items``."""
        code = {item: i for i, item in enumerate(items)}
        value: dict[str, np.ndarray] = {}
        quantity: dict[str, np.ndarray] = {}
        for (scope,), part in table.group_by("scope", maintain_order=True):
            cols = np.array([code.get(i, -1) for i in part["item"].to_list()], dtype=np.int64)
            keep = cols >= 0
            v = np.full(len(items), np.nan)
            q = np.full(len(items), np.nan)
            v[cols[keep]] = part["monthly_value"].to_numpy()[keep]
            q[cols[keep]] = part["monthly_quantity"].to_numpy()[keep]
            value[str(scope)], quantity[str(scope)] = v, q
        base_v = np.nan_to_num(value.get("all", np.full(len(items), np.nan)), nan=0.0)
        base_q = np.nan_to_num(quantity.get("all", np.full(len(items), np.nan)), nan=0.0)
        for scope in list(value):
            value[scope] = np.where(np.isnan(value[scope]), base_v, value[scope])
            quantity[scope] = np.where(np.isnan(quantity[scope]), base_q, quantity[scope])
        value.setdefault("all", base_v)
        quantity.setdefault("all", base_q)
        return cls(table=table.cast(dict(ITEM_VALUES_SCHEMA)), value=value, quantity=quantity)

    def lookup(self, scope: str, cols: np.ndarray, *, what: str = "value") -> np.ndarray:
        """Monthly value (or ``what="quantity"``) of item codes in ``scope``; 0 for code < 0."""
        source = self.value if what == "value" else self.quantity
        arr = source.get(scope, source["all"])
        cols = np.asarray(cols, dtype=np.int64)
        return np.where(cols >= 0, arr[np.maximum(cols, 0)], 0.0)
