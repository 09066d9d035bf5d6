"""Canonical field names every stage speaks; user column names are mapped onto them at ingest.

Kept free of Polars so that the configuration and the command line can check a column map
without loading the numerical stack (the typed schemas are in :mod:`basketlens.schema`).

Example:
    >>> "net_sales" in CANONICAL_FIELDS
    True
"""

from __future__ import annotations

#: Canonical ledger fields and their one-line meaning.
CANONICAL_FIELDS: dict[str, str] = {
    "invoice": "invoice / sales document number (one basket by default)",
    "date": "invoice date (date or datetime)",
    "customer": "customer id (sold-to)",
    "customer_name": "customer display name",
    "customer_group": "parent / group code used when segmenting at group level",
    "item": "item id (stock code, SKU)",
    "item_name": "item description",
    "quantity": "units or kilos sold on the line (negative = return)",
    "unit_price": "price per unit; net_sales = quantity × unit_price when net_sales is absent",
    "net_sales": "net sales value of the line",
    "brand": "item brand",
    "category": "item category",
    "credit_note": "credit-note flag (true/false, yes/no, 1/0, Y/N, X): flagged lines are returns",
}

#: Fields every ledger must provide after mapping (net_sales may be derived from unit_price).
REQUIRED_FIELDS: tuple[str, ...] = ("invoice", "date", "customer", "item", "quantity")
