"""Where the ledger comes from: the ``[input]`` section of the run configuration.

Example:
    >>> InputOptions(sales="sales.csv", delimiter=";").validate().delimiter
    ';'
"""

from __future__ import annotations

from dataclasses import dataclass

from basketlens._params import Options, Text, param

_PANEL = "Input"


@dataclass(frozen=True)
class InputOptions(Options):
    """The sales file, the optional item and customer tables and how to read them."""

    section = "input"
    panel = _PANEL

    sales: str | None = param(
        None,
        Text(allow_none=True),
        "Sales lines: CSV (any delimiter, .gz ok), Parquet, Excel or JSON lines.",
    )
    items: str | None = param(
        None, Text(allow_none=True), "Item table joined on the item id.", cli="--items"
    )
    customers: str | None = param(
        None, Text(allow_none=True), "Customer table joined on the customer id.", cli="--customers"
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
