"""The text-safety layer: spreadsheet formulas, terminal escapes, chart-breaking characters."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

from basketlens.textsafe import FORMULA_PREFIXES, chart_safe, chart_text, neutralise, terminal_text
from basketlens.textsafe.frames import safe_frame, write_csv


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_every_formula_prefix_is_neutralised(prefix: str) -> None:
    assert neutralise(prefix + "1") == "'" + prefix + "1"
    assert safe_frame(pl.DataFrame({"a": [prefix + "1"]})).item() == "'" + prefix + "1"


def test_plain_text_numbers_and_lists_in_frames(tmp_path, hostile_names) -> None:
    frame = pl.DataFrame(
        {
            "name": [*hostile_names[:3], "Tea"],
            "value": [-2.0, 1.0, 3.0, 4.0],
            "ids": [["=a", "b"], ["c"], [], ["@d"]],
        }
    )
    out = safe_frame(frame)
    assert out["name"].to_list()[-1] == "Tea" and out["value"].to_list()[0] == -2.0
    assert out["ids"].to_list() == ["'=a; b", "c", "", "'@d"]
    path = write_csv(frame, tmp_path / "x.csv")
    back = pl.read_csv(path, infer_schema=False)
    assert not [v for v in back["name"].to_list() if v.startswith(FORMULA_PREFIXES)]
    assert back["value"][0] == "-2.0"  # numbers are numbers, not text to neutralise


def test_terminal_text_strips_escapes_controls_and_bidi_but_keeps_lines() -> None:
    text = "A\x1b[31mred\x1b[0m\x1b]8;;http://x\x07link\x1b]8;;\x07\x07\x08\r\u202eB\nC\tD"
    assert terminal_text(text) == "AredlinkB\nC\tD"
    assert terminal_text("Müller & Söhne") == "Müller & Söhne"


def test_chart_text_removes_what_xml_forbids() -> None:
    every_control = "".join(chr(c) for c in range(32)) + "\x7f\ufffe"
    assert chart_text(f"a{every_control}b") == "a b"  # TAB/LF/CR become one space
    spec = {"data": {"values": [{"n": "x\x00y", "k": 1}]}, "title": ["T\x1a"]}
    assert chart_safe(spec) == {"data": {"values": [{"n": "xy", "k": 1}]}, "title": ["T"]}


def test_the_png_renderer_takes_every_cleaned_name() -> None:
    # in a child process: vl-convert aborts the whole process on such characters
    code = (
        "import vl_convert as v; from basketlens.textsafe import chart_safe; "
        "names = [f'x{chr(c)}y' for c in [*range(32), 0x7f, 0xfffe]]; "
        "spec = {'data': {'values': [{'a': n, 'b': 1} for n in names]}, 'mark': 'bar', "
        "'encoding': {'x': {'field': 'a', 'type': 'nominal'}, "
        "'y': {'field': 'b', 'type': 'quantitative'}}}; "
        "print(len(v.vegalite_to_png(chart_safe(spec))) > 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "True", result.stderr[-500:]
