"""Tests of load_ledger: mapping, joins, coercion to LEDGER_SCHEMA, errors, real data."""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime

import polars as pl
import pytest

from basketlens.errors import EmptyInputError, InputError, ParameterError, SchemaError
from basketlens.ingest import Ledger, SourceInfo, load_ledger
from basketlens.schema import LEDGER_SCHEMA


def expected(**cols) -> pl.DataFrame:
    """A LEDGER_SCHEMA frame from the given columns; the others are null."""
    n = len(next(iter(cols.values())))
    data = {name: cols.get(name, [None] * n) for name in LEDGER_SCHEMA}
    data["line_no"] = list(range(n))
    return pl.DataFrame(data, schema=LEDGER_SCHEMA)


# -- Online Retail layout, one table, several formats -------------------------------------------

OR_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
OR_ROWS = [
    "536365,85123A,WHITE HEART,6,12/1/2010 8:26,2.55,17850.0,United Kingdom",
    "536365,00712,Café,2,12/1/2010 8:26,0.5,17850.0,United Kingdom",
    "C536379,D,Discount,-1,12/13/2010 18:05,27.5,,France",
]
OR_EXPECTED = expected(
    invoice=["536365", "536365", "C536379"],
    date=[
        datetime(2010, 12, 1, 8, 26),
        datetime(2010, 12, 1, 8, 26),
        datetime(2010, 12, 13, 18, 5),
    ],
    customer=["17850", "17850", None],
    item=["85123A", "00712", "D"],
    item_name=["WHITE HEART", "Café", "Discount"],
    quantity=[6.0, 2.0, -1.0],
    unit_price=[2.55, 0.5, 27.5],
    net_sales=[6 * 2.55, 1.0, -27.5],
)


def _or_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "InvoiceNo": ["536365", "536365", "C536379"],
            "StockCode": ["85123A", "00712", "D"],
            "Description": ["WHITE HEART", "Café", "Discount"],
            "Quantity": [6, 2, -1],
            "InvoiceDate": [datetime(2010, 12, 1, 8, 26)] * 2 + [datetime(2010, 12, 13, 18, 5)],
            "UnitPrice": [2.55, 0.5, 27.5],
            "CustomerID": [17850.0, 17850.0, None],
            "Country": ["United Kingdom", "United Kingdom", "France"],
        }
    )


def test_online_retail_csv_exact_canonical_frame(tmp_path):
    path = tmp_path / "or.csv"
    path.write_text("\n".join([OR_HEADER, *OR_ROWS]) + "\n", encoding="utf-8")
    ledger = load_ledger(path)
    assert isinstance(ledger, Ledger) and isinstance(ledger.lines, pl.LazyFrame)
    assert ledger.lines.collect_schema() == LEDGER_SCHEMA
    assert ledger.lines.collect().equals(OR_EXPECTED)
    assert ledger.layout == "online_retail"
    assert ledger.n_lines == 3
    assert ledger.column_map == {
        "invoice": "InvoiceNo",
        "date": "InvoiceDate",
        "customer": "CustomerID",
        "item": "StockCode",
        "item_name": "Description",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
    }
    data = path.read_bytes()
    assert ledger.sources == (
        SourceInfo(
            role="sales",
            path=str(path),
            format="csv",
            bytes=len(data),
            fingerprint="sha256:" + hashlib.sha256(data).hexdigest(),
            rows=3,
        ),
    )


def test_semicolon_latin1_decimal_comma_csv(tmp_path):
    rows = [r.replace(",", ";") for r in [OR_HEADER, *OR_ROWS]]
    rows = [r.replace("2.55", "2,55").replace("0.5", "0,5").replace("27.5", "27,5") for r in rows]
    path = tmp_path / "or.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    assert load_ledger(path).lines.collect().equals(OR_EXPECTED)


def test_parquet_with_float_ids_and_datetimes(tmp_path):
    path = tmp_path / "or.parquet"
    _or_frame().write_parquet(path)
    ledger = load_ledger(path)
    assert ledger.lines.collect().equals(OR_EXPECTED)
    assert (ledger.n_lines, ledger.sources[0].format, ledger.sources[0].rows) == (3, "parquet", 3)


