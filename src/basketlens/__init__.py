"""basketlens: from a sales ledger to customer segments, association rules and cross-sell lists.

Heavy modules are imported lazily so that ``basketlens --help`` starts fast.

Example:
    >>> import basketlens
    >>> basketlens.__version__
    '0.1.0'
"""

from __future__ import annotations

__version__ = "0.1.0"
