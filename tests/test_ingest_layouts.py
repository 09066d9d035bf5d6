"""Tests of layout recognition and column-map resolution (basketlens.ingest.layouts)."""

from __future__ import annotations

import pytest

from basketlens.errors import ParameterError, SchemaError
from basketlens.ingest import KNOWN_LAYOUTS
from basketlens.ingest.layouts import (
    ColumnSource,
    detect_layout,
    parse_column_map,
    resolve_columns,
)
from basketlens.schema import CANONICAL_FIELDS

ONLINE_RETAIL = [
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
    "CustomerID", "Country",
]  # fmt: skip
ONLINE_RETAIL_II = [
    "Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID",
    "Country",
]  # fmt: skip
ERP_SALES = [
    "SalesDocumentNumber", "Date_CD", "SoldToCustomer_CD", "Item_CD", "SalesQuantity",
    "NetSalesValue",
]  # fmt: skip
ERP_ITEMS = ["Item_CD", "Item_TX", "BrandL1_TX", "CategoryL1_TX"]
ERP_CUSTOMERS = ["Customer_CD", "Customer_TX", "ParentCustomer_CD"]
CJ_SALES = [
    "household_id", "store_id", "basket_id", "product_id", "quantity", "sales_value",
    "retail_disc", "week", "transaction_timestamp",
]  # fmt: skip
CJ_PRODUCTS = ["product_id", "manufacturer_id", "department", "brand", "product_category"]


def _cols(res) -> dict[str, tuple[str, str]]:
    return {f: (s.table, s.column) for f, s in res.fields.items()}


def test_known_layouts_cover_every_field_name_validly():
    assert list(KNOWN_LAYOUTS) == [
        "online_retail", "online_retail_ii", "erp", "complete_journey", "canonical",
    ]  # fmt: skip
    for lay in KNOWN_LAYOUTS.values():
        assert set(lay.fields) <= set(CANONICAL_FIELDS)
        assert set(lay.signature) <= set(lay.fields)


def test_online_retail():
    res = resolve_columns(sales_columns=ONLINE_RETAIL)
    assert res.layout == "online_retail"
    assert _cols(res) == {
        "invoice": ("sales", "InvoiceNo"),
        "date": ("sales", "InvoiceDate"),
        "customer": ("sales", "CustomerID"),
        "item": ("sales", "StockCode"),
        "item_name": ("sales", "Description"),
        "quantity": ("sales", "Quantity"),
        "unit_price": ("sales", "UnitPrice"),
    }


def test_online_retail_ii():
    res = resolve_columns(sales_columns=ONLINE_RETAIL_II)
    assert res.layout == "online_retail_ii"
    assert res.fields["customer"] == ColumnSource("sales", "Customer ID")
    assert res.fields["unit_price"] == ColumnSource("sales", "Price")
    assert res.fields["invoice"] == ColumnSource("sales", "Invoice")


def test_erp_three_tables_with_customer_cd_key():
    res = resolve_columns(
        sales_columns=ERP_SALES, items_columns=ERP_ITEMS, customers_columns=ERP_CUSTOMERS
    )
    assert res.layout == "erp"
    assert _cols(res) == {
        "invoice": ("sales", "SalesDocumentNumber"),
        "date": ("sales", "Date_CD"),
        "customer": ("sales", "SoldToCustomer_CD"),
        "item": ("sales", "Item_CD"),
        "quantity": ("sales", "SalesQuantity"),
        "net_sales": ("sales", "NetSalesValue"),
        "item_name": ("items", "Item_TX"),
        "brand": ("items", "BrandL1_TX"),
        "category": ("items", "CategoryL1_TX"),
        "customer_name": ("customers", "Customer_TX"),
        "customer_group": ("customers", "ParentCustomer_CD"),
    }
    assert (res.item_key, res.customer_key) == ("Item_CD", "Customer_CD")


def test_complete_journey():
    res = resolve_columns(
        sales_columns=CJ_SALES, items_columns=CJ_PRODUCTS, customers_columns=["household_id"]
    )
    assert res.layout == "complete_journey"
    assert res.fields["invoice"] == ColumnSource("sales", "basket_id")
    assert res.fields["category"] == ColumnSource("items", "product_category")
    assert res.fields["brand"] == ColumnSource("items", "brand")
    assert (res.item_key, res.customer_key) == ("product_id", "household_id")


def test_canonical_names_case_insensitive():
    res = resolve_columns(sales_columns=["Invoice", "DATE", "customer", "item", "quantity",
                                         "net_sales", "brand"])  # fmt: skip
    assert res.layout == "canonical"
    assert res.fields["date"] == ColumnSource("sales", "DATE")
    assert res.fields["brand"] == ColumnSource("sales", "brand")


