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

from basketlens.report import insights
from basketlens.report.charts import plain
from basketlens.runfolder.analysis import Analysis

log = logging.getLogger(__name__)

#: Rows per sheet (Excel's limit is 1,048,576; the rest is in the BI tables).
MAX_ROWS = 1_000_000
#: Opportunities listed on each segment's sheet.
MAX_SEGMENT_OPPORTUNITIES = 50_000
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_PERCENT = ("share", "support", "confidence", "coverage", "hit_rate", "precision", "recall")
_MONEY = ("net_sales", "expected_value", "value", "revenue")
_INVALID_SHEET = str.maketrans({c: " " for c in "[]:*?/\\"})


def neutralise(text: str) -> str:
    """Prefix text that a spreadsheet would read as a formula with an apostrophe."""
    return "'" + text if text.startswith(_DANGEROUS) else text


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    """Cell values: lists joined with " + ", text neutralised, NaN/inf blank, others as text."""
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
        exprs.append(
            pl.when(text.str.contains(r"^[=+\-@\t\r]"))
            .then("'" + text)
            .otherwise(text)
            .alias(column)
        )
    return frame.select(exprs)


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
    def __init__(self, path: Path) -> None:
        self.book = xlsxwriter.Workbook(
            str(path),
            {"strings_to_formulas": False, "strings_to_urls": False, "nan_inf_to_errors": True},
        )
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
            "pct": f({"num_format": "0.0%"}),
            "money": f({"num_format": "#,##0"}),
            "int": f({"num_format": "#,##0"}),
            "num": f({"num_format": "#,##0.000"}),
            "title": f({"bold": True, "font_size": 14}),
            "bold": f({"bold": True}),
            "wrap": f({"text_wrap": True, "valign": "top"}),
        }

    def table(self, title: str, frame: pl.DataFrame, *, note: str = "") -> Any:
        """A sheet holding ``frame`` with styled frozen header, autofilter, widths, formats."""
        ws = self.book.add_worksheet(sheet_name(title, self.taken))
        start = 0
        if note:
            ws.write_string(0, 0, neutralise(note), self.fmt["bold"])
            start = 1
        shown = frame.head(MAX_ROWS)
        widths = self.write_block(ws, start, shown)
        for j, column in enumerate(frame.columns):
            ws.set_column(j, j, widths[j], self._format(column, frame.schema[column]))
        ws.freeze_panes(start + 1, 0)
        if frame.width:
            ws.autofilter(start, 0, start + max(shown.height, 1), frame.width - 1)
        if frame.height > MAX_ROWS:
            more = f"{frame.height - MAX_ROWS:,} more rows are in the bi/ tables"
            ws.write_string(start + shown.height + 2, 0, more)
        return ws

    def write_block(self, ws: Any, row: int, frame: pl.DataFrame) -> list[int]:
        """Header at ``row`` and the rows below it, column by column; return column widths."""
        cells = prepare(frame)
        widths = []
        for j, column in enumerate(frame.columns):
            ws.write_string(row, j, plain(column), self.fmt["head"])
            fmt = self._format(column, frame.schema[column])
            ws.write_column(row + 1, j, cells[column].to_list(), fmt)
            width = len(plain(column)) + 2
            if cells.schema[column] == pl.String and cells.height:
                width = max(width, (cells[column].str.len_chars().max() or 0) + 2)
            elif cells.height:
                width = max(width, 12)
            widths.append(min(max(width, 8), 60))
        return widths

    def _format(self, column: str, dtype: pl.DataType) -> Any:
        if dtype.is_float():
            if any(p in column for p in _PERCENT):
                return self.fmt["pct"]
            if column.endswith(_MONEY):
                return self.fmt["money"]
            return self.fmt["num"]
        if dtype.is_integer():
            return self.fmt["int"]
        return None

    def close(self) -> None:
        self.book.close()


