"""Text from the data is safe wherever basketlens writes it: CSV cells (BI tables, recommend
--out) never start a formula, the terminal gets no escape sequences, and control characters
in names never stop the charts (issue 12)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl
import pytest

from basketlens.report.bi import BI_TABLES
from basketlens.textsafe import FORMULA_PREFIXES

HOSTILE_CUSTOMERS = (
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "\tTabbed",
    "Evil\x1b[2J\x1b]0;pwned\x07 Corp\x1b[31m",
)
HOSTILE_ITEMS = ("Tea\x1apot", "Form\x0cfeed", "Nul\x00l", "=1+1", "Bell\x07\x1b[5m")


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, ledger, run_cli) -> tuple[Path, list[str], list[str]]:
    """A full run (report, --csv) whose most frequent items and first customers have hostile
    names; returns the folder, the hostile item ids and customer ids."""
    folder = tmp_path_factory.mktemp("hostile")
    sales = pl.read_parquet(ledger["sales"])
    top = sales["Item_CD"].value_counts(sort=True)["Item_CD"].head(len(HOSTILE_ITEMS)).to_list()
    items = pl.read_parquet(ledger["items"])
    names = dict(zip(top, HOSTILE_ITEMS, strict=True))
    items = items.with_columns(pl.col("Item_CD").replace_strict(names, default=None).alias("h"))
    items = items.with_columns(pl.coalesce("h", "Item_TX").alias("Item_TX")).drop("h")
    customers = pl.read_parquet(ledger["customers"])
    ids = customers["SoldToCustomer_CD"].head(len(HOSTILE_CUSTOMERS)).to_list()
    renamed = dict(zip(ids, HOSTILE_CUSTOMERS, strict=True))
    customers = (
        customers.with_columns(
            pl.col("SoldToCustomer_CD").replace_strict(renamed, default=None).alias("h")
        )
        .with_columns(pl.coalesce("h", "Customer_TX").alias("Customer_TX"))
        .drop("h")
    )
    items.write_parquet(folder / "items.parquet")
    customers.write_parquet(folder / "customers.parquet")
    out = folder / "out"
    code, text = run_cli(
        "run",
        ledger["sales"],
        "--items",
        folder / "items.parquet",
        "--customers",
        folder / "customers.parquet",
        "--out",
        out,
        "--csv",
        # a 1,500-line ledger: keep its rules (the default tests reject most of them) so that
        # the hostile names reach every table, chart and answer
        "--significant",
        "1",
        "--min-customers",
        "2",
    )
    assert code == 0, text
    return out, top, ids


def _text_cells(frame: pl.DataFrame, text_columns: list[str] | None = None) -> list[str]:
    """The cells of ``text_columns`` (default: every String column) as read."""
    names = text_columns or [n for n, t in frame.schema.items() if t == pl.String]
    return [v for name in names for v in frame[name].drop_nulls().to_list()]


def _csv_text_cells(csv: Path, typed: pl.DataFrame) -> list[str]:
    """Cells of a CSV file, as written, in the columns that are text (or lists) in ``typed``."""
    text = [n for n, t in typed.schema.items() if t == pl.String or isinstance(t, pl.List)]
    return _text_cells(pl.read_csv(csv, infer_schema=False), text)


def test_control_characters_in_names_do_not_stop_the_charts(hostile_run) -> None:
    out, _, _ = hostile_run
    charts = sorted(p.name for p in (out / "charts").glob("*.png"))
    assert "top_items.png" in charts and len(charts) >= 8
    assert (out / "insights.xlsx").exists() and (out / "report.html").exists()
    assert all((out / "bi" / f"{t}.csv").exists() for t in ("dim_customer", "dim_item"))


def test_bi_csv_cells_never_start_a_formula(hostile_run) -> None:
    out, _, _ = hostile_run
    seen = []
    for table in BI_TABLES:
        path = out / "bi" / f"{table}.csv"
        if path.exists():
            cells = _csv_text_cells(path, pl.read_parquet(path.with_suffix(".parquet")))
            assert not [c for c in cells if c.startswith(FORMULA_PREFIXES)], table
            seen += cells
    for name in HOSTILE_CUSTOMERS[:4]:
        assert "'" + name in seen  # neutralised, not dropped
    assert "Tabbed" in seen  # ingest trims names: the leading TAB is gone already
    assert "'=1+1" in seen


def test_workbook_cells_are_never_formulas(hostile_run) -> None:
    out, _, _ = hostile_run
    book = openpyxl.load_workbook(out / "insights.xlsx")
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate)


def test_recommend_terminal_output_has_no_escape_sequences_and_csv_is_neutralised(
    hostile_run, run_cli, tmp_path
) -> None:
    out, top, ids = hostile_run
    answer = tmp_path / "answer.csv"
    code, text = run_cli("recommend", out, "--customer", ids[-1], "--out", answer)
    assert code == 0, text
    assert "Evil" in text and "Corp" in text
    assert "\x1b" not in text and "\x07" not in text
    code, text = run_cli("recommend", out, "--basket", ",".join(top[1:]), "--out", answer)
    assert code == 0, text
    assert "\x1b" not in text and "\x1a" not in text and "\x00" not in text
    typed = pl.read_csv(answer, schema_overrides={"score": pl.Float64})
    cells = _csv_text_cells(answer, typed.select(pl.exclude("rank", "score")))
    assert cells and not [c for c in cells if c.startswith(FORMULA_PREFIXES)]


def test_error_messages_carry_no_escape_sequences(run_cli, tmp_path) -> None:
    sales = tmp_path / "sales.csv"
    sales.write_text(
        "invoice,date,customer,item,quantity,net_sales\n1,\x1b[2Jsoon,c,A,1,1\n", encoding="utf-8"
    )
    code, text = run_cli("run", sales, "--out", tmp_path / "out")
    assert code == 1 and "error:" in text
    assert "\x1b" not in text
