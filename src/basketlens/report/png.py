"""Chart PNGs drawn by vl-convert in worker processes, each PNG carrying its spec's fingerprint.

vl-convert holds Python's lock while it draws (a chart blocks every other thread of the
process for its 0.05–0.3 s), so drawing in threads does not overlap the report's other work.
:class:`PngWorkers` therefore draws in separate processes (``python -m
basketlens.report.png``): the main process sends one job per line (spec, locale, scale, path,
fingerprint) on the worker's stdin and reads one reply per line on its stdout, while it writes
the HTML, the workbook and the BI tables itself. When no process can be started, the charts
are drawn in the calling thread instead.

A PNG carries the fingerprint of what it depicts (:func:`spec_fingerprint`) in a ``tEXt``
chunk, so re-rendering a folder redraws only the charts that changed.

Example:
    >>> len(spec_fingerprint({"mark": "bar"}, {}))
    64
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import struct
import subprocess
import sys
import tempfile
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from basketlens.errors import ReportError

log = logging.getLogger(__name__)

#: Pixels per Vega-Lite pixel in the PNGs.
PNG_SCALE = 2.0
#: The PNG text chunk keyword holding the fingerprint of the chart's spec.
PNG_KEY = b"basketlens-spec"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TINY_PNG = _PNG_SIGNATURE + struct.pack(">I", 13) + b"IHDR" + bytes(13) + bytes(4)


def _vl_convert() -> Any:
    import vl_convert  # ~10 ms; the first drawing in a process starts its JavaScript engine

    return vl_convert


def spec_fingerprint(spec: Mapping[str, Any], locale: Mapping[str, Any]) -> str:
    """What a PNG depicts: the spec, the number locale, the scale and the renderer's version.

    Example:
        >>> len(spec_fingerprint({"mark": "bar"}, {}))
        64
    """
    text = json.dumps(
        [spec, locale, PNG_SCALE, _vl_convert().__version__],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def with_text_chunk(png: bytes, key: bytes, value: bytes) -> bytes:
    """``png`` with a ``tEXt`` chunk ``key``/``value`` after its header chunk.

    Example:
        >>> png_text(with_text_chunk(_TINY_PNG, b"k", b"v"), b"k")
        'v'
    """
    if png[:8] != _PNG_SIGNATURE:
        return png
    header_end = 8 + 12 + struct.unpack(">I", png[8:12])[0]
    data = key + b"\x00" + value
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + data) & 0xFFFFFFFF)
    return png[:header_end] + chunk + png[header_end:]


def png_text(png: bytes, key: bytes) -> str | None:
    """The value of the ``tEXt`` chunk ``key`` before the image data, else None."""
    if png[:8] != _PNG_SIGNATURE:
        return None
    pos = 8
    while pos + 8 <= len(png):
        length = struct.unpack(">I", png[pos : pos + 4])[0]
        kind = png[pos + 4 : pos + 8]
        if kind == b"IDAT":
            return None
        if kind == b"tEXt":
            name, _, value = png[pos + 8 : pos + 8 + length].partition(b"\x00")
            if name == key:
                return value.decode("latin-1")
        pos += 12 + length
    return None


def png_fingerprint(path: Path) -> str | None:
    """The spec fingerprint a PNG written by basketlens carries (None: none, or no file)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)  # the text chunk sits right after the header
    except OSError:
        return None
    return png_text(head, PNG_KEY)


@dataclass(frozen=True)
class PngJob:
    """One chart to draw: its spec, the d3 number locale, where to write, its fingerprint."""

    spec: Mapping[str, Any]
    locale: Mapping[str, Any]
    path: Path
    key: str

    def to_line(self) -> bytes:
        job = {"spec": self.spec, "locale": self.locale, "path": str(self.path), "key": self.key}
        return json.dumps(job, ensure_ascii=False, default=str).encode() + b"\n"


def draw(spec: Mapping[str, Any], locale: Mapping[str, Any], path: Path, key: str) -> None:
    """Draw ``spec`` to ``path`` (written whole, then renamed into place) with ``key`` in it."""
    png = _vl_convert().vegalite_to_png(dict(spec), scale=PNG_SCALE, format_locale=dict(locale))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(with_text_chunk(png, PNG_KEY, key.encode()))
    tmp.replace(path)


