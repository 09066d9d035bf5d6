"""Render the report files of a run folder: ``report.html``, ``insights.xlsx``, ``charts/*.png``
and the ``bi/`` tables. Renders only what the run folder holds; nothing is recomputed.

The work is spread over the cores. vl-convert (one converter, shared by the threads) renders
the PNGs and builds the JavaScript bundle in worker threads — it runs outside Python's lock —
while the main thread writes the HTML tables, the workbook and the BI tables. A PNG whose
chart is unchanged since the last rendering is kept: each PNG carries the fingerprint of the
spec it was drawn from (a PNG text chunk), so re-rendering a folder redraws only what changed.

Example:
    >>> files = render_report("demo-out")               # doctest: +SKIP
    >>> files.html.name                                 # doctest: +SKIP
    'report.html'
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vl_convert

from basketlens.errors import ModelError
from basketlens.report import formats
from basketlens.report.bi import write_bi_tables
from basketlens.report.charts import build_specs
from basketlens.report.excel import write_workbook
from basketlens.report.html import render_html, vega_bundle
from basketlens.report.options import ReportOptions
from basketlens.runfolder.analysis import Analysis
from basketlens.runfolder.layout import REPORT_FILES
from basketlens.runfolder.read import read_run
from basketlens.textsafe import chart_safe

log = logging.getLogger(__name__)

__all__ = ["PNG_SCALE", "ChartProgress", "ReportFiles", "number_format", "render_report",
           "write_pngs"]  # fmt: skip

#: Pixels per Vega-Lite pixel in the PNGs.
PNG_SCALE = 2.0
#: The PNG text chunk keyword holding the fingerprint of the chart's spec.
PNG_KEY = b"basketlens-spec"

#: Called after each chart is rendered: (charts done, charts in all).
ChartProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`render_report` wrote (``None`` / empty for a part that was switched off).

    ``seconds``: wall time of each part (``charts`` runs beside the others, so the parts add
    up to more than ``total``); ``reused``: PNGs kept because their chart did not change.
    """

    out_dir: Path
    html: Path | None = None
    excel: Path | None = None
    charts: tuple[Path, ...] = ()
    bi: tuple[Path, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)
    reused: tuple[Path, ...] = ()

    @property
    def all(self) -> tuple[Path, ...]:
        """Every file written."""
        return tuple(p for p in (self.html, self.excel) if p is not None) + self.charts + self.bi


def number_format(bundle: Analysis, options: ReportOptions) -> formats.NumberFormat:
    """The locale and currency of a report: the options first, then the run's data, then the
    environment's locale.

    Example:
        >>> number_format(bundle, ReportOptions(locale="de-DE")).locale  # doctest: +SKIP
        'de-DE'
    """
    currency = options.currency or bundle.info.get("currency")
    period = formats.Period.from_info(bundle.info)
    return formats.NumberFormat.for_locale(options.locale, currency=currency, period=period)


