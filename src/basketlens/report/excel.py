"""Write ``insights.xlsx``: Summary, Segments, Customers, Rules, one sheet per segment, Item
support, Cleaning, Recommendations — styled, frozen, filterable, injection-safe.

Every text cell from the data is written with ``write_string`` (never parsed as a formula),
and text starting with ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading apostrophe so that
copying it to another tool cannot turn it into a formula either.

Example:
    >>> neutralise("=HYPERLINK(\\"http://x\\",\\"y\\")")
    '\\'=HYPERLINK("http://x","y")'
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from basketlens import textsafe
from basketlens.report import _sheet_rows, formats, insights
from basketlens.report.columns import ColumnFormat
from basketlens.runfolder.analysis import Analysis
from basketlens.textsafe.frames import neutralise_expr

log = logging.getLogger(__name__)

#: Rows per sheet (Excel's limit is 1,048,576; the rest is in the BI tables).
MAX_ROWS = 1_000_000
#: Calls (best first) and rules (by lift) listed on each segment's sheet; the rest are in
#: opportunities.parquet, rules.parquet, the Rules sheet and the bi/ tables.
MAX_SEGMENT_OPPORTUNITIES = 2_000
MAX_SEGMENT_RULES = 1_000
#: Rules on the Rules sheet: cross-sell first, then by lift; all are in rules.parquet and bi/.
MAX_RULES_SHEET = 5_000
#: Values read per column to choose its number of decimals.
_SAMPLE = 5_000
#: Tables with more rows than this have their rows written in one vectorised pass.
FAST_ROWS = 50
_INVALID_SHEET = str.maketrans({c: " " for c in "[]:*?/\\"})
#: XlsxWriter writes a text like ``<r>…</r>`` as raw rich-text markup.
_RICH_TEXT = r"(?s)^<r>.*</r>$"


def neutralise(text: str) -> str:
    """:func:`basketlens.textsafe.neutralise` (formula prefixes get an apostrophe), and text
    that XlsxWriter would write as raw rich-text markup (``<r>…</r>``) too."""
    markup = text.startswith("<r>") and text.endswith("</r>")
    return "'" + text if markup else textsafe.neutralise(text)


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    """Cell values: lists joined with " + ", text neutralised (see :func:`neutralise`) and cut
    to the 32,767 characters a cell holds, NaN/inf blank, others as text.

    A longer text would stop XlsxWriter's ``write_column`` there, leaving the rest of the
    column empty.
    """
    exprs = []
    for column, dtype in frame.schema.items():
        col = pl.col(column)
        if dtype == pl.Boolean or dtype.is_integer():
            exprs.append(col)
            continue
        if dtype.is_float():
            exprs.append(pl.when(col.is_finite()).then(col))
            continue
        if isinstance(dtype, pl.List):
            text = col.cast(pl.List(pl.String)).list.join(" + ")
        else:
            text = col.cast(pl.String)
        markup = text.str.contains(_RICH_TEXT)
        exprs.append(
            pl.when(markup).then("'" + text).otherwise(neutralise_expr(text)).alias(column)
        )
    cells = frame.select(exprs)
    long = [
        c
        for c, t in cells.schema.items()
        if t == pl.String and (cells[c].str.len_chars() > _sheet_rows.MAX_TEXT // 2).any()
    ]
    if long:  # rare: cut in Python, counting UTF-16 units as Excel does
        cells = cells.with_columns(
            pl.col(c).map_elements(_sheet_rows.utf16_truncate, return_dtype=pl.String) for c in long
        )
    return cells


def sheet_name(text: str, taken: set[str]) -> str:
    """A valid, unique sheet name (≤ 31 chars, no ``[]:*?/\\``, not starting with ')."""
    base = " ".join(text.translate(_INVALID_SHEET).split()).strip("'")[:31] or "Sheet"
    name, i = base, 2
    while name.lower() in taken:
        suffix = f" ({i})"
        name, i = base[: 31 - len(suffix)] + suffix, i + 1
    taken.add(name.lower())
    return name


class _Writer:
    """The workbook being written: styles, sheet names, and table rows written fast.

    Tables longer than ``fast_rows`` rows have their first data row written by XlsxWriter
    (which numbers the row's formats) and the rest spliced in after it closes
    (:mod:`basketlens.report._sheet_rows`); ``fast_rows=None`` writes every cell through
    XlsxWriter.
    """

    def __init__(
        self, path: Path, fmt: formats.NumberFormat, *, fast_rows: int | None = FAST_ROWS
    ) -> None:
        self.path = path
        self.fast_rows = fast_rows
        self._deferred: dict[Any, list[_sheet_rows.Rows]] = {}
        self._styles: dict[str, Any] = {}
        self.book = xlsxwriter.Workbook(
            str(path),
            {"strings_to_formulas": False, "strings_to_urls": False, "nan_inf_to_errors": True},
        )
        self.numbers = fmt
        self.taken: set[str] = set()
        f = self.book.add_format
        self.fmt = {
            "head": f(
                {
                    "bold": True,
                    "bg_color": "#14213D",
                    "font_color": "#FFFFFF",
                    "text_wrap": True,
                    "valign": "top",
                    "border": 1,
                }
            ),
            "title": f({"bold": True, "font_size": 14}),
            "bold": f({"bold": True}),
            "wrap": f({"text_wrap": True, "valign": "top"}),
        }
        self._number_formats: dict[str, Any] = {}

    def number_format(self, code: str) -> Any:
        """The cell format with Excel number format ``code`` (one per code)."""
        if code not in self._number_formats:
            self._number_formats[code] = self.book.add_format({"num_format": code})
        return self._number_formats[code]

    def column_format(self, column: ColumnFormat) -> Any:
        """The cell format of a column: counts whole, money in its currency, shares in %."""
        if column.kind in ("text",):
            return None
        if column.kind == "id":
            return self.number_format("0")
        return self.number_format(excel_code(column, self.numbers))

    def table(self, title: str, frame: pl.DataFrame, *, note: str = "") -> Any:
        """A sheet holding ``frame`` with styled frozen header, autofilter, widths, formats."""
        ws = self.book.add_worksheet(sheet_name(title, self.taken))
        start = 0
        if note:
            ws.write_string(0, 0, neutralise(note), self.fmt["bold"])
            start = 1
        shown = frame.head(MAX_ROWS)
        widths, cell_formats = self.write_block(ws, start, shown)
        for j in range(frame.width):
            ws.set_column(j, j, widths[j], cell_formats[j])
        ws.freeze_panes(start + 1, 0)
        if frame.width:
            ws.autofilter(start, 0, start + max(shown.height, 1), frame.width - 1)
        if frame.height > MAX_ROWS:
            more = self.numbers.integer(frame.height - MAX_ROWS) + " more rows are in bi/"
            ws.write_string(start + shown.height + 2, 0, more)
        return ws

    def columns(self, frame: pl.DataFrame) -> list[ColumnFormat]:
        """How each column of ``frame`` reads (decimals chosen from a sample of its values)."""
        out = []
        for column, dtype in frame.schema.items():
            numeric = dtype.is_numeric()
            values = frame[column].drop_nulls().head(_SAMPLE).to_list() if numeric else []
            integer = True if dtype.is_integer() else None
            out.append(ColumnFormat.of(column, values, self.numbers, integer=integer))
        return out

    def write_block(self, ws: Any, row: int, frame: pl.DataFrame) -> tuple[list[int], list[Any]]:
        """Header at ``row`` and the rows below it, column by column; return column widths and
        the cell format of each column."""
        cells = prepare(frame)
        fast = self.fast_rows is not None and cells.height > self.fast_rows
        widths, cell_formats = [], []
        for j, (column, how) in enumerate(zip(frame.columns, self.columns(frame), strict=True)):
            title = how.title()
            ws.write_string(row, j, title, self.fmt["head"])
            fmt = self.column_format(how)
            values = cells[column].head(1) if fast else cells[column]
            ws.write_column(row + 1, j, values.to_list(), fmt)
            width = min(len(title), 28) + 2
            if cells.schema[column] == pl.String and cells.height:
                width = max(width, (cells[column].str.len_chars().max() or 0) + 2)
            elif cells.height:
                width = max(width, 12)
            widths.append(min(max(width, 8), 60))
            cell_formats.append(fmt)
        if fast:
            styles = [self._style_token(fmt) for fmt in cell_formats]
            rows = _sheet_rows.block(cells.slice(1), first_row=row + 2, styles=styles)
            self._deferred.setdefault(ws, []).append(rows)
        return widths, cell_formats

    def _style_token(self, fmt: Any) -> str:
        """A placeholder for ``fmt``'s number, known only once XlsxWriter has closed."""
        if fmt is None:
            return ""
        token = f"<S{id(fmt)}>"  # "<" never survives in escaped cell text
        self._styles[token] = fmt
        return token

    def close(self) -> None:
        self.book.close()
        if not self._deferred:
            return
        order = [ws for ws in self.book.worksheets() if not ws.is_chartsheet]
        sheets = {order.index(ws): rows for ws, rows in self._deferred.items()}
        numbers = {token: fmt.xf_index for token, fmt in self._styles.items()}
        _sheet_rows.splice(self.path, sheets, numbers)


def excel_code(column: ColumnFormat, numbers: formats.NumberFormat) -> str:
    """The Excel number format of a column (Excel shows separators in the reader's locale).

    Example:
        >>> f = formats.NumberFormat.for_locale("en-GB", currency="GBP")
        >>> excel_code(ColumnFormat.of("net_sales", [1.5], f), f)
        '"£"#,##0.00'
    """
    decimals = "." + "0" * column.decimals if column.decimals else ""
    if column.kind == "share":
        return f"0{decimals}%"
    if column.kind == "money":
        return numbers.excel_money_format(column.decimals)
    return f"#,##0{decimals}"


def _summary(w: _Writer, bundle: Analysis) -> None:
    """Key numbers stored as numbers (with their formats), what to look at, the insights."""
    ws = w.book.add_worksheet(sheet_name("Summary", w.taken))
    ws.write_string(0, 0, "basketlens — customer segments and cross-sell", w.fmt["title"])
    row = 2
    codes = {"count": "#,##0", "money": w.numbers.excel_money_format(0), "number": "#,##0.00"}
    for k in insights.key_numbers(bundle):
        ws.write_string(row, 0, k.label, w.fmt["bold"])
        if k.number is None:
            ws.write_string(row, 1, neutralise(k.value))
        else:
            ws.write_number(row, 1, k.number, w.number_format(codes.get(k.kind, "General")))
        ws.write_string(row, 2, neutralise(k.detail))
        row += 1
    row += 1
    ws.write_string(row, 0, "Look first at", w.fmt["bold"])
    for i, item in enumerate(insights.look_first(bundle), start=1):
        row += 1
        ws.write_string(row, 0, f"{i}. {item.title}")
        ws.write_string(row, 1, neutralise(item.text))
    row += 2
    ws.write_string(row, 0, "Insights", w.fmt["bold"])
    for sentence in [*insights.summary_sentences(bundle), *insights.data_notes(bundle)]:
        row += 1
        ws.write_string(row, 0, neutralise(sentence))
    row += 2
    ws.write_string(row, 0, "Created", w.fmt["bold"])
    ws.write_string(row, 1, neutralise(str(bundle.info.get("created_at", ""))))
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 16)
    ws.set_column(2, 2, 60)


