"""The Spark engine: the same stages and outputs on Apache Spark (``--engine spark``).

Each module mirrors one stage and runs that stage's own Polars code inside Spark partitions
(``mapInArrow`` / ``applyInArrow``), so the registries that define cleaning rules, features
and mining stay the one definition: ``session`` (the SparkSession from ``[engine]``),
``frames`` (Arrow batches between Spark and Polars), ``ingest``, ``clean``, ``features``,
``segment``, ``mining`` (partition-then-count with the C miner), ``opportunities`` and
``backtest``; ``engine`` chains them for :mod:`basketlens.pipeline`, which alone knows the
stage order. ``pyspark`` is imported only when the engine is used
(``pip install 'basketlens[spark]'``); ``docs/scaling.md`` tells how to run on a cluster.

Example:
    >>> from basketlens.spark import EngineOptions
    >>> EngineOptions(engine="spark").spark_master is None
    True
"""

from __future__ import annotations

from typing import Any

from basketlens._lazy import lazy_exports
from basketlens.spark.errors import MISSING_EXTRA, SparkUnavailableError
from basketlens.spark.options import ENGINES, EngineOptions

__all__ = [
    "ENGINES",
    "EngineOptions",
    "SparkFit",
    "SparkUnavailableError",
    "backtest_on_spark",
    "fit_on_spark",
    "spark_session",
]

_getattr, __dir__ = lazy_exports(
    __name__,
    {
        "spark_session": ".session",
        "SparkFit": ".engine",
        "fit_on_spark": ".engine",
        "backtest_on_spark": ".engine",
    },
)


def __getattr__(name: str) -> Any:
    """The lazy exports; a missing pyspark becomes :class:`SparkUnavailableError`."""
    try:
        return _getattr(name)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in ("pyspark", "py4j"):
            raise SparkUnavailableError(MISSING_EXTRA) from None
        raise