def test_excel_named_sheet(tmp_path):
    path = tmp_path / "or.xlsx"
    _or_frame().write_excel(path, worksheet="Online Retail")
    ledger = load_ledger(path, sheet="Online Retail")
    assert ledger.lines.collect().equals(OR_EXPECTED)
    assert ledger.sources[0].format == "excel"


def test_jsonl(tmp_path):
    path = tmp_path / "or.ndjson"
    _or_frame().with_columns(pl.col("InvoiceDate").dt.to_string("%Y-%m-%d %H:%M:%S")).write_ndjson(
        path
    )
    ledger = load_ledger(path)
    assert ledger.lines.collect().equals(OR_EXPECTED)
    assert ledger.sources[0].format == "jsonl"


def test_online_retail_ii_and_net_sales_only(tmp_path):
    path = tmp_path / "orii.csv"
    path.write_text(
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
        "489434,85048,LED,12,2009-12-01 07:45:00,6.95,13085.0,UK\n"
    )
    ledger = load_ledger(path)
    assert ledger.layout == "online_retail_ii"
    row = ledger.lines.collect().row(0, named=True)
    assert (row["customer"], row["net_sales"]) == ("13085", pytest.approx(83.4))


def test_unit_price_derived_from_net_sales_null_for_zero_quantity(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "invoice,date,customer,item,quantity,net_sales\n"
        "1,2024-01-02,c1,A,4,10\n"
        "1,2024-01-02,c1,B,0,3\n"
        "2,2024-01-03,c2,A,,5\n"
    )
    ledger = load_ledger(path)
    assert ledger.layout == "canonical"
    got = ledger.lines.collect()
    assert got["unit_price"].to_list() == [2.5, None, None]
    assert got["net_sales"].to_list() == [10.0, 3.0, 5.0]
    assert got["quantity"].to_list() == [4.0, 0.0, None]


# -- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "want"),
    [
        (["2010-12-01 08:26:00", "2011-01-31 23:59:59"],
         [(2010, 12, 1, 8, 26), (2011, 1, 31, 23, 59, 59)]),
        (["2010-12-01", "2011-01-31"], [(2010, 12, 1), (2011, 1, 31)]),
        (["12/1/2010 8:26", "1/31/2011 18:05"], [(2010, 12, 1, 8, 26), (2011, 1, 31, 18, 5)]),
        (["01.12.2010", "31.01.2011"], [(2010, 12, 1), (2011, 1, 31)]),
        (["20101201", "20110131"], [(2010, 12, 1), (2011, 1, 31)]),
        (["13/1/2011", "2/1/2011"], [(2011, 1, 13), (2011, 1, 2)]),  # only d/m/Y reads all
        (["2011-01-31", "2011-02-01 08:30:00"], [(2011, 1, 31), (2011, 2, 1, 8, 30)]),
        (["2017-01-28T19:06:53", "2017-03-01T03:31:57.5"],
         [(2017, 1, 28, 19, 6, 53), (2017, 3, 1, 3, 31, 57, 500000)]),
    ],
)  # fmt: skip
def test_date_formats(tmp_path, values, want):
    path = tmp_path / "d.csv"
    lines = [f"{i},{v},c,A,1,1" for i, v in enumerate(values)]
    path.write_text("invoice,date,customer,item,quantity,net_sales\n" + "\n".join(lines) + "\n")
    got = load_ledger(path).lines.collect()["date"].to_list()
    assert got == [datetime(*w) for w in want]


def _dates_csv(path, values):
    lines = [f"{i},{v},c,A,1,1" for i, v in enumerate(values)]
    path.write_text("invoice,date,customer,item,quantity,net_sales\n" + "\n".join(lines) + "\n")
    return path


def test_format_failing_after_the_sample_falls_back_to_the_next(tmp_path):
    # the first 2,500 dates are date-only; a datetime appears after the 2,000-row sample
    path = _dates_csv(tmp_path / "late.csv", ["2011-01-31"] * 2500 + ["2011-02-01 08:30:00"])
    got = load_ledger(path).lines.collect()["date"]
    assert got[0] == datetime(2011, 1, 31) and got[-1] == datetime(2011, 2, 1, 8, 30)
    path = _dates_csv(tmp_path / "late_dm.csv", ["1/2/2011"] * 2500 + ["13/2/2011"])
    got = load_ledger(path).lines.collect()["date"]
    assert (got[0], got[-1]) == (datetime(2011, 2, 1), datetime(2011, 2, 13))


