"""Where the ledger comes from: the ``[input]`` section of the run configuration.

Each table is a local file, an ``s3://`` object (or a prefix / pattern of Parquet objects) or
a ``postgresql://`` table or query (``docs/sources.md``).

Example:
    >>> InputOptions(sales="sales.csv", delimiter=";").validate().delimiter
    ';'
"""

from __future__ import annotations

from dataclasses import dataclass

from basketlens._params import Options, Text, param
from basketlens.errors import ParameterError
from basketlens.uris import LocationText, PostgresLocation, parse_location

_PANEL = "Input"


def _label(location: object) -> object:
    return getattr(location, "label", location)


_WHERE = "a path, s3://bucket/key or postgresql://user@host/db?table=schema.name"


@dataclass(frozen=True)
class InputOptions(Options):
    """The sales file, the optional item and customer tables and how to read them."""

    section = "input"
    panel = _PANEL

    sales: str | None = param(
        None,
        LocationText(allow_none=True),
        "Sales lines: CSV (any delimiter, .gz ok), Parquet, Excel or JSON lines — a path, "
        "s3://bucket/key (a prefix/ or *.parquet pattern reads Parquet parts as one table) or "
        "postgresql://user@host/db?table=schema.sales (or ?query=SELECT …).",
    )
    items: str | None = param(
        None,
        LocationText(allow_none=True),
        f"Item table joined on the item id: {_WHERE}.",
        cli="--items",
    )
    customers: str | None = param(
        None,
        LocationText(allow_none=True),
        f"Customer table joined on the customer id: {_WHERE}.",
        cli="--customers",
    )
    query: str | None = param(
        None,
        Text(allow_none=True),
        "SQL giving the sales lines when SALES is a postgresql:// URI without ?table=, e.g. "
        "\"SELECT * FROM erp.sales WHERE date >= '2024-01-01'\".",
        cli="--query",
        metavar="SQL",
    )
    sheet: str | None = param(
        None, Text(allow_none=True), "Excel sheet of the sales file, e.g. Sales.", cli="--sheet"
    )
    delimiter: str | None = param(
        None,
        Text(allow_none=True),
        "CSV delimiter, e.g. ';'.",
        cli="--delimiter",
        default_text="sniffed",
    )
    encoding: str | None = param(
        None,
        Text(allow_none=True),
        "CSV encoding, e.g. latin-1.",
        cli="--encoding",
        default_text="sniffed",
    )

    def _check_together(self) -> None:
        sales = parse_location(self.sales) if self.sales else None
        if self.query is not None:
            if not isinstance(sales, PostgresLocation):
                given = "no sales source" if sales is None else repr(str(_label(sales)))
                raise ParameterError(
                    f"query (--query) needs a postgresql:// sales source; got {given}"
                )
            if sales.table is not None or sales.query is not None:
                raise ParameterError(
                    f"{sales.label}: give ?table=/?query= or query (--query), not both"
                )
        elif isinstance(sales, PostgresLocation) and sales.table is None and sales.query is None:
            raise ParameterError(
                f"{sales.label}: name the sales rows with ?table=schema.name, ?query=SELECT … "
                "or query (--query)"
            )
        for role in ("items", "customers"):
            value = getattr(self, role)
            loc = parse_location(value) if value else None
            if isinstance(loc, PostgresLocation) and loc.table is None and loc.query is None:
                raise ParameterError(
                    f"{role}: {loc.label}: name the rows with ?table=schema.name or ?query=SELECT …"
                )
