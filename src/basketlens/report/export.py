"""Write one table to a file whose extension names the format: ``.parquet``, ``.csv``,
``.xlsx`` or ``.json``.

Parquet and JSON keep the table as it is (itemsets stay lists). CSV and Excel cells are text
or numbers: lists are joined with " + ", and text that a spreadsheet would read as a formula
gets a leading apostrophe (as in ``insights.xlsx``). Excel gets the workbook's styling
(frozen, filterable header, number formats).

Example:
    >>> write_table(rules.table, Path("rules.csv"))          # doctest: +SKIP
    PosixPath('rules.csv')
    >>> table_format(Path("rules.xlsx"))
    'xlsx'
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from basketlens.errors import ParameterError
from basketlens.report.excel import prepare, write_sheet

log = logging.getLogger(__name__)

__all__ = ["TABLE_FORMATS", "table_format", "write_table"]

#: File extension -> format written by :func:`write_table`.
TABLE_FORMATS: dict[str, str] = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".json": "json",
}


def table_format(path: Path, *, option: str = "--out") -> str:
    """The format named by ``path``'s extension; a :class:`ParameterError` naming ``option``
    and the extensions accepted otherwise (checked before any work is done).

    Example:
        >>> table_format(Path("r.txt"))
        Traceback (most recent call last):
        ...
        basketlens.errors.ParameterError: --out must end in .parquet, .csv, .xlsx or .json (the \
extension chooses the format); got 'r.txt'
    """
    found = TABLE_FORMATS.get(path.suffix.lower())
    if found is None:
        listed = ", ".join(TABLE_FORMATS)
        listed = listed[: listed.rfind(",")] + " or" + listed[listed.rfind(",") + 1 :]
        raise ParameterError(
            f"{option} must end in {listed} (the extension chooses the format); got {str(path)!r}"
        )
    return found


def write_table(frame: pl.DataFrame, path: Path, *, sheet: str = "Rules") -> Path:
    """Write ``frame`` to ``path`` in the format its extension names; return ``path``."""
    kind = table_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        frame.write_parquet(path)
    elif kind == "json":
        frame.write_json(path)
    elif kind == "csv":
        prepare(frame).write_csv(path)
    else:
        write_sheet(frame, path=path, sheet=sheet)
    log.info("wrote %s (%s, %d rows)", path, kind, frame.height)
    return path
