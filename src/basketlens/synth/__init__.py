"""Synthetic ledgers: the built-in demo (a B2B food distributor) and the generated family of
ledgers with planted personas that the segmentation is measured on.

Example:
    >>> from basketlens.synth import generate_ledger
    >>> led = generate_ledger(n_customers=20, months=1, seed=0)
    >>> led.sales.columns[-2:]
    ['SalesQuantity', 'NetSalesValue']
"""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.synth.options import SynthOptions

__all__ = ["PERSONA_NAMES", "SynthOptions", "SyntheticLedger", "generate_ledger"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "PERSONA_NAMES": ".personas",
        "SyntheticLedger": ".generator",
        "generate_ledger": ".generator",
    },
)
