"""Known ledger layouts and the resolution of canonical fields to source columns.

A layout lists, for each canonical field, the column names it uses (searched in the sales
table, then the items table, then the customers table) and the key column names of its side
tables. A layout is recognised from the sales header alone; a user ``column_map`` overrides
individual fields (``{"invoice": "SalesDocumentNumber"}``) and may qualify a field with its
table (``{"items.item": "Code"}`` names the join key column of the items table).

Example:
    >>> r = resolve_columns(sales_columns=["InvoiceNo", "StockCode", "Description", "Quantity",
    ...     "InvoiceDate", "UnitPrice", "CustomerID", "Country"])
    >>> r.layout, r.fields["customer"].column
    ('online_retail', 'CustomerID')
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from basketlens.errors import ParameterError, SchemaError
from basketlens.schema import CANONICAL_FIELDS, REQUIRED_FIELDS

TABLES: tuple[str, ...] = ("sales", "items", "customers")
#: Fields that are join keys and therefore must come from the sales table.
KEY_FIELDS: dict[str, str] = {"items": "item", "customers": "customer"}


@dataclass(frozen=True)
class Layout:
    """A known ledger layout.

    ``fields`` maps canonical field → candidate column names (first present wins);
    ``signature`` lists the canonical fields whose columns must all be in the sales header
    (unless the user maps them) for the layout to be recognised; ``item_keys`` and
    ``customer_keys`` are key column names to look for in the side tables; ``cancel_prefix``
    is the invoice prefix that marks a cancellation in this layout (Online Retail's 'C'), None
    for layouts whose returns are negative quantities or credit notes; ``currency`` is the ISO
    code of the money columns when the layout is a known public dataset; ``service_items``
    are the item codes that are services, not goods (postage, carriage, fees).
    """

    name: str
    description: str
    fields: Mapping[str, tuple[str, ...]]
    signature: tuple[str, ...]
    item_keys: tuple[str, ...] = ()
    customer_keys: tuple[str, ...] = ()
    cancel_prefix: str | None = None
    currency: str | None = None
    service_items: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColumnSource:
    """Where a canonical field is read from: a column of the sales/items/customers table."""

    table: str
    column: str


@dataclass(frozen=True)
class Resolution:
    """The outcome of matching a layout and a user map against the tables' columns."""

    layout: str
    fields: dict[str, ColumnSource]
    item_key: str | None = None
    customer_key: str | None = None
    overridden: tuple[str, ...] = field(default=())
    cancel_prefix: str | None = None  # the recognised layout's cancellation prefix
    service_items: tuple[str, ...] = ()  # the recognised layout's service (non-goods) codes


#: Online Retail's stock codes that are services, not goods: postage (POST, DOT), carriage (C2),
#: manual adjustments (M), bank charges, marketplace fees and charity commission. (Its
#: discount, samples and bad-debt codes D, S, B carry negative amounts: returns drop them.)
_ONLINE_RETAIL_SERVICES = (
    "POST", "DOT", "C2", "M", "BANK CHARGES", "AMAZONFEE", "CRUK", "ADJUST", "ADJUST2",
)  # fmt: skip


def _layout(name: str, description: str, signature: tuple[str, ...], **fields: object) -> Layout:
    named = ("item_keys", "customer_keys", "cancel_prefix", "currency", "service_items")
    keys = {k: fields.pop(k) for k in named if k in fields}
    cols = {f: (v,) if isinstance(v, str) else tuple(v) for f, v in fields.items()}  # type: ignore[arg-type]
    unknown = set(cols) - set(CANONICAL_FIELDS)
    assert not unknown, unknown
    return Layout(name, description, MappingProxyType(cols), signature, **keys)  # type: ignore[arg-type]


_SIG = ("invoice", "date", "customer", "item", "quantity")
#: Signature fields a header may lack and still be recognised (then reported as missing).
OPTIONAL_SIGNATURE = ("invoice",)

#: Layouts recognised without a column map, most specific first.
KNOWN_LAYOUTS: Mapping[str, Layout] = MappingProxyType(
    {
        lay.name: lay
        for lay in (
            _layout(
                "online_retail",
                "UCI Online Retail (InvoiceNo, StockCode, …, UnitPrice, CustomerID)",
                (*_SIG, "unit_price"),
                invoice="InvoiceNo",
                date="InvoiceDate",
                customer="CustomerID",
                item="StockCode",
                item_name="Description",
                quantity="Quantity",
                unit_price="UnitPrice",
                cancel_prefix="C",
                currency="GBP",
                service_items=_ONLINE_RETAIL_SERVICES,
            ),
            _layout(
                "online_retail_ii",
                "UCI Online Retail II (Invoice, StockCode, …, Price, Customer ID)",
                (*_SIG, "unit_price"),
                invoice="Invoice",
                date="InvoiceDate",
                customer=("Customer ID", "CustomerID"),
                item="StockCode",
                item_name="Description",
                quantity="Quantity",
                unit_price="Price",
                cancel_prefix="C",
                currency="GBP",
                service_items=_ONLINE_RETAIL_SERVICES,
            ),
            _layout(
                "erp",
                "ERP sales lines (SalesDocumentNumber, Date_CD, SoldToCustomer_CD, Item_CD,"
                " SalesQuantity, NetSalesValue) with item and customer master tables",
                (*_SIG, "net_sales"),
                invoice="SalesDocumentNumber",
                date="Date_CD",
                customer=("SoldToCustomer_CD", "Customer_CD"),
                item="Item_CD",
                quantity="SalesQuantity",
                net_sales="NetSalesValue",
                unit_price=("UnitPrice", "NetPrice"),
                item_name=("Item_TX", "ItemDescription_TX"),
                brand=("BrandL1_TX", "Brand_TX"),
                category=("CategoryL1_TX", "Category_TX"),
                customer_name=("Customer_TX", "SoldToCustomer_TX"),
                customer_group=("ParentCustomer_CD", "CustomerGroup_CD", "Group_CD"),
                item_keys=("Item_CD",),
                customer_keys=("SoldToCustomer_CD", "Customer_CD"),
            ),
            _layout(
                "complete_journey",
                "dunnhumby The Complete Journey (household_id, basket_id, "
                "product_id, quantity, sales_value, transaction_timestamp)",
                (*_SIG, "net_sales"),
                invoice="basket_id",
                date="transaction_timestamp",
                customer="household_id",
                item="product_id",
                quantity="quantity",
                net_sales="sales_value",
                item_name="product_type",
                brand="brand",
                category=("product_category", "department", "commodity_desc"),
                item_keys=("product_id",),
                customer_keys=("household_id",),
                currency="USD",
            ),
            _layout(
                "canonical",
                "basketlens' own field names (invoice, date, customer, item, …)",
                _SIG,
                **{f: f for f in CANONICAL_FIELDS},
            ),
        )
    }
)


def layout_currency(name: str) -> str | None:
    """The currency of a recognised layout's money columns (None when unknown).

    Example:
        >>> layout_currency("online_retail"), layout_currency("mapped")
        ('GBP', None)
    """
    layout = KNOWN_LAYOUTS.get(name)
    return layout.currency if layout is not None else None


def _find(column: str, columns: Sequence[str]) -> str | None:
    """Exact match, else a unique match ignoring case and surrounding blanks."""
    if column in columns:
        return column
    folded = [c for c in columns if c.strip().casefold() == column.strip().casefold()]
    return folded[0] if len(folded) == 1 else None


def parse_column_map(column_map: Mapping[str, str] | None) -> dict[tuple[str | None, str], str]:
    """Validate a user map; keys are ``field`` or ``table.field``.

    Example:
        >>> parse_column_map({"invoice": "Doc", "items.item": "Code"})
        {(None, 'invoice'): 'Doc', ('items', 'item'): 'Code'}
    """
    valid = ", ".join(CANONICAL_FIELDS)
    out: dict[tuple[str | None, str], str] = {}
    for key, column in (column_map or {}).items():
        table, _, name = key.rpartition(".") if isinstance(key, str) else ("", "", key)
        if name not in CANONICAL_FIELDS or (table and table not in TABLES):
            raise ParameterError(
                f"column_map key must be a canonical field ({valid}), optionally prefixed by "
                f"a table (sales., items., customers.); got {key!r}"
            )
        if not isinstance(column, str) or not column.strip():
            raise ParameterError(
                f"column_map[{key!r}] must be a non-empty column name; got {column!r}"
            )
        out[(table or None, name)] = column
    return out


def detect_layout(sales_columns: Sequence[str], mapped: Sequence[str] = ()) -> Layout | None:
    """The layout whose signature fields are all in the header (or mapped), best match first.

    A layout needs at least two signature columns actually present to be recognised. The
    invoice may be absent (point-of-sale exports have none; baskets are then made per customer
    and day), so that the error names what is missing in the user's own layout.
    """
    best: tuple[int, Layout] | None = None
    for lay in KNOWN_LAYOUTS.values():
        hits = 0
        for f in lay.signature:
            if any(_find(c, sales_columns) for c in lay.fields.get(f, ())):
                hits += 1
            elif f not in mapped and f not in OPTIONAL_SIGNATURE:
                break
        else:
            if hits >= 2 and (best is None or hits > best[0]):
                best = (hits, lay)
    return best[1] if best else None


def _suggest(column: str, columns: Sequence[str]) -> str:
    close = difflib.get_close_matches(column, list(columns), n=1, cutoff=0.6)
    if not close:
        folded = {c.casefold(): c for c in columns}
        hit = difflib.get_close_matches(column.casefold(), list(folded), n=1, cutoff=0.6)
        close = [folded[hit[0]]] if hit else []
    return f"; did you mean {close[0]!r}?" if close else ""


def resolve_columns(
    *,
    sales_columns: Sequence[str],
    items_columns: Sequence[str] | None = None,
    customers_columns: Sequence[str] | None = None,
    column_map: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
    basket_by: str = "invoice",
) -> Resolution:
    """Match canonical fields to source columns (layout auto-detection + user overrides).

    ``files`` maps table role → file name, used in error messages. ``basket_by`` is how
    baskets will be made: with ``"customer_day"`` the invoice is optional
    (:func:`required_fields`). Raises :class:`ParameterError` for an invalid map,
    :class:`SchemaError` for a mapped column that no table has, or when required fields stay
    unresolved.
    """
    files = dict(files or {})
    user = parse_column_map(column_map)
    tables: dict[str, Sequence[str]] = {"sales": list(sales_columns)}
    if items_columns is not None:
        tables["items"] = list(items_columns)
    if customers_columns is not None:
        tables["customers"] = list(customers_columns)

    mapped_fields = [f for (t, f) in user if (t, f) not in KEY_FIELDS.items()]
    lay = detect_layout(tables["sales"], mapped_fields)
    fallback = lay or KNOWN_LAYOUTS["canonical"]
    fields: dict[str, ColumnSource] = {}
    for (table, name), column in user.items():
        if (table, name) in KEY_FIELDS.items():
            continue
        fields[name] = _locate_user(table, name, column, tables, files)
    for name, candidates in fallback.fields.items():
        if name in fields:
            continue
        for table in tables if name not in KEY_FIELDS.values() else ("sales",):
            hit = next((c for c in (_find(x, tables[table]) for x in candidates) if c), None)
            if hit:
                fields[name] = ColumnSource(table, hit)
                break
    for name in KEY_FIELDS.values():
        if name in fields and fields[name].table != "sales":
            raise SchemaError(
                f"the {name} field must be a column of the sales file, but "
                f"{fields[name].column!r} was found only in the {fields[name].table} file "
                f"{files.get(fields[name].table, '')!r}"
            )
    _check_required(fields, tables["sales"], files.get("sales", "sales"), basket_by)
    keys = {
        side: _side_key(side, fields[KEY_FIELDS[side]].column, fallback, user, tables, files)
        for side in ("items", "customers")
        if side in tables
    }
    return Resolution(
        layout=lay.name if lay else "mapped",
        fields=fields,
        item_key=keys.get("items"),
        customer_key=keys.get("customers"),
        overridden=tuple(f for (_, f) in user),
        cancel_prefix=lay.cancel_prefix if lay else None,
        service_items=lay.service_items if lay else (),
    )


def _locate_user(
    table: str | None,
    name: str,
    column: str,
    tables: Mapping[str, Sequence[str]],
    files: Mapping[str, str],
) -> ColumnSource:
    search = [table] if table else list(tables)
    if table and table not in tables:
        raise ParameterError(
            f"column_map key {table}.{name!r} names the {table} table, but no {table} file "
            f"was given"
        )
    for t in search:
        hit = _find(column, tables[t])
        if hit:
            return ColumnSource(t, hit)
    where = " or ".join(f"{t} file {files.get(t, t)!r}" for t in search)
    available = sorted({c for t in search for c in tables[t]})
    raise SchemaError(
        f"column {column!r} mapped to {name} is not in the {where}; available columns: "
        f"{', '.join(available)}{_suggest(column, available)}"
    )


def required_fields(basket_by: str = "invoice") -> tuple[str, ...]:
    """The fields a ledger must provide when baskets are made ``basket_by``.

    Baskets by ``"customer_day"`` (a customer's purchases on one day) need no invoice number,
    which supermarket and point-of-sale exports often lack.

    Example:
        >>> required_fields("customer_day")
        ('date', 'customer', 'item', 'quantity')
    """
    if basket_by == "customer_day":
        return tuple(f for f in REQUIRED_FIELDS if f != "invoice")
    return REQUIRED_FIELDS


def _check_required(
    fields: Mapping[str, ColumnSource], columns: Sequence[str], file: str, basket_by: str
) -> None:
    missing = [f for f in required_fields(basket_by) if f not in fields]
    if "net_sales" not in fields and "unit_price" not in fields:
        missing.append("net_sales (or unit_price)")
    if not missing:
        return
    used = {s.column for s in fields.values()}
    free = [c for c in columns if c not in used]
    examples = []
    for f in missing:
        key = f.split()[0]
        hit = difflib.get_close_matches(key, [c.casefold() for c in free], n=1, cutoff=0.6)
        col = next((c for c in free if hit and c.casefold() == hit[0]), "<Column>")
        if col in free:
            free.remove(col)
        examples.append(f"--map {key}={col}")
    hints = [f"Map each missing field to a column, e.g. {' '.join(examples)}"]
    if "invoice" in missing and "customer" not in missing:
        hints.append(
            "a ledger without invoice numbers can make its baskets from each customer's "
            "purchases per day instead: --basket-by customer_day (basket_by = "
            '"customer_day" in [clean]), which needs no invoice'
        )
    if "customer" in missing and "net_sales (or unit_price)" in missing:
        basket = _guess(columns, ("transaction", "basket", "invoice", "order", "receipt"))
        item = _guess(columns, ("item", "product", "article", "sku"))
        hints.append(
            "a ledger without customers and prices (only baskets and items) cannot be "
            "segmented, but its rules can be mined: basketlens mine "
            f"{file} --format long --basket-col {basket} --item-col {item}"
        )
    raise SchemaError(
        f"cannot find the required field(s) {', '.join(missing)} in sales file {file!r}; "
        f"columns found: {', '.join(columns)}. " + "; or ".join(hints)
    )


def _guess(columns: Sequence[str], words: Sequence[str]) -> str:
    """The first column whose name contains one of ``words`` (case-insensitive), quoted for
    a shell when needed; else a placeholder."""
    for word in words:
        for column in columns:
            if word in column.casefold():
                return column if column.replace("_", "").isalnum() else repr(column)
    return "<Column>"


def _side_key(
    side: str,
    sales_column: str,
    layout: Layout,
    user: Mapping[tuple[str | None, str], str],
    tables: Mapping[str, Sequence[str]],
    files: Mapping[str, str],
) -> str:
    name = KEY_FIELDS[side]
    columns = tables[side]
    given = user.get((side, name))
    if given is not None:
        hit = _find(given, columns)
        if hit is None:
            raise SchemaError(
                f"join key column {given!r} ({side}.{name}) is not in the {side} file "
                f"{files.get(side, side)!r}; available columns: {', '.join(columns)}"
                f"{_suggest(given, columns)}"
            )
        return hit
    keys = layout.item_keys if side == "items" else layout.customer_keys
    for cand in (sales_column, *keys, name):
        hit = _find(cand, columns)
        if hit:
            return hit
    raise SchemaError(
        f"cannot find the {name} key column {sales_column!r} in the {side} file "
        f"{files.get(side, side)!r}; columns found: {', '.join(columns)}. Name it with "
        f"--map {side}.{name}=<Column>{_suggest(sales_column, columns)}"
    )
