"""Honest values: placeholders are missing, 'C' marks cancellations only where the layout says
so, implausible dates are dropped and counted, a stray byte does not re-decode a file, and a
duplicated header is refused (issue 12)."""

from __future__ import annotations

import logging
from datetime import datetime

import polars as pl
import pytest
import xlsxwriter

from basketlens.clean import CleaningOptions, clean_ledger
from basketlens.errors import EmptyInputError, InputError
from basketlens.features import build_customer_features
from basketlens.ingest import load_ledger
from basketlens.segment import CustomerSegmenter

PLACEHOLDERS = ("NaN", "nan", "null", "NULL", "None", "N/A", "#N/A", "-", "  ")


def dropped(result, rule: str) -> int:
    account = result.account
    return int(account.filter(pl.col("rule") == rule)["rows_dropped"].item())


@pytest.fixture(scope="module")
def base(ledger):
    return clean_ledger(load_ledger(ledger["sales"], items=ledger["items"]))


def test_placeholder_ids_are_missing_not_customers(tmp_path, ledger, sales_frame, base, caplog):
    ids = sales_frame["SoldToCustomer_CD"].drop_nulls().unique().sort().to_list()
    ids = ids[: len(PLACEHOLDERS)]
    lines = sales_frame.filter(pl.col("SoldToCustomer_CD").is_in(ids)).height
    frame = sales_frame.with_columns(
        pl.col("SoldToCustomer_CD").replace(dict(zip(ids, PLACEHOLDERS, strict=True)))
    )
    path = tmp_path / "sales.csv"
    frame.write_csv(path)
    with caplog.at_level(logging.WARNING, logger="basketlens.ingest"):
        result = clean_ledger(load_ledger(path, items=ledger["items"]))
    assert dropped(result, "missing_ids") == dropped(base, "missing_ids") + lines
    units = set(result.lines["unit"].unique().to_list())
    assert not units & {p.strip() for p in PLACEHOLDERS}
    assert len(units) == base.lines["unit"].n_unique() - len(ids)
    assert "mean 'missing'" in caplog.text and "SoldToCustomer_CD" in caplog.text
    assert (
        "placeholder"
        in result.account.filter(pl.col("rule") == "missing_ids")["description"].item()
    )


def test_c_invoices_are_ordinary_in_an_erp_ledger(tmp_path, ledger, sales_frame, base):
    path = tmp_path / "sales.csv"
    frame = sales_frame.with_columns(
        ("CMD-" + pl.col("SalesDocumentNumber")).alias("SalesDocumentNumber")
    )
    frame.write_csv(path)
    ledger_c = load_ledger(path, items=ledger["items"])
    assert ledger_c.layout == "erp" and ledger_c.cancel_prefix is None
    result = clean_ledger(ledger_c)
    assert result.lines.height == base.lines.height
    assert dropped(result, "returns") == dropped(base, "returns")  # negative quantities only
    # the option still reads 'C' invoices as cancellations where an export uses them
    with pytest.raises(EmptyInputError, match=r"rule 'returns' \(cancellations \('C' invoices"):
        clean_ledger(ledger_c, CleaningOptions(cancel_prefix="C"))


def test_online_retail_cancellations_are_still_dropped(tmp_path):
    path = tmp_path / "retail.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,A,Tea,2,12/1/2010 8:26,2.5,17850,UK\n"
        "536365,B,Pot,1,12/1/2010 8:26,3.0,17850,UK\n"
        "C536379,A,Tea,2,12/1/2010 9:41,2.5,17850,UK\n",
        encoding="utf-8",
    )
    retail = load_ledger(path)
    assert (retail.layout, retail.cancel_prefix) == ("online_retail", "C")
    result = clean_ledger(retail)
    assert dropped(result, "returns") == 1
    assert "'C' invoices" in result.account.filter(pl.col("rule") == "returns")["description"][0]
    assert clean_ledger(retail, CleaningOptions(cancel_prefix="none")).lines.height == 3


