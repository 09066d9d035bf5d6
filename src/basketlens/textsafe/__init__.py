"""Text from the data made safe for where it is shown: spreadsheets, terminals, charts.

One layer used by every writer (standard library only, so the CLI can use it before Polars is
loaded; the frame-level helpers for CSV files are in :mod:`basketlens.textsafe.frames`):

* :func:`neutralise` — a cell a spreadsheet would read as a formula (leading ``= + - @``,
  TAB or CR) gets a leading apostrophe: CSV files, the workbook.
* :func:`terminal_text` — ANSI escape sequences, control characters (but newline and tab)
  and bidirectional overrides removed: what ``recommend``, the run summary and error
  messages print.
* :func:`chart_text` / :func:`chart_safe` — characters that XML 1.0 forbids removed (the
  PNG renderer aborts the whole process on them) and line breaks turned into spaces: chart
  specs before they are rendered.

Example:
    >>> neutralise('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> terminal_text("Ann\\x1b[2J\\x1b]0;pwned\\x07 Smith")
    'Ann Smith'
    >>> chart_text("Tea\\x1a\\x0cpot\\nlarge")
    'Teapot large'
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "FORMULA_PREFIXES",
    "chart_safe",
    "chart_text",
    "neutralise",
    "terminal_text",
]

#: First characters that make a spreadsheet read a cell as a formula (or a DDE command).
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

# ESC-introduced sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other ESC X;
# and the 8-bit CSI (U+009B).
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clear screen
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window title, hyperlinks
    r"|\x1b[P^_][^\x1b]*(?:\x1b\\)?"  # DCS, PM, APC strings
    r"|\x1b[@-Z\\-_]"  # two-character sequences
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
# C0 but TAB and LF, DEL, C1, bidirectional embeddings / overrides / isolates.
_TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# What XML 1.0 forbids (C0 but TAB/LF/CR, lone surrogates, U+FFFE/U+FFFF), plus DEL and C1.
_CHART_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = re.compile(r"[\t\n\r\u2028\u2029]+")


def neutralise(text: str) -> str:
    """Prefix text that a spreadsheet would read as a formula with an apostrophe.

    Example:
        >>> neutralise("@SUM(1)"), neutralise("Tea pot")
        ("'@SUM(1)", 'Tea pot')
    """
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def terminal_text(text: str) -> str:
    """``text`` without escape sequences or control characters (newline and tab are kept).

    Example:
        >>> terminal_text("\\x1b[31mred\\x1b[0m\\r\\u202egnp.exe")
        'redgnp.exe'
    """
    return _TERMINAL_CONTROLS.sub("", _ANSI.sub("", text))


def chart_text(text: str) -> str:
    """``text`` without the characters a chart renderer cannot take; line breaks → spaces.

    Example:
        >>> chart_text("a\\x00b\\r\\nc")
        'ab c'
    """
    return _LINE_BREAKS.sub(" ", _CHART_FORBIDDEN.sub("", text))


def chart_safe(value: Any) -> Any:
    """A copy of a chart spec (dicts, lists, strings) with :func:`chart_text` on every string.

    Example:
        >>> chart_safe({"data": {"values": [{"name": "x\\x1ay"}]}, "title": "T"})
        {'data': {'values': [{'name': 'xy'}]}, 'title': 'T'}
    """
    if isinstance(value, str):
        return chart_text(value)
    if isinstance(value, dict):
        return {chart_safe(k): chart_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [chart_safe(v) for v in value]
    return value
