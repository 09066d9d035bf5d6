"""Reports people read: ``report.html``, ``insights.xlsx``, ``charts/*.png`` and ``bi/`` tables.

Reads ONLY a run folder (through :func:`basketlens.runfolder.read.read_run`), or the
:class:`~basketlens.runfolder.Analysis` a run writes to one, and renders it; nothing is
recomputed. A run starts drawing the charts of its earlier stages' tables while its recommender
trains (:func:`start_charts`). Sections whose tables are absent (e.g. no opportunities) say so
plainly.

Example:
    >>> from basketlens.report import render_report
    >>> files = render_report("demo-out")               # doctest: +SKIP
"""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.report.options import ReportOptions

__all__ = [
    "ChartDrawing", "ReportFiles", "ReportOptions", "render_report", "start_charts", "write_pngs",
]  # fmt: skip

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        name: ".render"
        for name in ("ChartDrawing", "ReportFiles", "render_report", "start_charts", "write_pngs")
    },
)