def render_report(
    run: str | Path | Analysis,
    *,
    options: ReportOptions | None = None,
    progress: ChartProgress | None = None,
    **changes: Any,
) -> ReportFiles:
    """Render the report files of a run folder into that same folder.

    ``run`` is the folder, or an :class:`Analysis` already written to one (its ``out_dir``).
    ``options`` / ``changes`` (field names of :class:`ReportOptions`: ``html``, ``excel``,
    ``charts``, ``bi``, ``csv``, ``locale``, ``currency``) choose the files and how numbers
    read; ``progress`` is told as each chart PNG is done. Raises :class:`ModelError` naming
    the missing file when the folder is not a basketlens run folder.

    Example:
        >>> render_report("out", excel=False, bi=False).html   # doctest: +SKIP
        PosixPath('out/report.html')
    """
    opts = (options or ReportOptions()).updated(changes).validate()
    if isinstance(run, Analysis):
        if run.out_dir is None:
            raise ModelError("write the analysis to a folder first (analysis.write(out))")
        bundle = run
    else:
        bundle = read_run(run, model=False)
    folder = bundle.out_dir
    assert folder is not None
    fmt = number_format(bundle, opts)
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    result: dict[str, Any] = {}

    def timed(part: str, make: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        value = make()
        seconds[part] = round(time.perf_counter() - t0, 3)
        return value

    with formats.using(fmt), ThreadPoolExecutor(_workers(), thread_name_prefix="report") as pool:
        # the bundle takes a second to build: start it first, in a worker thread
        js = pool.submit(vega_bundle) if opts.html else None
        # chart text without control characters (they abort the PNG renderer)
        specs = (
            timed("specs", lambda: chart_safe(build_specs(bundle)))
            if opts.html or opts.charts
            else {}
        )
        charts: _Charts | None = None
        if opts.charts:
            charts = _Charts(specs, folder / REPORT_FILES["charts"], fmt, pool, progress)
        if opts.html:
            path = folder / REPORT_FILES["html"]
            result["html"] = timed(
                "html", lambda: render_html(bundle, specs, path=path, vega_js=js, fmt=fmt)
            )
        if opts.excel:
            path_x = folder / REPORT_FILES["excel"]
            result["excel"] = timed("excel", lambda: write_workbook(bundle, path=path_x))
        if opts.bi:
            folder_bi = folder / REPORT_FILES["bi"]
            result["bi"] = timed(
                "bi", lambda: write_bi_tables(bundle, folder=folder_bi, csv=opts.csv)
            )
        if charts is not None:
            result["charts"], result["reused"] = charts.wait()
            seconds["charts"] = charts.seconds
    seconds["total"] = round(time.perf_counter() - started, 3)
    log.info("report rendered in %s", seconds)
    return ReportFiles(out_dir=folder, seconds=seconds, **result)


def write_pngs(
    specs: Mapping[str, dict | None],
    *,
    folder: Path,
    fmt: formats.NumberFormat | None = None,
    progress: ChartProgress | None = None,
) -> tuple[Path, ...]:
    """Render every available chart spec to ``folder/<slug>.png`` with vl-convert (offline),
    in worker threads; an unchanged chart keeps its PNG.

    Example:
        >>> write_pngs(build_specs(bundle), folder=Path("out/charts"))  # doctest: +SKIP
    """
    fmt = fmt or formats.active()
    with ThreadPoolExecutor(_workers(), thread_name_prefix="charts") as pool:
        written, _ = _Charts(specs, folder, fmt, pool, progress).wait()
    return written


def _workers() -> int:
    """Threads for rendering: every core (at least 2, so the main thread's work overlaps)."""
    return max(2, os.cpu_count() or 2)


class _Charts:
    """The PNGs of one report, rendered in ``pool`` as soon as their specs exist."""

    def __init__(
        self,
        specs: Mapping[str, dict | None],
        folder: Path,
        fmt: formats.NumberFormat,
        pool: ThreadPoolExecutor,
        progress: ChartProgress | None,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.started = time.perf_counter()
        self.finished = self.started
        self.progress = progress
        self.locale = fmt.d3_locale()
        self.jobs: list[tuple[Path, Future[bool]]] = []
        self.lock = threading.Lock()
        self.done = 0
        wanted = {slug: spec for slug, spec in specs.items() if spec is not None}
        for slug, spec in specs.items():
            if spec is None:  # a stale chart from an earlier run would mislead
                (folder / f"{slug}.png").unlink(missing_ok=True)
        self.total = len(wanted)
        for slug, spec in wanted.items():
            path = folder / f"{slug}.png"
            future = pool.submit(self._render, spec, path)
            future.add_done_callback(self._tick)
            self.jobs.append((path, future))

    def _render(self, spec: dict[str, Any], path: Path) -> bool:
        """Draw one PNG unless the file already shows this spec; True when drawn."""
        key = spec_fingerprint(spec, self.locale)
        if png_fingerprint(path) == key:
            return False
        png = vl_convert.vegalite_to_png(spec, scale=PNG_SCALE, format_locale=self.locale)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(with_text_chunk(png, PNG_KEY, key.encode()))
        tmp.replace(path)
        return True

    def _tick(self, _: Future[bool]) -> None:
        with self.lock:
            self.done += 1
            self.finished = time.perf_counter()
            done = self.done
        if self.progress is not None:
            self.progress(done, self.total)

    def wait(self) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
        """(every PNG, the PNGs kept unchanged) once all are done; a failure is raised."""
        reused = tuple(path for path, future in self.jobs if not future.result())
        written = tuple(path for path, _ in self.jobs)
        log.info("%d charts drawn, %d unchanged and kept", len(written) - len(reused), len(reused))
        return written, reused

    @property
    def seconds(self) -> float:
        return round(self.finished - self.started, 3)


# ------------------------------------------------------------------ PNG fingerprints
def spec_fingerprint(spec: Mapping[str, Any], locale: Mapping[str, Any]) -> str:
    """What a PNG depicts: the spec, the number locale, the scale and the renderer's version.

    Example:
        >>> len(spec_fingerprint({"mark": "bar"}, {}))
        64
    """
    text = json.dumps(
        [spec, locale, PNG_SCALE, vl_convert.__version__],
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


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TINY_PNG = _PNG_SIGNATURE + struct.pack(">I", 13) + b"IHDR" + bytes(13) + bytes(4)
