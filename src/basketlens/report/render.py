"""Render the report files of a run folder: ``report.html``, ``insights.xlsx``, ``charts/*.png``
and the ``bi/`` tables. Renders only what the run folder holds; nothing is recomputed.

Example:
    >>> files = render_report("demo-out")               # doctest: +SKIP
    >>> files.html.name                                 # doctest: +SKIP
    'report.html'
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vl_convert

from basketlens.errors import ModelError
from basketlens.report.bi import write_bi_tables
from basketlens.report.charts import build_specs
from basketlens.report.excel import write_workbook
from basketlens.report.html import render_html
from basketlens.report.options import ReportOptions
from basketlens.runfolder.analysis import Analysis
from basketlens.runfolder.layout import REPORT_FILES
from basketlens.runfolder.read import read_run
from basketlens.textsafe import chart_safe

log = logging.getLogger(__name__)

__all__ = ["PNG_SCALE", "ReportFiles", "render_report", "write_pngs"]

#: Pixels per Vega-Lite pixel in the PNGs.
PNG_SCALE = 2.0


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`render_report` wrote (``None`` / empty for a part that was switched off)."""

    out_dir: Path
    html: Path | None = None
    excel: Path | None = None
    charts: tuple[Path, ...] = ()
    bi: tuple[Path, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def all(self) -> tuple[Path, ...]:
        """Every file written."""
        return tuple(p for p in (self.html, self.excel) if p is not None) + self.charts + self.bi


def render_report(
    run: str | Path | Analysis, *, options: ReportOptions | None = None, **changes: Any
) -> ReportFiles:
    """Render the report files of a run folder into that same folder.

    ``run`` is the folder, or an :class:`Analysis` already written to one (its ``out_dir``).
    ``options`` / ``changes`` (field names of :class:`ReportOptions`: ``html``, ``excel``,
    ``charts``, ``bi``, ``csv``) choose the files. Raises :class:`ModelError` naming the
    missing file when the folder is not a basketlens run folder.

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
    seconds: dict[str, float] = {}
    result: dict[str, Any] = {}
    specs: dict[str, dict[str, Any] | None] = {}

    def timed(part: str, make: Any) -> Any:
        t0 = time.perf_counter()
        value = make()
        seconds[part] = round(time.perf_counter() - t0, 3)
        return value

    if opts.html or opts.charts:
        specs = timed("specs", lambda: chart_safe(build_specs(bundle)))  # no control chars
    if opts.html:
        path = folder / REPORT_FILES["html"]
        result["html"] = timed("html", lambda: render_html(bundle, specs, path=path))
    if opts.charts:
        folder_charts = folder / REPORT_FILES["charts"]
        result["charts"] = timed("charts", lambda: write_pngs(specs, folder=folder_charts))
    if opts.excel:
        path_x = folder / REPORT_FILES["excel"]
        result["excel"] = timed("excel", lambda: write_workbook(bundle, path=path_x))
    if opts.bi:
        folder_bi = folder / REPORT_FILES["bi"]
        result["bi"] = timed("bi", lambda: write_bi_tables(bundle, folder=folder_bi, csv=opts.csv))
    log.info("report rendered in %s", seconds)
    return ReportFiles(out_dir=folder, seconds=seconds, **result)


def write_pngs(specs: dict[str, dict | None], *, folder: Path) -> tuple[Path, ...]:
    """Render every available chart spec to ``folder/<slug>.png`` with vl-convert (offline)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for slug, spec in specs.items():
        path = folder / f"{slug}.png"
        if spec is None:
            path.unlink(missing_ok=True)  # a stale chart from an earlier run would mislead
            continue
        path.write_bytes(vl_convert.vegalite_to_png(spec, scale=PNG_SCALE))
        written.append(path)
    log.info("wrote %d charts to %s", len(written), folder)
    return tuple(written)