def test_user_map_overrides_a_field_and_keeps_layout():
    res = resolve_columns(sales_columns=[*ONLINE_RETAIL, "Net"], column_map={"net_sales": "Net"})
    assert res.layout == "online_retail"
    assert res.fields["net_sales"] == ColumnSource("sales", "Net")
    assert res.overridden == ("net_sales",)


def test_user_map_completes_a_renamed_layout_column():
    cols = [c if c != "CustomerID" else "Kunde" for c in ONLINE_RETAIL]
    assert detect_layout(cols) is None
    res = resolve_columns(sales_columns=cols, column_map={"customer": "Kunde"})
    assert res.layout == "online_retail"
    assert res.fields["customer"] == ColumnSource("sales", "Kunde")


def test_fully_mapped_unknown_layout_is_mapped():
    sales = ["Doc", "When", "Who", "What", "HowMany", "Value", "Text"]
    res = resolve_columns(
        sales_columns=sales,
        items_columns=["Code", "Name"],
        column_map={
            "invoice": "Doc", "date": "When", "customer": "Who", "item": "What",
            "quantity": "HowMany", "net_sales": "Value", "item_name": "Name",
            "items.item": "Code",
        },
    )  # fmt: skip
    assert res.layout == "mapped"
    assert res.fields["item_name"] == ColumnSource("items", "Name")
    assert res.item_key == "Code"


def test_mapped_column_found_in_customers_table_after_sales_and_items():
    res = resolve_columns(
        sales_columns=ERP_SALES,
        items_columns=ERP_ITEMS,
        customers_columns=["SoldToCustomer_CD", "Region"],
        column_map={"customer_group": "Region"},
    )
    assert res.fields["customer_group"] == ColumnSource("customers", "Region")
    assert res.customer_key == "SoldToCustomer_CD"


def test_parse_column_map():
    assert parse_column_map({"customers.customer": "CustNo", "brand": "Marke"}) == {
        ("customers", "customer"): "CustNo",
        (None, "brand"): "Marke",
    }
    with pytest.raises(ParameterError, match=r"canonical field \(invoice, date, .*got 'invoce'"):
        parse_column_map({"invoce": "X"})
    with pytest.raises(ParameterError, match=r"got 'stock\.item'"):
        parse_column_map({"stock.item": "X"})
    with pytest.raises(ParameterError, match=r"column_map\['item'\] must be a non-empty"):
        parse_column_map({"item": " "})


def test_mapped_column_missing_everywhere_names_files_columns_and_suggestion():
    with pytest.raises(SchemaError) as err:
        resolve_columns(
            sales_columns=ONLINE_RETAIL,
            items_columns=["StockCode", "Brand"],
            column_map={"brand": "Brnd"},
            files={"sales": "s.csv", "items": "i.csv"},
        )
    msg = str(err.value)
    assert "'Brnd'" in msg and "brand" in msg and "s.csv" in msg and "i.csv" in msg
    assert "did you mean 'Brand'?" in msg
    assert "UnitPrice" in msg  # available columns listed


def test_missing_required_fields_lists_them_with_an_example():
    with pytest.raises(SchemaError) as err:
        resolve_columns(
            sales_columns=["invoice", "date", "Kunde", "item", "Menge"], files={"sales": "s.csv"}
        )
    msg = str(err.value)
    assert "customer, quantity, net_sales (or unit_price)" in msg
    assert "columns found: invoice, date, Kunde, item, Menge" in msg
    assert "--map customer=" in msg and "s.csv" in msg


def test_side_table_key_errors():
    with pytest.raises(SchemaError, match=r"cannot find the item key column 'StockCode' in the "
                       r"items file 'i\.csv'.*--map items\.item=<Column>"):  # fmt: skip
        resolve_columns(
            sales_columns=ONLINE_RETAIL, items_columns=["Code", "Brand"], files={"items": "i.csv"}
        )
    with pytest.raises(SchemaError, match=r"join key column 'Cod' \(items\.item\).*'Code'"):
        resolve_columns(
            sales_columns=ONLINE_RETAIL, items_columns=["Code"], column_map={"items.item": "Cod"}
        )
    with pytest.raises(ParameterError, match=r"no customers file was given"):
        resolve_columns(sales_columns=ONLINE_RETAIL, column_map={"customers.customer_name": "N"})


def test_key_field_must_come_from_sales():
    with pytest.raises(SchemaError, match=r"item field must be a column of the sales file"):
        resolve_columns(
            sales_columns=ONLINE_RETAIL, items_columns=["Code"], column_map={"item": "Code"}
        )
