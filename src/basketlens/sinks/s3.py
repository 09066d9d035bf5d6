"""``--out s3://bucket/prefix/``: publish a finished run folder to an S3-compatible store.

The run is written to a local folder first (``write_run`` and the report), then uploaded under
``<prefix>runs/<run_id>/``; only when every file is there does the pointer
``<prefix>latest.json`` change — one PUT, so readers see the old run or the new one, never a
mixture. A failed upload deletes what it had uploaded and leaves the pointer alone.

The reader's contract (``docs/sources.md``): read ``latest.json`` → ``{"run_id", "path",
"files", …}``, then the files under ``path``. The objects of a run never change once a pointer
names them; objects under ``runs/`` that no pointer named may be incomplete. Earlier runs are
kept (expire them with a lifecycle rule if you do not want them).

Example:
    >>> loc = S3Location("acme-bi", "basketlens/")
    >>> pointer(loc).url
    's3://acme-bi/basketlens/latest.json'
    >>> run_location(loc, "20240101T020000Z-1a2b3c").url
    's3://acme-bi/basketlens/runs/20240101T020000Z-1a2b3c/'
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from basketlens.errors import ModelError, SinkError
from basketlens.stores import s3
from basketlens.uris import S3Location

log = logging.getLogger(__name__)

__all__ = ["POINTER", "RUNS", "check_writable", "fetch_run", "pointer", "publish_folder"]

#: The object naming the latest complete run.
POINTER = "latest.json"
#: Where the runs are, under the prefix.
RUNS = "runs"


def _base(loc: S3Location) -> S3Location:
    return loc if loc.prefix else S3Location(loc.bucket, loc.key + "/")


def pointer(loc: S3Location) -> S3Location:
    """The pointer object of an ``--out`` location."""
    return _base(loc).child(POINTER)


def run_location(loc: S3Location, run_id: str) -> S3Location:
    """Where the run ``run_id`` goes."""
    return _base(loc).child(f"{RUNS}/{run_id}/")


def check_writable(loc: S3Location) -> None:
    """Fail before any work when the bucket is missing or the credentials cannot write there.

    Writes and deletes one small object under the prefix (``runs/.write-check``).
    """
    client = s3.client()
    probe = _base(loc).child(f"{RUNS}/.write-check")
    with s3.translate(loc, client, error=SinkError):
        s3.put_bytes(client, b"basketlens write check\n", probe, kind="text/plain")
        s3.delete(client, probe.bucket, [probe.key])


def publish_folder(folder: Path, loc: S3Location, *, run_id: str, info: dict[str, Any]) -> str:
    """Upload every file of ``folder`` as the run ``run_id``, then point ``latest.json`` at it.

    Returns the run's URL. Raises :class:`SinkError` (after deleting the partial upload) when
    an upload fails; the previous pointer and run stay as they were.
    """
    client = s3.client()
    run = run_location(loc, run_id)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    uploaded: list[str] = []
    try:
        with s3.translate(run, client, error=SinkError):
            for path in files:
                target = run.child(path.relative_to(folder).as_posix())
                s3.upload(client, path, target)
                uploaded.append(target.key)
            manifest = {
                "run_id": run_id,
                "path": run.key,
                "url": run.url,
                "created_at": info.get("created_at"),
                "basketlens_version": info.get("basketlens_version"),
                "files": [path.relative_to(folder).as_posix() for path in files],
            }
        body = json.dumps(manifest, indent=2).encode("utf-8")
        with s3.translate(pointer(loc), client, error=SinkError):
            s3.put_bytes(client, body, pointer(loc), kind="application/json")  # the commit
    except BaseException:
        _remove(client, run, uploaded)
        raise
    log.info("published %d files to %s; %s points at it", len(files), run.url, POINTER)
    return run.url


def _remove(client: Any, run: S3Location, keys: list[str]) -> None:
    """Best effort: delete a partial upload (a later lifecycle rule can catch leftovers)."""
    if not keys:
        return
    try:
        s3.delete(client, run.bucket, keys)
    except (s3.BotoCoreError, s3.ClientError) as exc:
        log.warning("%s: could not remove the partial upload (%s)", run.url, exc)


def fetch_run(loc: S3Location, dest: Path) -> Path:
    """Download the run ``latest.json`` names into ``dest``; return ``dest``.

    Raises :class:`ModelError` when the location holds no published run.
    """
    client = s3.client()
    here = pointer(loc)
    with s3.translate(here, client, error=ModelError):
        if s3.size_of(client, here) is None:
            raise ModelError(
                f"{_base(loc).url} holds no published run ({POINTER} is missing); publish one "
                "with `basketlens run … --out s3://…`"
            )
        manifest = json.loads(s3.get_bytes(client, here))
        run = S3Location(loc.bucket, manifest["path"])
        for name in manifest["files"]:
            target = dest / name
            if dest.resolve() not in target.resolve().parents:
                raise ModelError(f"{here.url}: file name {name!r} leaves the run folder")
            s3.download(client, run.child(name), target)
    log.info("fetched run %s from %s into %s", manifest["run_id"], run.url, dest)
    return dest
