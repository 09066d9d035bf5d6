"""Built-in demo: a synthetic B2B food-distribution ledger with planted personas and affinities.

Example:
    >>> from basketlens.synth import generate_ledger
    >>> led = generate_ledger(n_customers=20, months=1, seed=0)
    >>> led.sales.columns[-2:]
    ['SalesQuantity', 'NetSalesValue']
"""

from __future__ import annotations

from basketlens.synth.generator import SyntheticLedger, generate_ledger
from basketlens.synth.personas import PERSONA_NAMES

__all__ = ["PERSONA_NAMES", "SyntheticLedger", "generate_ledger"]
