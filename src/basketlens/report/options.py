"""Options of the report stage: which report files to render, and how numbers read.

Example:
    >>> ReportOptions(enabled=False).validate().enabled
    False
"""

from __future__ import annotations

from dataclasses import dataclass

from basketlens._params import Boolean, Options, Registered, Text, param


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
    locale: str | None = param(
        None,
        Registered("basketlens.report.formats:LOCALES", allow_none=True),
        "Locale of the numbers in the report, workbook and summary (thousands and decimal "
        "separators), e.g. de-DE, fr-FR, en-GB.",
        cli="--locale",
        default_text="from the environment (LC_ALL, LC_NUMERIC, LANG)",
    )
    currency: str | None = param(
        None,
        Text(allow_none=True),
        "Currency of the money amounts: an ISO code (GBP, EUR, USD) or a symbol.",
        cli="--currency",
        default_text="from the data (known layouts), else none",
    )
