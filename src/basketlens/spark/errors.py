"""The error raised when the Spark engine cannot start (light: no pyspark import).

Example:
    >>> raise SparkUnavailableError("the Spark engine needs pyspark")
    Traceback (most recent call last):
    ...
    basketlens.spark.errors.SparkUnavailableError: the Spark engine needs pyspark
"""

from __future__ import annotations

from basketlens.errors import BasketlensError

__all__ = ["MISSING_EXTRA", "SparkUnavailableError"]

#: What to do when pyspark is not installed.
MISSING_EXTRA = (
    "the Spark engine needs pyspark, which is not installed: pip install 'basketlens[spark]' "
    "(or pip install -e '.[spark]' in a checkout)"
)


class SparkUnavailableError(BasketlensError):
    """``--engine spark`` cannot start: pyspark or Java is missing, or the master is unreachable."""