def test_ambiguous_day_month_is_read_as_us_with_a_warning(tmp_path, caplog):
    path = _dates_csv(tmp_path / "amb.csv", ["1/2/2011", "3/4/2011"])
    with caplog.at_level(logging.WARNING, logger="basketlens.ingest"):
        got = load_ledger(path).lines.collect()["date"].to_list()
    assert got == [datetime(2011, 1, 2), datetime(2011, 3, 4)]
    assert "would also read with day and month swapped" in caplog.text


def test_integer_date_codes_in_parquet(tmp_path):
    path = tmp_path / "erp.parquet"
    pl.DataFrame(
        {
            "SalesDocumentNumber": [9000001],
            "Date_CD": [20240131],
            "SoldToCustomer_CD": [42],
            "Item_CD": ["0007"],
            "SalesQuantity": [2.0],
            "NetSalesValue": [5.0],
        }
    ).write_parquet(path)
    row = load_ledger(path).lines.collect().row(0, named=True)
    assert row["date"] == datetime(2024, 1, 31)
    assert (row["invoice"], row["customer"], row["item"], row["unit_price"]) == (
        "9000001", "42", "0007", 2.5,
    )  # fmt: skip


def test_unreadable_date_names_file_column_value_and_row(tmp_path):
    path = tmp_path / "bad_dates.csv"
    path.write_text(
        "invoice,date,customer,item,quantity,net_sales\n"
        "1,2024-01-02,c,A,1,1\n2,,c,A,1,1\n3,2024-13-45,c,A,1,1\n4,2024-01-05,c,A,1,1\n"
    )
    with pytest.raises(InputError) as err:
        load_ledger(path)
    msg = str(err.value)
    for part in ("bad_dates.csv", "'date'", "'2024-13-45'", "row 3 (line_no 2)", "1 bad value"):
        assert part in msg


def test_date_column_without_any_date_says_so(tmp_path):
    path = tmp_path / "words.csv"
    path.write_text("invoice,date,customer,item,quantity,net_sales\n1,yesterday,c,A,1,1\n")
    with pytest.raises(InputError, match=r"'yesterday' at row 1.*no value of the column reads"):
        load_ledger(path)


def test_line_with_too_many_fields_fails_at_load(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("invoice,date,customer,item,quantity,net_sales\n1,2024-01-02,c,A,1,1,9,9\n")
    with pytest.raises(InputError, match=r"ragged\.csv.*more fields than the header"):
        load_ledger(path)


def test_unreadable_number(tmp_path):
    path = tmp_path / "bad_qty.csv"
    path.write_text("invoice,date,customer,item,quantity,net_sales\n1,2024-01-02,c,A,six,1\n")
    with pytest.raises(InputError, match=r"'quantity' of .*bad_qty\.csv.*'six' at row 1"):
        load_ledger(path)


# -- joins ----------------------------------------------------------------------------------


def _erp(tmp_path, items_rows=None):
    sales = tmp_path / "sales.csv"
    sales.write_text(
        "SalesDocumentNumber;Date_CD;SoldToCustomer_CD;Item_CD;SalesQuantity;NetSalesValue\n"
        "9001;20240105;0042;I1;2;10\n"
        "9001;20240105;0042;I2;1;3,5\n"
        "9002;20240106;0077;I9;4;8\n"
        "9003;20240107;0099;I1;1;5\n"
    )
    items = tmp_path / "items.parquet"
    pl.DataFrame(
        items_rows
        or {
            "Item_CD": ["I1", "I2", "I3", None],
            "Item_TX": ["Flour", "Sugar", "Salt", "orphan"],
            "BrandL1_TX": ["Mill", "Sweet", "Sea", None],
            "CategoryL1_TX": ["Baking", "Baking", "Spice", None],
        }
    ).write_parquet(items)
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "Customer_CD,Customer_TX,ParentCustomer_CD\n0042,Bakery Ltd,G1\n0077,Cafe,G1\n"
    )
    return sales, items, customers


