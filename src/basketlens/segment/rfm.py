"""RFM cells: the marketers' familiar second view of the customers, beside the segments.

Each customer gets three quintile scores from 1 to 5 (5 is best):

* ``rfm_r`` — recency: fewer days since the last order (``recency_days``) scores higher;
* ``rfm_f`` — frequency: more orders (``invoice_count``) scores higher;
* ``rfm_m`` — monetary: more net sales (``total_net_sales``) scores higher.

A score is ``ceil(5 · (rank − ½) / n)``, with ``rank`` the average rank (1 = worst) among the
``n`` customers: the quintile of the customer's mid-rank percentile. Tied customers share a
score (all tied: 3) and, without ties, each score holds a fifth of the customers. The named
cell reads the recency score against ``FM``, the rounded-up mean of the frequency and monetary
scores, with the usual map:

=====  ===============  ===================  ===================  ===============  ===============
R \\ FM 1                2                    3                    4                5
=====  ===============  ===================  ===================  ===============  ===============
5      New customers    Potential loyalists  Potential loyalists  Champions        Champions
4      Promising        Potential loyalists  Potential loyalists  Loyal customers  Loyal customers
3      About to sleep   About to sleep       Need attention       Loyal customers  Loyal customers
1–2    Hibernating      Hibernating          At risk              At risk          Can't lose them
=====  ===============  ===================  ===================  ===============  ===============

Example:
    >>> import polars as pl
    >>> t = pl.DataFrame({"customer_id": list("abcde"),
    ...                   "recency_days": [1.0, 5.0, 30.0, 90.0, 200.0],
    ...                   "invoice_count": [20.0, 8.0, 5.0, 2.0, 1.0],
    ...                   "total_net_sales": [900.0, 400.0, 300.0, 50.0, 20.0]})
    >>> rfm_cells(t)["rfm_cell"].to_list()
    ['Champions', 'Loyal customers', 'Need attention', 'Hibernating', 'Hibernating']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from scipy.stats import rankdata

from basketlens.errors import SchemaError

#: (score column, feature, higher feature value is better)
SCORES: tuple[tuple[str, str, bool], ...] = (
    ("rfm_r", "recency_days", False),
    ("rfm_f", "invoice_count", True),
    ("rfm_m", "total_net_sales", True),
)

#: The named cells, best first (the order of the report's table).
CELLS: tuple[str, ...] = (
    "Champions",
    "Loyal customers",
    "Potential loyalists",
    "New customers",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Can't lose them",
    "Hibernating",
)

# _GRID[r - 1][fm - 1]: the cell of recency score r and frequency-monetary score fm
_LOW_R = ("Hibernating", "Hibernating", "At risk", "At risk", "Can't lose them")
_GRID: tuple[tuple[str, ...], ...] = (
    _LOW_R,
    _LOW_R,
    ("About to sleep", "About to sleep", "Need attention", "Loyal customers", "Loyal customers"),
    (
        "Promising",
        "Potential loyalists",
        "Potential loyalists",
        "Loyal customers",
        "Loyal customers",
    ),
    ("New customers", "Potential loyalists", "Potential loyalists", "Champions", "Champions"),
)


def quintile_scores(values: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1..5: ``ceil(5 · (average rank − ½) / n)``, ranks from worst (1) to best (n).

    Example:
        >>> quintile_scores(np.array([10.0, 20.0, 30.0, 40.0, 50.0])).tolist()
        [1, 2, 3, 4, 5]
        >>> quintile_scores(np.array([1.0, 1.0, 1.0])).tolist()
        [3, 3, 3]
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.size
    if n == 0:
        return np.empty(0, dtype=np.int8)
    ranks = rankdata(values if higher_is_better else -values, method="average")
    return np.clip(np.ceil(5.0 * (ranks - 0.5) / n), 1, 5).astype(np.int8)


def cell_name(r: int, f: int, m: int) -> str:
    """The named cell of scores (r, f, m).

    Example:
        >>> cell_name(5, 5, 4), cell_name(1, 5, 5), cell_name(3, 3, 3)
        ('Champions', "Can't lose them", 'Need attention')
    """
    fm = (f + m + 1) // 2
    return _GRID[r - 1][fm - 1]


def rfm_cells(table: pl.DataFrame) -> pl.DataFrame:
    """``customer_id``, ``rfm_r``, ``rfm_f``, ``rfm_m`` (Int8) and ``rfm_cell`` of every row.

    Raises:
        SchemaError: the table lacks ``customer_id`` or one of the three features.
    """
    needed = ["customer_id", *(feature for _, feature, _ in SCORES)]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise SchemaError(
            f"RFM cells need the feature table columns {missing}; columns: {table.columns}"
        )
    scores = {
        column: quintile_scores(
            table.get_column(feature).cast(pl.Float64).fill_null(0.0).to_numpy(),
            higher_is_better=better,
        )
        for column, feature, better in SCORES
    }
    cells = [
        cell_name(int(r), int(f), int(m))
        for r, f, m in zip(scores["rfm_r"], scores["rfm_f"], scores["rfm_m"], strict=True)
    ]
    return pl.DataFrame(
        {
            "customer_id": table.get_column("customer_id").cast(pl.String),
            **{c: pl.Series(v, dtype=pl.Int8) for c, v in scores.items()},
            "rfm_cell": pl.Series(cells, dtype=pl.String),
        }
    )


def rfm_summary(customers: pl.DataFrame) -> list[dict[str, Any]]:
    """One record per named cell present, best first: customers, their share, share of net
    sales, and the median recency, orders and net sales (``customers`` holds the features
    and the ``rfm_cell`` column).

    Example:
        >>> t = pl.DataFrame({"customer_id": ["a", "b"], "recency_days": [1.0, 50.0],
        ...                   "invoice_count": [9.0, 1.0], "total_net_sales": [90.0, 10.0]})
        >>> cells = t.join(rfm_cells(t), on="customer_id")
        >>> [(r["cell"], r["customers"]) for r in rfm_summary(cells)]
        [('Loyal customers', 1), ('Hibernating', 1)]
    """
    n = customers.height
    total = float(customers.get_column("total_net_sales").sum()) if n else 0.0
    grouped = customers.group_by("rfm_cell").agg(
        pl.len().alias("customers"),
        pl.col("total_net_sales").sum().alias("net_sales"),
        pl.col("recency_days").median().alias("median_recency_days"),
        pl.col("invoice_count").median().alias("median_orders"),
        pl.col("total_net_sales").median().alias("median_net_sales"),
    )
    by_cell = {row["rfm_cell"]: row for row in grouped.iter_rows(named=True)}
    out = []
    for cell in CELLS:
        row = by_cell.get(cell)
        if row is None:
            continue
        out.append(
            {
                "cell": cell,
                "customers": int(row["customers"]),
                "customer_share": row["customers"] / n,
                "revenue_share": float(row["net_sales"]) / total if total else 0.0,
                "median_recency_days": float(row["median_recency_days"]),
                "median_orders": float(row["median_orders"]),
                "median_net_sales": float(row["median_net_sales"]),
            }
        )
    return out