class PngWorkers:
    """Draws :class:`PngJob` s in ``processes`` worker processes, started at once (each warms
    its JavaScript engine while the caller prepares the jobs); ``done(job, error)`` is called
    from a feeding thread as each job finishes, ``error`` None on success.

    Example:
        >>> workers = PngWorkers(processes=1, done=print)     # doctest: +SKIP
        >>> workers.submit(job); workers.join()               # doctest: +SKIP
    """

    def __init__(self, *, processes: int, done: Callable[[PngJob, str | None], None]) -> None:
        self._queue: queue.SimpleQueue[PngJob | None] = queue.SimpleQueue()
        self._done = done
        self._closed = False
        self._crashed: list[str] = []
        self._threads = [
            threading.Thread(target=self._run, name=f"charts-{i}", daemon=True)
            for i in range(max(1, processes))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: PngJob) -> None:
        """Queue ``job`` for the next free worker."""
        self._queue.put(job)

    def close(self) -> None:
        """No more jobs: each worker stops once the queue is empty."""
        if not self._closed:
            self._closed = True
            for _ in self._threads:
                self._queue.put(None)

    def cancel(self) -> None:
        """Drop the jobs not yet started and stop the workers (each finishes the chart it is
        drawing); for a run that failed before its report."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        for _ in self._threads:  # the drain may have taken close()'s stop markers too
            self._queue.put(None)
        self._closed = True
        self.join()

    def _next(self) -> PngJob | None:
        return self._queue.get()

    def _run(self) -> None:
        try:
            self._serve()
        except Exception as exc:  # raised by join(), in the caller's thread
            self._crashed.append(f"{type(exc).__name__}: {exc}")

    def _serve(self) -> None:
        """Feed one worker process job by job; without a process, draw here."""
        with tempfile.TemporaryFile() as errors:
            try:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "basketlens.report.png"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=errors,
                )
            except OSError as exc:
                log.info("no chart worker process (%s): drawing in this process", exc)
                self._serve_here(self._next())
                return
            try:
                job = self._feed(proc, self._next(), errors)
            finally:
                _stop(proc)
        self._serve_here(job)  # what a worker that stopped early left (None: nothing)

    def _feed(
        self, proc: subprocess.Popen[bytes], job: PngJob | None, errors: IO[bytes]
    ) -> PngJob | None:
        """Send jobs to ``proc`` one at a time; the job it could not take if it stopped."""
        assert proc.stdin is not None and proc.stdout is not None
        while job is not None:
            try:
                proc.stdin.write(job.to_line())
                proc.stdin.flush()
                reply = proc.stdout.readline()
            except OSError:
                reply = b""
            if not reply:  # the worker died: say why; the caller draws the rest
                errors.seek(0)
                why = errors.read().decode(errors="replace").strip().splitlines()[-1:]
                log.warning("chart worker stopped (%s); drawing here", "".join(why) or "?")
                return job
            self._done(job, json.loads(reply).get("error"))
            job = self._next()
        return None

    def _serve_here(self, job: PngJob | None) -> None:
        while job is not None:
            try:
                draw(job.spec, job.locale, job.path, job.key)
                self._done(job, None)
            except Exception as exc:
                self._done(job, f"{type(exc).__name__}: {exc}")
            job = self._next()

    def join(self) -> None:
        """Close, then wait until every job is done; :class:`ReportError` if a feeding thread
        failed."""
        self.close()
        for thread in self._threads:
            thread.join()
        if self._crashed:
            raise ReportError(f"the charts could not be drawn: {self._crashed[0]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Close a worker's pipes (it exits at the end of its input) and wait for it."""
    for pipe in (proc.stdin, proc.stdout):
        try:
            if pipe is not None:
                pipe.close()
        except OSError:  # a worker that died leaves a broken pipe: nothing left to say
            pass
    proc.wait()


def _warm_up() -> None:
    """Start the JavaScript engine (a third of a second) before the first job arrives."""
    try:
        _vl_convert().vegalite_to_png({"data": {"values": []}, "mark": "point"})
    except Exception as exc:  # the first real job reports any lasting problem
        log.debug("chart worker warm-up failed: %s", exc)


def main() -> int:
    """The worker process: one JSON job per stdin line, one JSON reply per stdout line."""
    out = sys.stdout.buffer
    try:
        _warm_up()
        for line in sys.stdin.buffer:
            job = json.loads(line)
            try:
                draw(job["spec"], job["locale"], Path(job["path"]), job["key"])
                reply: dict[str, Any] = {"path": job["path"]}
            except Exception as exc:
                reply = {"path": job["path"], "error": f"{type(exc).__name__}: {exc}"}
            out.write(json.dumps(reply).encode() + b"\n")
            out.flush()
    except (KeyboardInterrupt, BrokenPipeError):
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
