"""Reports people read: ``report.html``, ``insights.xlsx``, ``charts/*.png`` and ``bi/`` tables.

Reads ONLY a run folder (through :func:`basketlens.runfolder.read.read_run`) and renders it;
nothing is recomputed. Sections whose tables are absent (e.g. no opportunities) say so plainly.

Example:
    >>> from basketlens.report import render_report
    >>> files = render_report("demo-out")               # doctest: +SKIP
"""

from __future__ import annotations

from basketlens._lazy import lazy_exports
from basketlens.report.options import ReportOptions

__all__ = ["ReportFiles", "ReportOptions", "render_report", "write_pngs"]

__getattr__, __dir__ = lazy_exports(
    __name__, {"ReportFiles": ".render", "render_report": ".render", "write_pngs": ".render"}
)
