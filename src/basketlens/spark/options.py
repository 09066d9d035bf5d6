"""Options of the execution engine (the ``[engine]`` section): local Polars or Apache Spark.

Example:
    >>> EngineOptions(engine="spark", spark_conf=("spark.executor.memory=4g",)).validate().engine
    'spark'
    >>> EngineOptions(spark_conf=("spark.ui.port",)).validate()
    Traceback (most recent call last):
    ...
    basketlens.errors.ParameterError: spark_conf entries must be key=value; got 'spark.ui.port'
"""

from __future__ import annotations

from dataclasses import dataclass

from basketlens._params import Interval, OneOf, Options, Text, TextList, param
from basketlens.errors import ParameterError

ENGINES: tuple[str, ...] = ("local", "spark")


@dataclass(frozen=True)
class EngineOptions(Options):
    """The ``[engine]`` section: where the stages run (this process, or a Spark cluster)."""

    section = "engine"
    panel = "Engine"

    engine: str = param(
        "local",
        OneOf(ENGINES),
        "Run the stages in this process (local) or on Apache Spark (spark; pip install "
        "'basketlens[spark]').",
        cli="--engine",
    )
    spark_master: str | None = param(
        None,
        Text(allow_none=True),
        "Spark master URL, e.g. spark://host:7077 or local[4].",
        cli="--spark-master",
        default_text="local[*], unless spark-defaults.conf or spark-submit sets spark.master",
    )
    spark_conf: tuple[str, ...] = param(
        (),
        TextList(),
        "Spark configuration key=value, e.g. spark.executor.memory=4g (repeatable; "
        "spark-defaults.conf is read too).",
        cli="--spark-conf",
    )
    scope_max_baskets: int = param(
        2_000_000,
        Interval(int, 1),
        "Spark: a segment with at most this many baskets is mined whole by one task; larger "
        "scopes are mined partition-then-count.",
    )
    mining_partitions: int | None = param(
        None,
        Interval(int, 1, allow_none=True),
        "Spark: partitions of the partition-then-count miner.",
        default_text="one per million baskets, at least the cluster's default parallelism",
    )

    def _check_together(self) -> None:
        for entry in self.spark_conf:
            key, sep, _ = entry.partition("=")
            if not sep or not key.strip():
                raise ParameterError(f"spark_conf entries must be key=value; got {entry!r}")

    def conf(self) -> dict[str, str]:
        """``spark_conf`` as a mapping (later entries win).

        Example:
            >>> EngineOptions(spark_conf=("a=1", "b = x=y")).conf()
            {'a': '1', 'b': 'x=y'}
        """
        pairs = (entry.partition("=") for entry in self.spark_conf)
        return {key.strip(): value.strip() for key, _, value in pairs}
