"""Render the report files of a run folder: ``report.html``, ``insights.xlsx``, ``charts/*.png``
and the ``bi/`` tables. Renders only what the run folder holds; nothing is recomputed.

The work is spread over the cores: worker processes draw the PNGs with vl-convert
(:mod:`basketlens.report.png`; vl-convert holds Python's lock while it draws, so threads
would not overlap) while the main thread writes the HTML tables, the workbook and the BI
tables. A PNG whose chart is unchanged since the last rendering is kept: each PNG carries the
fingerprint of the spec it was drawn from (a PNG text chunk), so re-rendering a folder redraws
only what changed.

Example:
    >>> files = render_report("demo-out")               # doctest: +SKIP
    >>> files.html.name                                 # doctest: +SKIP
    'report.html'
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from basketlens.errors import ModelError, ReportError
from basketlens.report import formats
from basketlens.report.bi import write_bi_tables
from basketlens.report.charts import CHARTS, build_specs
from basketlens.report.excel import write_workbook
from basketlens.report.html import render_html, vega_bundle
from basketlens.report.options import ReportOptions
from basketlens.report.png import (
    PNG_SCALE,
    PngJob,
    PngWorkers,
    png_fingerprint,
    spec_fingerprint,
)
from basketlens.runfolder.analysis import Analysis
from basketlens.runfolder.layout import REPORT_FILES
from basketlens.runfolder.read import read_run
from basketlens.textsafe import chart_safe

log = logging.getLogger(__name__)

__all__ = ["PNG_SCALE", "ChartDrawing", "ChartProgress", "ReportFiles", "number_format",
           "render_report", "start_charts", "write_pngs"]  # fmt: skip

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


class ChartDrawing:
    """The PNGs of the charts drawn ahead of the report (:func:`start_charts`); hand it to
    :func:`render_report`, which draws the other charts and waits for all.

    A context manager: leaving it before the report took it over (a run that failed) drops
    the charts not yet drawn and stops the workers.
    """

    def __init__(
        self, specs: dict[str, dict | None], charts: _Charts, fmt: formats.NumberFormat
    ) -> None:
        self.specs = specs
        self.charts = charts
        self.fmt = fmt
        self.taken = False

    def cancel(self) -> None:
        """Drop the charts not yet drawn and stop the workers."""
        self.charts.workers.cancel()

    def __enter__(self) -> ChartDrawing:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.taken:
            self.cancel()


def start_charts(
    bundle: Analysis, *, out_dir: Path, options: ReportOptions | None = None
) -> ChartDrawing | None:
    """Start drawing the PNGs of the charts whose tables exist before the recommend stage
    (``ChartDef.early``) into ``out_dir/charts`` while the caller goes on; None when the
    options draw no PNGs.

    The pipeline calls this before the recommender trains (one core is idle then) with the
    tables of the stages before it; the report uses these charts as they are.

    Example:
        >>> with start_charts(partial, out_dir=staging) as drawing:     # doctest: +SKIP
        ...     render_report(analysis, drawing=drawing)                 # doctest: +SKIP
    """
    opts = (options or ReportOptions()).validate()
    if not opts.charts:
        return None
    fmt = number_format(bundle, opts)
    charts = _Charts(out_dir / REPORT_FILES["charts"], fmt, None)
    try:
        with formats.using(fmt):
            specs = chart_safe(build_specs(bundle, charts=tuple(c for c in CHARTS if c.early)))
    except BaseException:
        charts.workers.cancel()
        raise
    charts.draw(specs, last=False)
    return ChartDrawing(specs, charts, fmt)


def render_report(
    run: str | Path | Analysis,
    *,
    options: ReportOptions | None = None,
    progress: ChartProgress | None = None,
    drawing: ChartDrawing | None = None,
    **changes: Any,
) -> ReportFiles:
    """Render the report files of a run folder into that same folder.

    ``run`` is the folder, or an :class:`Analysis` already written to one (its ``out_dir``).
    ``options`` / ``changes`` (field names of :class:`ReportOptions`: ``html``, ``excel``,
    ``charts``, ``bi``, ``csv``, ``locale``, ``currency``) choose the files and how numbers
    read; ``progress`` is told as each chart PNG is done; ``drawing``: the charts a run
    started drawing before its last stages (:func:`start_charts`), used as they are. Raises
    :class:`ModelError` naming the missing file when the folder is not a basketlens run
    folder.

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

    early = _take(drawing, fmt, opts)
    with formats.using(fmt), ThreadPoolExecutor(2, thread_name_prefix="report") as pool:
        # the bundle is read from the user cache (built there once, in about a second)
        js = pool.submit(vega_bundle) if opts.html else None

        # the BI tables are mostly Polars work, which leaves Python's lock to the HTML
        def write_bi() -> tuple[Path, ...]:
            return write_bi_tables(bundle, folder=folder / REPORT_FILES["bi"], csv=opts.csv)

        bi = pool.submit(_formatted, fmt, lambda: timed("bi", write_bi)) if opts.bi else None
        # the chart workers start first: they warm up while the specs are built
        charts = early.charts if early is not None else None
        if charts is None and opts.charts:
            charts = _Charts(folder / REPORT_FILES["charts"], fmt, progress)
        elif charts is not None:
            charts.attach(progress)
        done = early.specs if early is not None else {}
        wanted = tuple(c for c in CHARTS if c.slug not in done)
        try:  # chart text without control characters (they abort the PNG renderer)
            more = (
                timed("specs", lambda: chart_safe(build_specs(bundle, charts=wanted)))
                if opts.html or opts.charts
                else {}
            )
        finally:  # the workers get the charts, or stop when the specs could not be built
            if charts is not None:
                charts.draw(more if "specs" in seconds else {})
        found = {**done, **more}
        specs = {c.slug: found[c.slug] for c in CHARTS if c.slug in found}  # the report's order
        if opts.html:
            path = folder / REPORT_FILES["html"]
            result["html"] = timed(
                "html", lambda: render_html(bundle, specs, path=path, vega_js=js, fmt=fmt)
            )
        if opts.excel:
            path_x = folder / REPORT_FILES["excel"]
            result["excel"] = timed("excel", lambda: write_workbook(bundle, path=path_x))
        if bi is not None:
            result["bi"] = bi.result()
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
    in worker processes; an unchanged chart keeps its PNG.

    Example:
        >>> write_pngs(build_specs(bundle), folder=Path("out/charts"))  # doctest: +SKIP
    """
    charts = _Charts(folder, fmt or formats.active(), progress)
    charts.draw(specs)
    written, _ = charts.wait()
    return written


def _formatted(fmt: formats.NumberFormat, make: Callable[[], Any]) -> Any:
    """``make()`` with ``fmt`` the active number format (a worker thread starts without)."""
    with formats.using(fmt):
        return make()


def _take(
    charts: ChartDrawing | None, fmt: formats.NumberFormat, opts: ReportOptions
) -> ChartDrawing | None:
    """The early charts, if they suit this report (PNGs wanted, same number format); else
    they are dropped and every chart is drawn here."""
    if charts is None:
        return None
    charts.taken = True
    if opts.charts and charts.fmt == fmt:
        return charts
    charts.cancel()
    return None


def _processes() -> int:
    """Chart worker processes: every core but the main thread's (which writes the HTML, the
    workbook and the BI tables meanwhile), at least one, at most four."""
    return min(4, max(1, (os.cpu_count() or 2) - 1))


class _Charts:
    """The PNGs of one report: worker processes (:class:`PngWorkers`) start at once and draw
    each chart handed to :meth:`draw` while the caller goes on; an unchanged chart keeps its
    PNG."""

    def __init__(
        self, folder: Path, fmt: formats.NumberFormat, progress: ChartProgress | None
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.started = self.finished = time.perf_counter()
        self.progress = progress
        self.locale = fmt.d3_locale()
        self.lock = threading.Lock()
        self.done = self.total = 0
        self.errors: dict[str, str] = {}
        self.paths: tuple[Path, ...] = ()
        self.reused: list[Path] = []
        self.workers = PngWorkers(processes=_processes(), done=self._drawn)

    def draw(self, specs: Mapping[str, dict | None], *, last: bool = True) -> None:
        """Hand every available chart to the workers (unless its PNG already shows it);
        ``last``: no more charts will come."""
        wanted = {slug: spec for slug, spec in specs.items() if spec is not None}
        for slug, spec in specs.items():
            if spec is None:  # a stale chart from an earlier run would mislead
                (self.folder / f"{slug}.png").unlink(missing_ok=True)
        paths = tuple(self.folder / f"{slug}.png" for slug in wanted)
        with self.lock:
            self.total += len(wanted)
        self.paths += paths
        for path, spec in zip(paths, wanted.values(), strict=True):
            key = spec_fingerprint(spec, self.locale)
            if png_fingerprint(path) == key:
                self.reused.append(path)
                self._tick()
            else:
                self.workers.submit(PngJob(spec, self.locale, path, key))
        if last:
            self.workers.close()

    def attach(self, progress: ChartProgress | None) -> None:
        """Tell ``progress`` from now on (and at once, of the charts already done)."""
        with self.lock:
            self.progress, done, total = progress, self.done, self.total
        if progress is not None and done:
            progress(done, total)

    def _drawn(self, job: PngJob, error: str | None) -> None:
        if error is not None:
            with self.lock:
                self.errors[job.path.stem] = error
        self._tick()

    def _tick(self) -> None:
        with self.lock:
            self.done += 1
            self.finished = time.perf_counter()
            done, total, progress = self.done, self.total, self.progress
        if progress is not None:
            progress(done, total)

    def wait(self) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
        """(every PNG, the PNGs kept unchanged) once all are done; a failure is raised."""
        self.workers.join()
        if self.errors:
            slug, why = sorted(self.errors.items())[0]
            raise ReportError(f"chart {slug!r} could not be drawn: {why}")
        log.info("%d charts drawn, %d unchanged and kept", self.total - len(self.reused),
                 len(self.reused))  # fmt: skip
        return self.paths, tuple(self.reused)

    @property
    def seconds(self) -> float:
        return round(self.finished - self.started, 3)
