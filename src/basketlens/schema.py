"""Canonical field names and the fixed schemas of the tables basketlens passes between stages.

Every stage speaks these names; user column names are mapped onto them at ingest.

Example:
    >>> from basketlens.schema import LEDGER_SCHEMA
    >>> LEDGER_SCHEMA["net_sales"]
    Float64
"""

from __future__ import annotations

import polars as pl

from basketlens.canonical import CANONICAL_FIELDS, REQUIRED_FIELDS  # noqa: F401 (re-exported)

#: Schema of the canonical ledger (``Ledger.lines``) produced by ingest. Optional fields that
#: the sources lack are present and null, so later stages never test for column existence.
LEDGER_SCHEMA: pl.Schema = pl.Schema(
    {
        "line_no": pl.UInt64,  # 0-based position of the line in the sales file
        "invoice": pl.String,
        "date": pl.Datetime("us"),
        "customer": pl.String,
        "customer_name": pl.String,
        "customer_group": pl.String,
        "item": pl.String,
        "item_name": pl.String,
        "quantity": pl.Float64,
        "unit_price": pl.Float64,
        "net_sales": pl.Float64,
        "brand": pl.String,
        "category": pl.String,
    }
)

#: Schema of the cleaned lines (``CleanResult.lines``): the ledger plus the basket key and the
#: segmentation unit ("unit" = customer, or customer_group when segmenting at group level).
CLEAN_SCHEMA: pl.Schema = pl.Schema(
    {**LEDGER_SCHEMA, "basket": pl.String, "unit": pl.String, "unit_name": pl.String}
)

#: Schema of the item table (``CleanResult.items``): one row per item of the cleaned lines,
#: sorted by item; later stages take names, brands and categories from it.
ITEMS_SCHEMA: pl.Schema = pl.Schema(
    {
        "item": pl.String,
        "item_name": pl.String,  # first non-null name in line order, else the id itself
        "brand": pl.String,  # first non-null brand, else null
        "category": pl.String,  # first non-null category, else null
        "lines": pl.Int64,  # cleaned lines of the item
        "net_sales": pl.Float64,  # sum over the item's cleaned lines
    }
)

#: Schema of ``cleaning.parquet``: one row per rule, in the order applied.
CLEANING_SCHEMA: pl.Schema = pl.Schema(
    {
        "step": pl.Int32,
        "rule": pl.String,
        "description": pl.String,
        "rows_in": pl.Int64,
        "rows_dropped": pl.Int64,
        "rows_out": pl.Int64,
    }
)

#: Schema of ``k_selection.parquet``.
K_SELECTION_SCHEMA: pl.Schema = pl.Schema(
    {
        "k": pl.Int32,
        "inertia": pl.Float64,
        "silhouette": pl.Float64,
        "null_silhouette": pl.Float64,
        "calinski_harabasz": pl.Float64,
        "davies_bouldin": pl.Float64,
        "gap": pl.Float64,
        "gap_se": pl.Float64,
        "bic": pl.Float64,
        "stability": pl.Float64,
        "segment_stability": pl.Float64,
        "chosen": pl.Boolean,
        "is_elbow": pl.Boolean,
        "reason": pl.String,
    }
)

#: Schema of ``item_support.parquet`` (issue 3).
ITEM_SUPPORT_SCHEMA: pl.Schema = pl.Schema(
    {
        "scope": pl.String,
        "item": pl.String,
        "item_name": pl.String,
        "baskets": pl.Int64,
        "support": pl.Float64,
        "rank": pl.Int32,
    }
)

#: Leading columns of ``rules.parquet`` (issue 3); measure columns follow, one per measure.
RULES_BASE_SCHEMA: pl.Schema = pl.Schema(
    {
        "rule_id": pl.String,
        "scope": pl.String,
        "antecedent": pl.List(pl.String),
        "consequent": pl.List(pl.String),
        "antecedent_names": pl.List(pl.String),
        "consequent_names": pl.List(pl.String),
        "antecedent_count": pl.Int64,
        "consequent_count": pl.Int64,
        "both_count": pl.Int64,
        "baskets": pl.Int64,
    }
)
