"""Large workbook tables are written in one vectorised pass (issue 13, speed) and read back
exactly as the same tables written cell by cell through XlsxWriter (the oracle)."""

from __future__ import annotations

import math
import zipfile
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from basketlens.report import _sheet_rows, excel, formats

openpyxl = pytest.importorskip("openpyxl")

EDGE = pl.DataFrame(
    {
        "customer_id": [f"C{i}" for i in range(12)],
        "count": [0, 1, -2, 3, 2**40, None, 7, 8, 9, 10, 11, 12],
        "net_sales": [0.1, 1e-7, 1e20, -0.0, None, float("nan"), float("inf"), 2.5, 1 / 3,
                      123456.789, -5.25, 7.0],
        "flag": [True, False, None, True, False, True, True, False, None, True, False, True],
        "name": [
            '=HYPERLINK("http://x","y")', "<r><t>raw</t></r>", "a & b < c > d", "  spaced  ",
            "ctrl\x01char\x1f", "_x0041_ literal", "tab\there", "line\nbreak", "cr\rhere",
            "🧀 Brie", "", None,
        ],
        "items": [["a", "b"], [], None, ["<x>"], ["y"], ["z"], ["1"], ["2"], ["3"], ["4"],
                  ["5"], ["6"]],
        "when": [datetime(2011, 1, i + 1) for i in range(12)],
    }
)  # fmt: skip


def _write(path: Path, frame: pl.DataFrame, fast_rows: int | None) -> Path:
    w = excel._Writer(path, formats.NumberFormat.for_locale("en-GB", currency="GBP"),
                      fast_rows=fast_rows)  # fmt: skip
    w.table("Edge", frame, note="a note above the table")
    ws = w.book.add_worksheet("Blocks")
    ws.write_string(0, 0, "Title row")
    nxt = excel._block(w, ws, 2, frame) + 2
    ws.write_string(nxt, 0, "between the blocks")
    excel._block(w, ws, nxt + 1, frame.head(3))
    excel._block(w, ws, nxt + 6, frame.slice(2))
    w.close()
    return path


def _cells(path: Path) -> dict[str, dict[str, tuple[object, str]]]:
    book = openpyxl.load_workbook(path)
    return {
        ws.title: {
            c.coordinate: (c.value, c.number_format)
            for row in ws.iter_rows()
            for c in row
            if c.value is not None
        }
        for ws in book.worksheets
    }


def _same(a: object, b: object) -> bool:
    """``a`` (cell by cell) and ``b`` (vectorised) hold the same value as Excel reads them.

    Inline strings escape a literal ``_xHHHH_`` as ``_x005F_xHHHH_``, as XlsxWriter's own
    inline strings do and Excel reads back; openpyxl leaves that escape in inline strings.
    """
    if isinstance(b, str):
        b = b.replace("_x005F_", "_")
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-15, abs_tol=0.0) or a == b
    return a == b


def test_fast_rows_read_back_like_cell_by_cell_rows(tmp_path: Path) -> None:
    slow = _cells(_write(tmp_path / "slow.xlsx", EDGE, None))
    fast = _cells(_write(tmp_path / "fast.xlsx", EDGE, 0))
    assert slow.keys() == fast.keys()
    for sheet in slow:
        assert slow[sheet].keys() == fast[sheet].keys(), sheet
        for ref, (value, number_format) in slow[sheet].items():
            got, got_format = fast[sheet][ref]
            assert _same(value, got), (sheet, ref, value, got)
            assert number_format == got_format, (sheet, ref)
    # the hostile texts are text, neutralised; a raw "<r>" string is not markup
    values = {v for v, _ in fast["Edge"].values()}
    # (XlsxWriter would write "<r>…</r>" text as raw rich-text markup: it is neutralised)
    assert '\'=HYPERLINK("http://x","y")' in values and "'<r><t>raw</t></r>" in values
    assert "🧀 Brie" in values and "a & b < c > d" in values


def test_sheet_layout_survives_the_splice(tmp_path: Path) -> None:
    path = _write(tmp_path / "fast.xlsx", EDGE, 0)
    book = openpyxl.load_workbook(path)
    ws = book["Edge"]
    assert ws.freeze_panes == "A3" and ws.auto_filter.ref == "A2:G14"
    assert ws.max_row == 14 and ws.dimensions == "A1:G14"
    assert ws["A2"].font.bold and ws["A3"].value == "C0" and ws["A14"].value == "C11"
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
    assert names[0] == "[Content_Types].xml"
    assert pl.read_excel(path, sheet_name="Edge", read_options={"header_row": 1}).height == 12


def test_long_text_is_cut_where_excel_cuts_it(tmp_path: Path) -> None:
    frame = pl.DataFrame({"text": ["x" * 40_000, "🧀" * 20_000] + ["short"] * 60})
    slow = _cells(_write(tmp_path / "slow.xlsx", frame, None))
    fast = _cells(_write(tmp_path / "fast.xlsx", frame, 0))
    assert fast["Edge"]["A3"][0] == slow["Edge"]["A3"][0] == "x" * 32_767
    assert fast["Edge"]["A4"][0] == slow["Edge"]["A4"][0] == "🧀" * 16_383  # 2 units each
    # the rest of the column is still written (XlsxWriter alone stopped at the long text)
    assert fast["Edge"]["A64"][0] == slow["Edge"]["A64"][0] == "short"


def test_column_letters_and_rows_xml() -> None:
    assert [_sheet_rows.column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == [
        "A", "Z", "AA", "AB", "ZZ", "AAA",
    ]  # fmt: skip
    xml = _sheet_rows.rows_xml(
        pl.DataFrame({"a": [1.5, None], "b": [None, "x&y"]}), first_row=9, styles=["<S1>", ""]
    )
    assert xml == (
        '<row r="10"><c r="A10" s="<S1>"><v>1.5</v></c></row>'
        '<row r="11"><c r="B11" t="inlineStr"><is><t xml:space="preserve">x&amp;y</t></is></c>'
        "</row>"
    )


def test_the_run_workbook_is_the_same_either_way(
    tmp_path: Path, make_output_folder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from basketlens.runfolder.read import read_run

    bundle = read_run(make_output_folder(tmp_path / "out", hostile=True), model=False)
    fast = _cells(excel.write_workbook(bundle, path=tmp_path / "fast.xlsx"))
    monkeypatch.setattr(excel._Writer.__init__, "__kwdefaults__", {"fast_rows": None})
    slow = _cells(excel.write_workbook(bundle, path=tmp_path / "slow.xlsx"))
    assert fast.keys() == slow.keys()
    for sheet in slow:
        assert fast[sheet].keys() == slow[sheet].keys(), sheet
        for ref, (value, number_format) in slow[sheet].items():
            assert _same(value, fast[sheet][ref][0]), (sheet, ref)
            assert number_format == fast[sheet][ref][1], (sheet, ref)
