"""insights.xlsx opens with openpyxl: expected sheets, a sheet per segment, names, no injection."""

from __future__ import annotations

from pathlib import Path

import pytest

from basketlens.report.excel import neutralise, sheet_name

openpyxl = pytest.importorskip("openpyxl")


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory, make_output_folder):
    from basketlens.report import render_report

    out = make_output_folder(tmp_path_factory.mktemp("xl") / "out", hostile=True)
    files = render_report(out, html=False, charts=False, bi=False)
    return openpyxl.load_workbook(files.excel)


def _texts(ws) -> list[str]:
    return [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def test_expected_sheets_and_one_per_segment(workbook) -> None:
    names = workbook.sheetnames
    assert names[:4] == ["Summary", "Segments", "Customers", "Rules"]
    for expected in ("Item support", "Cleaning", "Recommendations", "Backtest"):
        assert expected in names
    segment_sheets = [n for n in names if n.startswith("Seg ")]
    assert len(segment_sheets) == 3
    assert all(len(n) <= 31 for n in names)
    assert len({n.lower() for n in names}) == len(names)


def test_no_cell_is_a_formula_and_hostile_text_is_neutralised(workbook, hostile_names) -> None:
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), (
                        ws.title,
                        cell.coordinate,
                    )
    customers = _texts(workbook["Customers"])
    for name in hostile_names:
        expected = neutralise(name)
        assert expected in customers
    assert "<script>alert(1)</script>" in customers  # HTML is harmless in a cell: kept as is


def test_segment_sheet_lists_rules_and_opportunity_customers(workbook, hostile_names) -> None:
    sheet = workbook[next(n for n in workbook.sheetnames if n.startswith("Seg 0"))]
    texts = _texts(sheet)
    assert "Rules (by lift)" in texts
    assert any(t.startswith("Opportunities") for t in texts)
    assert any(t.startswith("Customer ") or t in map(neutralise, hostile_names) for t in texts)
    assert any(t == "0-r000001" for t in texts)


def test_headers_are_styled_frozen_filtered_and_formatted(workbook) -> None:
    ws = workbook["Segments"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith("A1")
    assert ws["A1"].font.bold
    header = [c.value for c in ws[1]]

    def column(title: str) -> int:
        return next(i for i, h in enumerate(header) if h.startswith(title)) + 1

    share = ws.cell(row=2, column=column("customer share"))
    assert "%" in share.number_format
    assert header[column("net sales") - 1] == "net sales (money, 2025-01-01 to 2025-12-31)"
    money = ws.cell(row=2, column=column("net sales"))
    assert money.number_format == "#,##0"
    assert ws.cell(row=2, column=column("customers")).number_format == "#,##0"
    assert ws.column_dimensions["B"].width > 10


def test_absent_files_are_noted_in_their_sheet(tmp_path: Path, make_output_folder) -> None:
    from basketlens.report import render_report

    out = make_output_folder(tmp_path / "out", mining=False)
    wb = openpyxl.load_workbook(render_report(out, html=False, charts=False, bi=False).excel)
    assert "recommendations.parquet is not in this output folder" in _texts(wb["Recommendations"])
    assert "rules.parquet is not in this output folder" in _texts(wb["Rules"])


def test_sheet_names_are_valid_and_unique() -> None:
    taken: set[str] = set()
    assert sheet_name("Seg 0 a/b:c*d?[e]", taken) == "Seg 0 a b c d e"
    long = "x" * 40
    first, second = sheet_name(long, taken), sheet_name(long, taken)
    assert len(first) == len(second) == 31 and first != second
