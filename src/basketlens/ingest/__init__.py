"""Ingest: read a sales ledger (CSV, Parquet, Excel, JSON lines) into canonical lines.

Example:
    >>> from basketlens.ingest import KNOWN_LAYOUTS, load_ledger
    >>> sorted(KNOWN_LAYOUTS)[:2]
    ['canonical', 'complete_journey']
    >>> ledger = load_ledger("online_retail.csv.gz")  # doctest: +SKIP
    >>> ledger.layout, ledger.n_lines  # doctest: +SKIP
    ('online_retail', 541909)
"""

from __future__ import annotations

from basketlens.ingest.layouts import KNOWN_LAYOUTS, Layout
from basketlens.ingest.ledger import Ledger, SourceInfo, load_ledger

__all__ = ["KNOWN_LAYOUTS", "Layout", "Ledger", "SourceInfo", "load_ledger"]
