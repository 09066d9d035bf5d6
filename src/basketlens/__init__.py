"""basketlens: from a sales ledger to customer segments, association rules and cross-sell lists.

The notebook API is exported here; heavy modules load on first use, so that
``basketlens --help`` starts fast.

Example:
    >>> import basketlens
    >>> basketlens.__version__
    '0.1.0'
    >>> analysis = basketlens.analyse("online_retail.parquet", k=5)   # doctest: +SKIP
    >>> analysis.write("out")                                          # doctest: +SKIP
    >>> basketlens.load_run("out").segments                            # doctest: +SKIP
"""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.errors import BasketlensError

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "BasketlensError",
    "RunConfig",
    "__version__",
    "analyse",
    "load_run",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "analyse": ".api",
        "load_run": ".api",
        "Analysis": ".runfolder.analysis",
        "RunConfig": ".config",
    },
)
