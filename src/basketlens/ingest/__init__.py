"""Ingest: read a sales ledger (CSV, Parquet, Excel, JSON lines, data frames) into canonical lines.

Example:
    >>> from basketlens.ingest import KNOWN_LAYOUTS, load_ledger
    >>> sorted(KNOWN_LAYOUTS)[:2]
    ['canonical', 'complete_journey']
    >>> ledger = load_ledger("online_retail.csv.gz")  # doctest: +SKIP
    >>> ledger.layout, ledger.n_lines  # doctest: +SKIP
    ('online_retail', 541909)
"""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.ingest.options import InputOptions

__all__ = ["KNOWN_LAYOUTS", "InputOptions", "Layout", "Ledger", "SourceInfo", "load_ledger"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "KNOWN_LAYOUTS": ".layouts",
        "Layout": ".layouts",
        "Ledger": ".ledger",
        "SourceInfo": ".ledger",
        "load_ledger": ".ledger",
    },
)
