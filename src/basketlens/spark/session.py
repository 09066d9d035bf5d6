"""The SparkSession of a run, from the ``[engine]`` options and Spark's own configuration.

Spark reads ``spark-defaults.conf`` (``$SPARK_CONF_DIR`` or ``$SPARK_HOME/conf``) and, under
``spark-submit``, its flags; ``--spark-master`` and ``--spark-conf key=value`` override them.
A session that already exists (a notebook, ``spark-submit``) is reused. Without pyspark or
Java the engine stops with one line saying what to install.

Example:
    >>> options = EngineOptions(engine="spark", spark_master="local[2]")
    >>> spark = spark_session(options)  # doctest: +SKIP
    >>> spark.sparkContext.master  # doctest: +SKIP
    'local[2]'
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys

from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from basketlens.spark.errors import SparkUnavailableError
from basketlens.spark.options import EngineOptions

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_CONF", "SparkUnavailableError", "java_problem", "spark_session"]

#: Settings basketlens needs or prefers; ``--spark-conf`` and spark-defaults.conf win.
DEFAULT_CONF: dict[str, str] = {
    # ledger dates are wall-clock times: keep them as they are in every time zone
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "ERROR",
}

_JAVA_MIN = 17


def java_problem() -> str | None:
    """Why Java cannot run Spark (missing, or older than 17), or None when it looks fine.

    Example:
        >>> java_problem() is None or "Java" in java_problem()
        True
    """
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        where = f"JAVA_HOME={home} has no bin/java" if home else "no java on PATH"
        return (
            f"the Spark engine needs Java {_JAVA_MIN} or newer ({where}): install a JDK, e.g. "
            f"apt-get install openjdk-{_JAVA_MIN}-jre-headless, or set JAVA_HOME"
        )
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"the Spark engine cannot run {java} -version: {exc}"
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if found:
        major = int(found.group(1))
        major = int(found.group(2) or 0) if major == 1 else major  # "1.8" means Java 8
        if major < _JAVA_MIN:
            return (
                f"the Spark engine needs Java {_JAVA_MIN} or newer; {java} is Java {major}: "
                f"install openjdk-{_JAVA_MIN} and point JAVA_HOME at it"
            )
    return None


def _builder(options: EngineOptions) -> SparkSession.Builder:
    builder = SparkSession.builder.appName("basketlens")
    if options.spark_master:
        builder = builder.master(options.spark_master)
    given = options.conf()
    for key, value in DEFAULT_CONF.items():
        if key not in given:
            builder = builder.config(key, value)
    local = (options.spark_master or given.get("spark.master", "local")).startswith("local")
    chosen = os.environ.get("PYSPARK_PYTHON", sys.executable)  # the user's choice, if any
    if local and chosen == sys.executable and "spark.pyspark.python" not in given:
        # Local workers run this interpreter (this venv, with polars): PySpark's context reads
        # only the environment variable for its workers, not the spark.pyspark.python setting.
        os.environ["PYSPARK_PYTHON"] = sys.executable
        builder = builder.config("spark.pyspark.python", sys.executable)
    for key, value in given.items():
        builder = builder.config(key, value)
    return builder


def spark_session(options: EngineOptions) -> SparkSession:
    """The active SparkSession, or a new one from ``options`` (master, ``spark_conf``).

    Raises :class:`SparkUnavailableError` with what to do when Java is missing or too old,
    or when Spark cannot start (an unreachable master, a bad setting).
    """
    active = SparkSession.getActiveSession()
    if active is None:
        problem = java_problem()
        if problem:
            raise SparkUnavailableError(problem)
    try:
        spark = _builder(options).getOrCreate()
    except (PySparkException, RuntimeError, OSError) as exc:
        first = next((line for line in str(exc).splitlines() if line.strip()), repr(exc))
        raise SparkUnavailableError(
            f"Spark did not start ({first.strip()}); check --spark-master "
            f"{options.spark_master or '(default)'}, --spark-conf and JAVA_HOME"
        ) from exc
    logger.info(
        "Spark %s, master %s, default parallelism %d",
        spark.version,
        spark.sparkContext.master,
        spark.sparkContext.defaultParallelism,
    )
    return spark
