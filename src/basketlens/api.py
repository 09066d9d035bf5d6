"""The notebook API: ``basketlens.analyse`` and ``basketlens.load_run``.

``analyse`` runs every stage from ingest to opportunities on a ledger given as a path or a
Polars / pandas data frame and returns an :class:`~basketlens.runfolder.Analysis` of Polars
tables; nothing is written until ``analysis.write(out)``. Options are the stages' own option
names (``k``, ``min_support``, ``basket_by``, ``top_n``, …; see ``docs/config.md``) or a
whole :class:`~basketlens.config.RunConfig`.

Example:
    >>> import basketlens
    >>> a = basketlens.analyse("online_retail.parquet", k=5, min_support=0.01)  # doctest: +SKIP
    >>> a.segments.select("segment", "segment_name", "customers")                # doctest: +SKIP
    >>> a.write("out"); basketlens.load_run("out").rules.height                  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from basketlens._params import unknown_message
from basketlens.config import SECTIONS, RunConfig
from basketlens.errors import ParameterError
from basketlens.ingest import load_ledger
from basketlens.pipeline import analyse_ledger
from basketlens.runfolder import Analysis
from basketlens.runfolder.read import read_run
from basketlens.sinks.s3 import fetch_run
from basketlens.uris import S3Location, parse_location

__all__ = ["OPTION_SECTIONS", "analyse", "load_run"]

#: The sections whose options ``analyse`` takes by name (the input paths are its arguments).
_ANALYSE_SECTIONS = ("input", "clean", "features", "segment", "mine", "recommend", "engine")
_ARGUMENTS = {"sales", "items", "customers"}


def _option_sections() -> dict[str, str]:
    index: dict[str, str] = {}
    for section in _ANALYSE_SECTIONS:
        for spec in SECTIONS[section].specs():
            if spec.name in _ARGUMENTS:
                continue
            assert spec.name not in index, f"option {spec.name!r} is declared twice"
            index[spec.name] = section
    return index


#: Option name -> the section that declares it.
OPTION_SECTIONS: dict[str, str] = _option_sections()


def analyse(
    sales: Any,
    *,
    items: Any = None,
    customers: Any = None,
    columns: Mapping[str, str] | None = None,
    config: RunConfig | None = None,
    **options: Any,
) -> Analysis:
    """Run ingest → clean → features → segment → mine → opportunities; return the tables.

    Args:
        sales: sales lines — a path (CSV, Parquet, Excel, JSON lines) or a data frame.
        items, customers: optional item / customer tables (path or data frame).
        columns: canonical field -> your column name (like ``--map``).
        config: a full configuration; ``options`` override it.
        **options: any option of the stages by name, e.g. ``k=4``, ``min_support=0.01``;
            ``engine="spark"`` (with ``spark_master``, ``spark_conf``) runs them on Spark.

    Raises:
        ParameterError: an unknown option (with the closest name) or a bad value — before
            any data is read.
    """
    sections: dict[str, dict[str, Any]] = {}
    for name, value in options.items():
        section = OPTION_SECTIONS.get(name)
        if section is None:
            raise ParameterError(unknown_message("unknown option", name, sorted(OPTION_SECTIONS)))
        sections.setdefault(section, {})[name] = value
    if columns:
        sections["columns"] = dict(columns)
    cfg = (config or RunConfig()).override(sections)
    inp = cfg.input
    paths = (sales, items, customers)
    if cfg.engine.engine == "spark" and all(p is None or isinstance(p, str | Path) for p in paths):
        # the Spark engine reads files where they are (local, s3a://, JDBC) on the cluster
        given = {"sales": str(sales), "items": items, "customers": customers}
        cfg = cfg.override(input={k: None if v is None else str(v) for k, v in given.items()})
        return analyse_ledger(None, cfg)
    ledger = load_ledger(
        sales,
        items=items,
        customers=customers,
        column_map=dict(cfg.columns) or None,
        sheet=inp.sheet,
        delimiter=inp.delimiter,
        encoding=inp.encoding,
        query=inp.query,
        basket_by=cfg.clean.basket_by,
    )
    return analyse_ledger(ledger, cfg)


def load_run(out: str | Path) -> Analysis:
    """Read a finished run folder (``basketlens run --out OUT``) as an :class:`Analysis`.

    ``out`` may be the ``s3://bucket/prefix/`` a run was published to: the latest complete
    run is downloaded to a private folder first.

    Example:
        >>> basketlens.load_run("out").customers.height   # doctest: +SKIP
        4338
    """
    where = parse_location(out) if isinstance(out, str) else Path(out)
    if isinstance(where, S3Location):
        folder = Path(tempfile.mkdtemp(prefix="basketlens-run-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        return read_run(fetch_run(where, folder))
    return read_run(out)
