"""The data rows of large workbook tables, written as SpreadsheetML in one vectorised pass.

XlsxWriter spends about 4.5 µs of Python per cell (storing it, then writing its XML); the
workbook of an Online Retail run has 400,000 cells, two seconds on the report's critical
path. Here a table's rows become XML through Polars string expressions instead, and are
spliced into the finished file's worksheet after XlsxWriter has written everything else
(header rows, titles, styles, column widths, frozen panes, filters). Cells are written as
Excel writes them: numbers as ``<v>``, booleans as ``t="b"``, text as inline strings with
``&``, ``<`` and ``>`` escaped and control characters as ``_xHHHH_`` (as XlsxWriter does).
A table's rows become XML once XlsxWriter has numbered the formats (its style numbers are
written straight into the rows, no pass over the finished text).

Example:
    >>> import polars as pl
    >>> rows_xml(pl.DataFrame({"n": [1], "t": ["a<b"]}), first_row=1, styles=["<S0>", ""])
    '<row r="2"><c r="A2" s="<S0>"><v>1</v></c><c r="B2" t="inlineStr"><is><t \
xml:space="preserve">a&lt;b</t></is></c></row>'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZipFile

import polars as pl

#: Longest text Excel keeps in a cell, in UTF-16 code units.
MAX_TEXT = 32_767
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_ESCAPED = re.compile(r"_x[0-9a-fA-F]{4}_")
_SHEET_FILE = re.compile(r"xl/worksheets/sheet(\d+)\.xml")
_ROW = re.compile(r'<row r="(\d+)"')
_DIMENSION = re.compile(r'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"/>')


@dataclass(frozen=True)
class Rows:
    """Consecutive rows ``first_row`` … ``last_row`` (0-based) of one worksheet: the cells and
    each column's style placeholder, made XML by :func:`splice` once the styles are numbered."""

    first_row: int
    last_row: int
    last_col: int
    cells: pl.DataFrame
    styles: tuple[str, ...]

    def xml(self, numbers: Mapping[str, int]) -> str:
        """The rows' XML, each placeholder replaced by its format number."""
        styles = [str(numbers[token]) if token else "" for token in self.styles]
        return rows_xml(self.cells, first_row=self.first_row, styles=styles)