#: Rule columns of a segment sheet (those present).
SEGMENT_RULE_COLUMNS = (
    "rule_id", "level", "kind", "antecedent_names", "consequent_names", "support", "confidence",
    "lift", "opportunity_customers", "antecedent_count", "both_count",
)  # fmt: skip
#: Call-list columns of a segment sheet (those present).
SEGMENT_CALL_COLUMNS = (
    "rank", "customer_id", "customer_name", "item_name", "kind", "expected_value",
    "confidence", "lift", "rule", "n_rules", "rule_ids", "antecedent_orders",
    "antecedent_recency_days", "expected_quantity",
)  # fmt: skip
#: Lead rules listed in a segment sheet's "spread" block.
MAX_SPREAD_RULES = 25


def _spread(calls: pl.DataFrame) -> pl.DataFrame:
    """The lead rules of a segment's calls: calls each leads, items, expected value — the
    spread of rules over the call list (one rule filling it would show at once)."""
    total = max(calls.height, 1)
    return (
        calls.group_by("rule", maintain_order=True)
        .agg(
            pl.len().alias("calls"),
            pl.col("rank").min().alias("best_rank"),
            pl.col("item_name").n_unique().alias("items"),
            pl.col("expected_value").sum().alias("expected_value"),
        )
        .with_columns((pl.col("calls") / total).alias("share_of_calls"))
        .sort(["calls", "expected_value"], descending=True)
        .head(MAX_SPREAD_RULES)
        .select("rule", "calls", "share_of_calls", "best_rank", "items", "expected_value")
    )


