"""The clean stage: drop unusable ledger lines, account for every one, key baskets and units.

Example:
    >>> from basketlens.clean import CleaningOptions, clean_ledger
    >>> result = clean_ledger(ledger, CleaningOptions(basket_by="customer_day"))  # doctest: +SKIP
    >>> result.account.select("rule", "rows_dropped")  # doctest: +SKIP
"""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.clean.options import CleaningOptions

__all__ = ["CleanResult", "CleaningOptions", "LedgerLike", "clean_ledger"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {"CleanResult": ".stage", "LedgerLike": ".stage", "clean_ledger": ".stage"},
)
