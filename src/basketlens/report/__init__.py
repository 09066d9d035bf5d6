"""Reports people read: ``report.html``, ``insights.xlsx``, ``charts/*.png`` and ``bi/`` tables.

Reads ONLY an output folder written by ``basketlens run`` / ``demo`` and renders it; nothing is
recomputed. Sections whose files are absent (e.g. no opportunities yet) say so plainly.

Example:
    >>> from basketlens.report import render_report
    >>> files = render_report("demo-out")               # doctest: +SKIP
    >>> files.html.name                                 # doctest: +SKIP
    'report.html'
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from basketlens.report.load import ReportBundle, load_bundle

log = logging.getLogger(__name__)

__all__ = ["ReportBundle", "ReportFiles", "load_bundle", "render_report"]

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
    out_dir: str | Path,
    *,
    html: bool = True,
    excel: bool = True,
    charts: bool = True,
    bi: bool = True,
    csv: bool = False,
) -> ReportFiles:
    """Render the report files of an output folder into that same folder.

    ``html``: report.html; ``excel``: insights.xlsx; ``charts``: charts/<name>.png;
    ``bi``: bi/*.parquet star tables (plus CSV copies with ``csv=True``).
    Raises :class:`~basketlens.errors.ModelError` naming the missing file when ``out_dir`` is
    not a basketlens output folder.

    Example:
        >>> render_report("out", excel=False, bi=False).html   # doctest: +SKIP
        PosixPath('out/report.html')
    """
    bundle = load_bundle(out_dir)
    folder = bundle.out_dir
    seconds: dict[str, float] = {}
    result: dict[str, object] = {}
    specs = None
    if html or charts:
        from basketlens.report.charts import build_specs

        t0 = time.perf_counter()
        specs = build_specs(bundle)
        seconds["specs"] = time.perf_counter() - t0
    if html:
        from basketlens.report.html import render_html

        t0 = time.perf_counter()
        result["html"] = render_html(bundle, specs or {}, path=folder / "report.html")
        seconds["html"] = time.perf_counter() - t0
    if charts:
        t0 = time.perf_counter()
        result["charts"] = write_pngs(specs or {}, folder=folder / "charts")
        seconds["charts"] = time.perf_counter() - t0
    if excel:
        from basketlens.report.excel import write_workbook

        t0 = time.perf_counter()
        result["excel"] = write_workbook(bundle, path=folder / "insights.xlsx")
        seconds["excel"] = time.perf_counter() - t0
    if bi:
        from basketlens.report.bi import write_bi_tables

        t0 = time.perf_counter()
        result["bi"] = write_bi_tables(bundle, folder=folder / "bi", csv=csv)
        seconds["bi"] = time.perf_counter() - t0
    seconds = {k: round(v, 3) for k, v in seconds.items()}
    log.info("report rendered in %s", seconds)
    return ReportFiles(out_dir=folder, seconds=seconds, **result)  # type: ignore[arg-type]


def write_pngs(specs: dict[str, dict | None], *, folder: Path) -> tuple[Path, ...]:
    """Render every available chart spec to ``folder/<slug>.png`` with vl-convert (offline)."""
    import vl_convert

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