def column_letter(index: int) -> str:
    """Excel's column name of a 0-based index.

    Example:
        >>> column_letter(0), column_letter(25), column_letter(26), column_letter(701)
        ('A', 'Z', 'AA', 'ZZ')
    """
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def utf16_truncate(text: str) -> str:
    """``text`` cut to :data:`MAX_TEXT` UTF-16 code units (as Excel and XlsxWriter count)."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > MAX_TEXT:
            return text[:i]
    return text


def _control_escape(text: str) -> str:
    text = _ESCAPED.sub(lambda m: "_x005F" + m.group(0), text)
    return _CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def _text_column(frame: pl.DataFrame, name: str) -> pl.Expr:
    """The escaped XML text of a string column (rare cases handled in Python, only if any)."""
    col = pl.col(name)
    series = frame[name]
    if (series.str.len_chars() > MAX_TEXT // 2).any():
        col = col.map_elements(utf16_truncate, return_dtype=pl.String)
    if series.str.contains(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_").any():
        col = col.map_elements(_control_escape, return_dtype=pl.String)
    return (
        col.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )


def rows_xml(cells: pl.DataFrame, *, first_row: int, styles: Sequence[str]) -> str:
    """The ``<row>`` elements of ``cells`` placed from 0-based row ``first_row``, column A.

    ``cells`` holds numbers, booleans, text or nulls (a null or empty text is no cell);
    ``styles[j]`` is the ``s`` attribute of column ``j`` ("" for none).
    """
    rownum = (pl.int_range(pl.len(), dtype=pl.Int64) + (first_row + 1)).cast(pl.String)
    parts: list[pl.Expr] = [pl.lit('<row r="'), rownum, pl.lit('">')]
    for j, (name, dtype) in enumerate(cells.schema.items()):
        col = pl.col(name)
        style = f' s="{styles[j]}"' if styles[j] else ""
        head = pl.lit(f'<c r="{column_letter(j)}') + rownum + pl.lit(f'"{style}')
        if dtype == pl.Boolean:
            body = pl.lit(' t="b"><v>') + col.cast(pl.Int8).cast(pl.String) + pl.lit("</v></c>")
            present = col.is_not_null()
        elif dtype.is_numeric():
            body = pl.lit("><v>") + col.cast(pl.String) + pl.lit("</v></c>")
            present = col.is_not_null()
        elif dtype == pl.String:
            text = _text_column(cells, name)
            body = pl.lit(' t="inlineStr"><is><t xml:space="preserve">') + text + "</t></is></c>"
            present = col.is_not_null() & (col != "")
        else:  # dtype == pl.Null: a column without any value
            continue
        parts.append(pl.when(present).then(head + body))
    parts.append(pl.lit("</row>"))
    row = pl.concat_str(parts, ignore_nulls=True).alias("row")
    if cells.height == 0:
        return ""
    return cells.select(row.str.join(""))["row"].item()


def block(cells: pl.DataFrame, *, first_row: int, styles: Sequence[str]) -> Rows:
    """:func:`rows_xml` with the extent of the rows, for :func:`splice`."""
    return Rows(
        first_row=first_row,
        last_row=first_row + cells.height - 1,
        last_col=cells.width - 1,
        cells=cells,
        styles=tuple(styles),
    )


def splice(path: Path, sheets: Mapping[int, Sequence[Rows]], styles: Mapping[str, int]) -> None:
    """Insert ``sheets`` (worksheet position → rows) into the finished workbook ``path``.

    ``styles`` maps each style placeholder to the format number XlsxWriter gave it. The
    worksheets' other rows stay where they are; the rows of a block must lie where the
    worksheet has none.
    """
    with ZipFile(path) as archive:
        members = [(info, archive.read(info.filename)) for info in archive.infolist()]
    tmp = path.with_name(path.name + ".tmp")
    with ZipFile(tmp, "w", compression=ZIP_DEFLATED, compresslevel=1) as archive:
        for info, data in members:
            found = _SHEET_FILE.fullmatch(info.filename)
            position = int(found.group(1)) - 1 if found else -1
            if position in sheets:
                xml = [(b, b.xml(styles)) for b in sheets[position]]
                text = _splice_sheet(data.decode("utf-8"), xml)
                data = text.encode("utf-8")
            info.compress_type = ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=1)  # fast: the file is written once
    tmp.replace(path)


def _splice_sheet(xml: str, blocks: Sequence[tuple[Rows, str]]) -> str:
    start = xml.index("<sheetData")
    if xml.startswith("<sheetData/>", start):
        body, end = "", start + len("<sheetData/>")
    else:
        open_end = xml.index(">", start) + 1
        close = xml.index("</sheetData>", open_end)
        body, end = xml[open_end:close], close + len("</sheetData>")
    pieces = [(int(_ROW.match(p).group(1)), p) for p in re.split(r'(?=<row r=")', body) if p]
    pieces += [(b.first_row + 1, text) for b, text in blocks]
    pieces.sort(key=lambda piece: piece[0])
    rows = "".join(p for _, p in pieces)
    xml = xml[:start] + "<sheetData>" + rows + "</sheetData>" + xml[end:]
    return _widen_dimension(xml, [b for b, _ in blocks])


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def _widen_dimension(xml: str, blocks: Sequence[Rows]) -> str:
    """The worksheet's ``<dimension>`` grown to cover ``blocks``."""
    found = _DIMENSION.search(xml)
    if found is None:
        return xml
    last_col = _column_index(found.group(3) or found.group(1))
    last_row = int(found.group(4) or found.group(2))
    last_col = max(last_col, *(b.last_col for b in blocks))
    last_row = max(last_row, *(b.last_row + 1 for b in blocks))
    ref = f'<dimension ref="{found.group(1)}{found.group(2)}:{column_letter(last_col)}{last_row}"/>'
    return xml[: found.start()] + ref + xml[found.end() :]