def test_erp_three_table_join(tmp_path, caplog):
    sales, items, customers = _erp(tmp_path)
    with caplog.at_level(logging.WARNING, logger="basketlens.ingest"):
        ledger = load_ledger(sales, items=items, customers=customers)
    assert ledger.layout == "erp"
    want = expected(
        invoice=["9001", "9001", "9002", "9003"],
        date=[datetime(2024, 1, d) for d in (5, 5, 6, 7)],
        customer=["0042", "0042", "0077", "0099"],
        customer_name=["Bakery Ltd", "Bakery Ltd", "Cafe", None],
        customer_group=["G1", "G1", "G1", None],
        item=["I1", "I2", "I9", "I1"],
        item_name=["Flour", "Sugar", None, "Flour"],
        quantity=[2.0, 1.0, 4.0, 1.0],
        unit_price=[5.0, 3.5, 2.0, 5.0],
        net_sales=[10.0, 3.5, 8.0, 5.0],
        brand=["Mill", "Sweet", None, "Mill"],
        category=["Baking", "Baking", None, "Baking"],
    )  # fmt: skip
    assert ledger.lines.collect().equals(want)
    assert ledger.n_lines == 4
    assert [(s.role, s.format, s.rows) for s in ledger.sources] == [
        ("sales", "csv", 4), ("items", "parquet", 4), ("customers", "csv", 2),
    ]  # fmt: skip
    assert ledger.column_map["items.item"] == "Item_CD"
    assert ledger.column_map["customers.customer"] == "Customer_CD"
    assert ledger.column_map["customer_group"] == "ParentCustomer_CD"
    text = caplog.text
    assert "1 of 4 sales lines (1 distinct item ids) have no match in items file" in text
    assert "1 of 4 sales lines (1 distinct customer ids) have no match in customers file" in text


def test_duplicate_side_keys_are_rejected(tmp_path):
    sales, items, _ = _erp(
        tmp_path,
        {"Item_CD": ["I1", "I2", "I2"], "Item_TX": ["a", "b", "c"]},
    )
    with pytest.raises(InputError, match=r"items file .*items\.parquet.*'Item_CD'.*'I2' appears 2"):
        load_ledger(sales, items=items)


def test_price_from_items_table_derives_net_sales(tmp_path):
    sales = tmp_path / "s.csv"
    sales.write_text("Doc,Day,Cust,Code,Qty\n1,2024-01-02,c1,A,3\n1,2024-01-02,c1,B,2\n")
    items = tmp_path / "i.tsv"
    items.write_text("Code\tListPrice\tName\nA\t1.5\tApple\nB\t\tBean\n")
    cmap = {"invoice": "Doc", "date": "Day", "customer": "Cust", "item": "Code",
            "quantity": "Qty", "unit_price": "ListPrice", "item_name": "Name"}  # fmt: skip
    ledger = load_ledger(sales, items=items, column_map=cmap)
    got = ledger.lines.collect()
    assert ledger.layout == "mapped"
    assert got.select("item_name", "unit_price", "net_sales").rows() == [
        ("Apple", 1.5, 4.5), ("Bean", None, None),
    ]  # fmt: skip
    assert ledger.column_map["items.item"] == "Code"


def test_qualified_join_key_and_float_keys(tmp_path):
    sales = tmp_path / "s.parquet"
    pl.DataFrame(
        {
            "invoice": ["1", "1", "2"],
            "date": ["2024-01-02"] * 3,
            "customer": [17850.0, 17850.0, 12.0],
            "item": ["A", "B", "A"],
            "quantity": [1, 2, 3],
            "unit_price": [1.0, 1.0, 1.0],
        }
    ).write_parquet(sales)
    cust = tmp_path / "c.jsonl"
    cust.write_text('{"CustNo": 17850, "Name": "Jo"}\n{"CustNo": 99, "Name": "X"}\n')
    ledger = load_ledger(
        sales, customers=cust, column_map={"customers.customer": "CustNo", "customer_name": "Name"}
    )
    got = ledger.lines.collect()
    assert got["customer_name"].to_list() == ["Jo", "Jo", None]
    assert ledger.layout == "canonical"


