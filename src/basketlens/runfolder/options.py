"""Where a run is written (the ``[output]`` section): a local folder or an ``s3://`` prefix,
and optionally the BI star tables in a PostgreSQL schema (``docs/sources.md``).

Example:
    >>> OutputOptions().out
    'basketlens-out'
"""

from __future__ import annotations

from dataclasses import dataclass

from basketlens._params import Options, param
from basketlens.uris import POSTGRES_SCHEMES, LocationText


@dataclass(frozen=True)
class OutputOptions(Options):
    """The output folder of a run."""

    section = "output"
    panel = "Output"

    out: str = param(
        "basketlens-out",
        LocationText(schemes=("s3",)),
        "Output folder (created), e.g. out/, or s3://bucket/prefix/ (published when complete).",
        cli=("--out", "-o"),
    )
    to_db: str | None = param(
        None,
        LocationText(schemes=POSTGRES_SCHEMES, local=False, sink=True, allow_none=True),
        "Also write the BI star tables to this PostgreSQL schema, replacing the previous run's "
        "in one transaction, e.g. postgresql://bi@db/analytics?schema=basketlens.",
        cli="--to-db",
        metavar="URI",
    )