def _summary(w: _Writer, bundle: Analysis) -> None:
    ws = w.book.add_worksheet(sheet_name("Summary", w.taken))
    ws.write_string(0, 0, "basketlens — customer segments and cross-sell", w.fmt["title"])
    row = 2
    for k in insights.key_numbers(bundle):
        ws.write_string(row, 0, k.label, w.fmt["bold"])
        ws.write_string(row, 1, neutralise(k.value))
        ws.write_string(row, 2, neutralise(k.detail))
        row += 1
    row += 1
    ws.write_string(row, 0, "Insights", w.fmt["bold"])
    for sentence in insights.summary_sentences(bundle):
        row += 1
        ws.write_string(row, 0, neutralise(sentence))
    row += 2
    ws.write_string(row, 0, "Created", w.fmt["bold"])
    ws.write_string(row, 1, neutralise(str(bundle.info.get("created_at", ""))))
    ws.set_column(0, 0, 24)
    ws.set_column(1, 2, 22)


def _segment_sheets(w: _Writer, bundle: Analysis) -> None:
    rules, opp = bundle.rules, bundle.opportunities
    rule_cols = [c for c in ("rule_id", "antecedent_names", "consequent_names", "support",
                             "confidence", "lift", "opportunity_customers", "antecedent_count",
                             "both_count") if rules is not None and c in rules.columns]  # fmt: skip
    opp_cols = [c for c in ("rank", "customer_id", "customer_name", "rule_id", "antecedent_names",
                            "consequent_names", "confidence", "lift", "antecedent_orders",
                            "antecedent_recency_days", "expected_value", "expected_quantity")
                if opp is not None and c in opp.columns]  # fmt: skip
    for seg, name in bundle.segment_names.items():
        ws = w.book.add_worksheet(sheet_name(f"Seg {seg} {name}", w.taken))
        ws.write_string(0, 0, neutralise(f"Segment {seg}: {name}"), w.fmt["title"])
        row = 2
        ws.write_string(row, 0, "Rules (by lift)", w.fmt["bold"])
        row += 1
        if rules is None:
            ws.write_string(row, 0, "rules.parquet is not in this output folder")
            row += 2
        else:
            part = rules.filter(pl.col("scope") == str(seg)).sort("lift", descending=True)
            row = _block(w, ws, row, part.select(rule_cols)) + 2
        ws.write_string(row, 0, "Opportunities: customers who buy the left side but never the "
                                "right (by expected value)", w.fmt["bold"])  # fmt: skip
        row += 1
        if opp is None:
            ws.write_string(row, 0, "opportunities.parquet is not in this output folder")
        else:
            part = opp.filter(pl.col("scope") == str(seg))
            if "expected_value" in part.columns:
                part = part.sort("expected_value", descending=True)
            _block(w, ws, row, part.select(opp_cols).head(MAX_SEGMENT_OPPORTUNITIES))
        ws.freeze_panes(1, 0)
        ws.set_column(0, 0, 14)
        ws.set_column(1, 4, 32)
        ws.set_column(5, 12, 14)


def _block(w: _Writer, ws: Any, row: int, frame: pl.DataFrame) -> int:
    """Write a header + rows block at ``row``; return the next free row."""
    w.write_block(ws, row, frame)
    if frame.is_empty():
        ws.write_string(row + 1, 0, "none")
        return row + 2
    return row + 1 + frame.height


def write_workbook(bundle: Analysis, *, path: Path) -> Path:
    """Write the workbook to ``path`` and return it.

    Example:
        >>> write_workbook(load_bundle("out"), path=Path("out/insights.xlsx"))  # doctest: +SKIP
    """
    w = _Writer(path)
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
            drop = {"antecedent", "consequent"}
            w.table(
                "Rules", bundle.rules.select([c for c in bundle.rules.columns if c not in drop])
            )
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
    finally:
        w.close()
    log.info("wrote %s", path)
    return path