def _segment_sheets(w: _Writer, bundle: Analysis) -> None:
    rules, opp = bundle.rules, bundle.opportunities
    rule_cols = [c for c in SEGMENT_RULE_COLUMNS if rules is not None and c in rules.columns]
    opp_cols = [c for c in SEGMENT_CALL_COLUMNS if opp is not None and c in opp.columns]
    for seg, name in bundle.segment_names.items():
        # a short unique sheet name; the segment's full name is the sheet's first row
        ws = w.book.add_worksheet(sheet_name(f"Seg {seg}", w.taken))
        ws.write_string(0, 0, neutralise(f"Segment {seg}: {name}"), w.fmt["title"])
        row = 2
        ws.write_string(row, 0, "Rules (by lift)", w.fmt["bold"])
        row += 1
        if rules is None:
            ws.write_string(row, 0, "rules.parquet is not in this output folder")
            row += 2
        else:
            part = rules.filter(pl.col("scope") == str(seg)).sort("lift", descending=True)
            row = _block(w, ws, row, part.select(rule_cols).head(MAX_SEGMENT_RULES))
            row = _more(ws, row, part.height - MAX_SEGMENT_RULES, "rules", "the Rules sheet") + 2
        if opp is None:
            ws.write_string(row, 0, "opportunities.parquet is not in this output folder")
        else:
            calls = opp.filter(pl.col("segment") == seg).sort("rank")
            ws.write_string(row, 0, "Spread of rules over the call list: the rules that lead "
                                    "this segment's calls", w.fmt["bold"])  # fmt: skip
            row = _block(w, ws, row + 1, _spread(calls)) + 2
            ws.write_string(row, 0, "Opportunities (the call list): an item to offer each "
                                    "customer, best first; rule = the strongest of the n_rules "
                                    "behind it", w.fmt["bold"])  # fmt: skip
            row = _block(w, ws, row + 1, calls.select(opp_cols).head(MAX_SEGMENT_OPPORTUNITIES))
            _more(ws, row, calls.height - MAX_SEGMENT_OPPORTUNITIES, "calls",
                  "opportunities.parquet")  # fmt: skip
        ws.freeze_panes(1, 0)
        ws.set_column(0, 0, 14)
        ws.set_column(1, 4, 32)
        ws.set_column(5, 12, 14)