def test_map_errors_through_load_ledger(tmp_path):
    path = tmp_path / "or.csv"
    path.write_text("\n".join([OR_HEADER, *OR_ROWS]) + "\n")
    with pytest.raises(ParameterError, match=r"got 'qty'"):
        load_ledger(path, column_map={"qty": "Quantity"})
    with pytest.raises(SchemaError, match=r"'Quantty'.*or\.csv.*did you mean 'Quantity'"):
        load_ledger(path, column_map={"quantity": "Quantty"})


def test_header_only_csv(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(OR_HEADER + "\n")
    with pytest.raises(EmptyInputError, match=r"header\.csv.*no data rows"):
        load_ledger(path)


# -- real data ------------------------------------------------------------------------------


def _summary(df: pl.DataFrame) -> dict:
    return df.select(
        pl.len().alias("lines"),
        pl.col("customer").drop_nulls().n_unique().alias("customers"),
        pl.col("invoice").n_unique().alias("invoices"),
        pl.col("item").n_unique().alias("items"),
        pl.col("quantity").sum().alias("quantity"),
        pl.col("net_sales").sum().round(2).alias("net_sales"),
    ).row(0, named=True)


def test_online_retail_parquet_and_csv_gz_agree(shared_path):
    pq = shared_path("online_retail", "online_retail.parquet")
    gz = shared_path("online_retail", "online_retail.csv.gz")
    t0 = time.perf_counter()
    a = load_ledger(pq)
    a_df = a.lines.collect()
    t1 = time.perf_counter()
    b = load_ledger(gz)
    b_df = b.lines.collect()
    t2 = time.perf_counter()
    logging.getLogger(__name__).info("parquet %.2fs, csv.gz %.2fs", t1 - t0, t2 - t1)
    assert a.n_lines == b.n_lines == 541_909
    assert a.layout == b.layout == "online_retail"
    assert _summary(a_df) == {
        "lines": 541_909,
        "customers": 4_372,
        "invoices": 25_900,
        "items": 4_070,
        "quantity": 5_176_450.0,
        "net_sales": 9_747_747.93,
    }
    assert a_df.equals(b_df)
    assert a_df.filter(pl.col("invoice").str.starts_with("C")).height == 9_288


def test_complete_journey_three_table_join_keeps_every_line(shared_path):
    tx = shared_path("completejourney_sample", "transactions_sample.parquet")
    products = shared_path("completejourney_sample", "products.parquet")
    demographics = shared_path("completejourney_sample", "demographics.parquet")
    ledger = load_ledger(tx, items=products, customers=demographics)
    df = ledger.lines.collect()
    assert ledger.layout == "complete_journey"
    assert ledger.n_lines == df.height == 75_000
    assert df["line_no"].to_list() == list(range(75_000))
    assert round(df["net_sales"].sum(), 2) == 233_935.24
    assert df["customer"].n_unique() == 2_377
    assert df["brand"].null_count() == 222  # 0.3% of lines have no product row
    assert [s.rows for s in ledger.sources] == [75_000, 92_331, 801]


def test_lines_read_are_counted_for_the_progress_bar(tmp_path):
    """Reading and cleaning tell the lines read so far: rising, each line once, the last
    count the ledger's line count (cleaning also knows the total)."""
    from basketlens.clean import clean_ledger

    rows = [
        f"{536365 + i // 3},85123A,WHITE HANGING HEART,{i % 7 + 1},12/1/2010 8:26,2.55,"
        f"{17850 + i % 40},UK"
        for i in range(25_000)
    ]
    path = tmp_path / "or.csv"
    path.write_text("\n".join([OR_HEADER, *rows]) + "\n", encoding="utf-8")
    read: list[tuple[int, int | None]] = []
    ledger = load_ledger(path, progress=lambda done, total: read.append((done, total)))
    assert read and read[-1] == (25_000, None)
    assert [d for d, _ in read] == sorted(d for d, _ in read)
    cleaned: list[tuple[int, int | None]] = []
    result = clean_ledger(ledger, progress=lambda done, total: cleaned.append((done, total)))
    assert cleaned[-1] == (25_000, 25_000) and {t for _, t in cleaned} == {25_000}
    assert [d for d, _ in cleaned] == sorted(d for d, _ in cleaned)
    assert result.lines.height == 25_000
    # the count changes nothing: the same lines as a reading without it
    assert load_ledger(path).lines.collect().equals(ledger.lines.collect())
