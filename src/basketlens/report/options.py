"""Options of the report stage: which report files to render.

Example:
    >>> ReportOptions(enabled=False).validate().enabled
    False
"""

from __future__ import annotations

from dataclasses import dataclass

from basketlens._params import Boolean, Options, param


@dataclass(frozen=True)
class ReportOptions(Options):
    """The ``[report]`` section."""

    section = "report"
    panel = "Report"

    enabled: bool = param(
        True,
        Boolean(),
        "Render the report files after the run (--no-report skips them).",
        cli="--no-report",
        sets=False,
        flag_help="Skip report.html, insights.xlsx, charts and BI tables.",
    )
    html: bool = param(True, Boolean(), "Write report.html.", cli="--html/--no-html")
    excel: bool = param(True, Boolean(), "Write insights.xlsx.", cli="--excel/--no-excel")
    charts: bool = param(True, Boolean(), "Write charts/*.png.", cli="--charts/--no-charts")
    bi: bool = param(True, Boolean(), "Write the bi/ star tables.", cli="--bi/--no-bi")
    csv: bool = param(
        False,
        Boolean(),
        "Also write the BI tables as CSV beside the Parquet ones.",
        cli="--csv",
        sets=True,
    )