def _more(ws: Any, row: int, hidden: int, what: str, where: str) -> int:
    """Say how many rows a capped block left out and where they are; return the next row."""
    if hidden <= 0:
        return row
    ws.write_string(row, 0, f"{hidden:,} more {what} are in {where}")
    return row + 1


def _block(w: _Writer, ws: Any, row: int, frame: pl.DataFrame) -> int:
    """Write a header + rows block at ``row``; return the next free row."""
    w.write_block(ws, row, frame)
    if frame.is_empty():
        ws.write_string(row + 1, 0, "none")
        return row + 2
    return row + 1 + frame.height


def write_sheet(frame: pl.DataFrame, *, path: Path, sheet: str) -> Path:
    """A workbook of one styled sheet holding ``frame`` (e.g. ``basketlens mine --out x.xlsx``).

    Example:
        >>> write_sheet(rules.table, path=Path("rules.xlsx"), sheet="Rules")  # doctest: +SKIP
    """
    w = _Writer(path, formats.active())
    try:
        w.table(sheet, frame)
    finally:
        w.close()
    return path


def _rules_sheet(rules: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """The Rules sheet's rows (cross-sell first, strongest lift first, at most
    ``MAX_RULES_SHEET``) and a note saying where the rest are."""
    order = [c for c in ("kind", "lift") if c in rules.columns]
    shown = rules.sort(order, descending=[False, True][-len(order) :]) if order else rules
    shown = shown.select([c for c in rules.columns if c not in ("antecedent", "consequent")])
    if rules.height <= MAX_RULES_SHEET:
        return shown, ""
    rest = formats.active().integer(rules.height - MAX_RULES_SHEET)
    note = (
        f"The {formats.active().integer(MAX_RULES_SHEET)} strongest rules (cross-sell first, by "
        f"lift); {rest} more are in rules.parquet and bi/fact_rules."
    )
    return shown.head(MAX_RULES_SHEET), note


def write_workbook(bundle: Analysis, *, path: str | Path) -> Path:
    """Write the workbook to ``path`` and return it.

    Example:
        >>> write_workbook(read_run("out"), path="out/insights.xlsx")  # doctest: +SKIP
    """
    path = Path(path)
    w = _Writer(path, formats.active())
    try:
        _summary(w, bundle)
        seg_cols = [c for c in bundle.segments.columns if not c.startswith("z__")]
        w.table("Segments", bundle.segments.select(seg_cols))
        keep = [c for c in bundle.customers.columns if c not in ("pca_1", "pca_2")]
        w.table("Customers", bundle.customers.select(keep))
        cells = insights.rfm_table(bundle)
        if cells is not None:
            w.table("RFM cells", cells)
        if bundle.rules is not None:
            rules, note = _rules_sheet(bundle.rules)
            w.table("Rules", rules, note=note)
        else:
            w.table("Rules", pl.DataFrame(), note="rules.parquet is not in this output folder")
        _segment_sheets(w, bundle)
        for title, frame, file in (
            ("Item support", bundle.item_support, "item_support.parquet"),
            ("Cleaning", bundle.cleaning, "cleaning.parquet"),
            ("Recommendations", bundle.recommendations, "recommendations.parquet"),
        ):
            if frame is None:
                w.table(title, pl.DataFrame(), note=f"{file} is not in this output folder")
            else:
                w.table(title, frame)
        if bundle.backtest is not None:
            w.table("Backtest", bundle.backtest)
        if bundle.backtest_calibration is not None:
            w.table("Backtest calibration", bundle.backtest_calibration)
    finally:
        w.close()
    log.info("wrote %s", path)
    return path