def test_a_mapped_credit_note_flag_makes_returns(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text(
        "invoice,date,customer,item,quantity,net_sales,is_credit\n"
        "1,2024-01-02,c1,A,2,10,no\n"
        "1,2024-01-02,c1,B,1,5,\n"
        "2,2024-01-03,c1,A,2,10,Y\n"
        "3,2024-01-04,c2,A,1,5,0\n"
        "3,2024-01-04,c2,B,1,5,false\n",
        encoding="utf-8",
    )
    led = load_ledger(path, column_map={"credit_note": "is_credit"})
    lines = led.lines.collect()
    assert lines.filter(pl.col("invoice") == "2")["quantity"].to_list() == [-2.0]
    assert dropped(clean_ledger(led), "returns") == 1
    path.write_text(path.read_text().replace(",Y\n", ",maybe\n"), encoding="utf-8")
    with pytest.raises(InputError, match=r"'is_credit'.*flag.*'maybe'.*row 3"):
        load_ledger(path, column_map={"credit_note": "is_credit"})


def _segments(path, ledger, **options):
    cleaned = clean_ledger(load_ledger(path, items=ledger["items"]), CleaningOptions(**options))
    segmenter = CustomerSegmenter().fit(build_customer_features(cleaned.lines).table)
    return cleaned, segmenter.assignments_.sort("customer_id")


def test_implausible_dates_are_dropped_and_counted(tmp_path, ledger, sales_frame, caplog):
    path = tmp_path / "sales.csv"
    sales_frame.filter(~pl.int_range(pl.len()).is_in([10, 20])).write_csv(path)
    _, expected = _segments(path, ledger)  # the ledger without the two lines
    typo = sales_frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 10)
        .then(99991231)
        .when(pl.int_range(pl.len()) == 20)
        .then(19000101)
        .otherwise(pl.col("Date_CD"))
        .alias("Date_CD")
    )
    typo.write_csv(path)
    with caplog.at_level(logging.WARNING, logger="basketlens.clean"):
        cleaned, got = _segments(path, ledger)
    assert dropped(cleaned, "implausible_dates") == 2
    assert "2 line(s) dated before 1990-01-01" in caplog.text
    assert cleaned.lines["date"].max() < datetime(2100, 1, 1)
    assert got.equals(expected)  # the segmentation of the ledger without the two typos
    _, stretched = _segments(path, ledger, drop_implausible_dates=False)
    assert not stretched.equals(expected)  # what the typos did before


def test_a_stray_cp1252_byte_is_repaired_on_its_line_only(tmp_path, ledger, caplog):
    customers = pl.read_parquet(ledger["customers"]).with_columns(
        pl.lit("Müller Söhne").alias("Customer_TX")
    )
    path = tmp_path / "customers.csv"
    data = customers.write_csv().encode("utf-8").split(b"\n")
    data[7] = data[7].replace("Müller".encode(), "M\xfcller".encode("cp1252"))  # line 8
    path.write_bytes(b"\n".join(data))
    with caplog.at_level(logging.WARNING, logger="basketlens.ingest"):
        led = load_ledger(ledger["sales"], customers=path)
    names = led.lines.select("customer_name").unique().collect()["customer_name"].to_list()
    assert "Müller Söhne" in names and not any("Ã" in str(n) for n in names)
    assert "line 8" in caplog.text and "1 line(s) are not valid UTF-8" in caplog.text
    with pytest.raises(InputError, match=r"customers\.csv.*not valid UTF-8 at line 8"):
        load_ledger(ledger["sales"], customers=path, encoding="utf-8")


def test_a_duplicated_header_is_refused_naming_both_columns(tmp_path, sales_frame):
    path = tmp_path / "sales.csv"
    frame = sales_frame.head(50)
    text = frame.write_csv().splitlines()
    text = [text[0] + ",SalesQuantity", *(line + ",99" for line in text[1:])]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"sales\.csv.*2 columns named 'SalesQuantity'.*5 and 7"):
        load_ledger(path)
    workbook = tmp_path / "sales.xlsx"
    book = xlsxwriter.Workbook(workbook)
    sheet = book.add_worksheet("Sales")
    for row, line in enumerate(text[:20]):
        for col, value in enumerate(line.split(",")):
            sheet.write_string(row, col, value)
    book.close()
    with pytest.raises(InputError, match=r"sales\.xlsx.*columns named 'SalesQuantity'"):
        load_ledger(workbook)
