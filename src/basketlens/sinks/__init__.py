"""Where a finished run goes besides a local folder: ``--out s3://bucket/prefix/`` (the whole
run folder, published atomically) and ``--to-db postgresql://…?schema=NAME`` (the BI star
tables with their keys, replaced in one transaction).

:func:`open_sinks` checks every sink *before* the work (reachable, writable) and gives the
local folder the run is written to — the ``--out`` folder itself, or a private staging folder
for an object store; :meth:`Sinks.publish` sends the written run on; :meth:`Sinks.close`
removes the staging folder.

Example:
    >>> from basketlens.runfolder.options import OutputOptions
    >>> sinks = open_sinks(OutputOptions(out="out"))      # doctest: +SKIP
    >>> sinks.folder, sinks.remote                        # doctest: +SKIP
    (PosixPath('out'), False)
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from basketlens.runfolder.analysis import Analysis
from basketlens.runfolder.options import OutputOptions
from basketlens.runfolder.runid import new_run_id
from basketlens.runfolder.write import check_out_dir
from basketlens.sinks import database
from basketlens.sinks import s3 as s3_sink
from basketlens.uris import PostgresLocation, S3Location, parse_location, redact

log = logging.getLogger(__name__)

__all__ = ["Sinks", "open_sinks"]


@dataclass
class Sinks:
    """The checked destinations of one run."""

    folder: Path  # where write_run writes
    staging: bool  # the folder is private and removed by close()
    s3: S3Location | None = None
    db: PostgresLocation | None = None

    @property
    def remote(self) -> bool:
        """True when something is published beyond the local folder."""
        return self.s3 is not None or self.db is not None

    def describe(self) -> str:
        """Where the run goes, for progress lines (passwords masked)."""
        places = [] if self.staging else [str(self.folder)]
        places += [loc.url for loc in (self.s3,) if loc is not None]
        places += [database.describe(self.db)] if self.db is not None else []
        return redact(", ".join(places))

    def publish(self, analysis: Analysis) -> tuple[str, ...]:
        """Upload the written run folder and/or write the star schema; return where to."""
        run_id = str(analysis.info.get("run_id") or new_run_id())
        done: list[str] = []
        if self.s3 is not None:
            done.append(
                s3_sink.publish_folder(self.folder, self.s3, run_id=run_id, info=analysis.info)
            )
        if self.db is not None:
            done.append(database.write_star(analysis, self.db, run_id=run_id))
        self.close()
        return tuple(done)

    def close(self) -> None:
        """Remove the staging folder (an object-store run is kept only where it was sent;
        a failed publish leaves it until the interpreter exits)."""
        if self.staging:
            shutil.rmtree(self.folder, ignore_errors=True)


def open_sinks(options: OutputOptions) -> Sinks:
    """Check ``--out`` and ``--to-db`` before any work; raise :class:`SinkError`/
    :class:`InputError` with a one-line reason (bucket missing, access denied, bad
    password, no CREATE on the schema, …)."""
    out = parse_location(options.out)
    db = parse_location(options.to_db, sink=True) if options.to_db else None
    assert db is None or isinstance(db, PostgresLocation)  # validated by OutputOptions
    if isinstance(out, S3Location):
        s3_sink.check_writable(out)
        folder, staging, bucket = Path(tempfile.mkdtemp(prefix="basketlens-out-")), True, out
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    else:
        assert isinstance(out, Path)  # validated by OutputOptions
        folder, staging, bucket = check_out_dir(out), False, None
    try:
        if db is not None:
            database.check_database(db)
    except BaseException:
        if staging:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return Sinks(folder, staging, bucket, db)
