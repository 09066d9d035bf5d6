"""Tests of format detection, sniffing and the per-format readers (basketlens.ingest.readers)."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import polars as pl
import pytest

from basketlens.errors import EmptyInputError, InputError, ParameterError
from basketlens.ingest.readers import read_table
from basketlens.ingest.sniff import (
    check_delimiter,
    detect_format,
    normalise_encoding,
    scan_file,
    sniff_delimiter,
    split_extension,
)

ROWS = [("536365", "00123", "Café crème"), ("C536379", "85123A", "Ünïcödé")]


def _text(delim: str) -> str:
    lines = [delim.join(("InvoiceNo", "StockCode", "Description"))]
    lines += [delim.join(r) for r in ROWS]
    return "\n".join(lines) + "\n"


def _collect(path: Path, **kw) -> tuple[list[tuple], object]:
    t = read_table(path, role="sales", **kw)
    return t.frame.collect().rows(), t


@pytest.mark.parametrize(
    ("name", "delim"), [("a.csv", ","), ("a.tsv", "\t"), ("semi.csv", ";"), ("p.txt", "|")]
)
def test_csv_any_delimiter_is_sniffed_and_ids_stay_strings(tmp_path, name, delim):
    path = tmp_path / name
    path.write_text(_text(delim), encoding="utf-8")
    rows, t = _collect(path)
    assert rows == ROWS
    assert t.delimiter == delim and t.encoding == "utf-8" and t.format == "csv"
    assert t.columns == ("InvoiceNo", "StockCode", "Description")


def test_latin1_csv_is_transcoded(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(_text(";").encode("latin-1"))
    rows, t = _collect(path)
    assert rows == ROWS
    assert t.encoding == "cp1252"


def test_cp1252_euro_sign_and_given_encoding(tmp_path):
    path = tmp_path / "euro.csv"
    path.write_bytes("a,b\n1,€5\n".encode("cp1252"))
    assert _collect(path)[0] == [("1", "€5")]
    # given latin-1 reads byte 0x80 as the C1 control character, as asked
    assert _collect(path, encoding="latin-1")[0] == [("1", "\x805")]


def test_utf8_sig_bom_is_removed_from_header(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(_text(",").encode("utf-8-sig"))
    rows, t = _collect(path)
    assert t.columns[0] == "InvoiceNo"
    assert t.encoding == "utf-8-sig"
    assert rows == ROWS


def test_gzip_csv(tmp_path):
    path = tmp_path / "a.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(_text(";"))
    rows, t = _collect(path)
    assert rows == ROWS and t.delimiter == ";"


def test_gzip_latin1_csv(tmp_path):
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress(_text(",").encode("latin-1")))
    assert _collect(path)[0] == ROWS


def test_given_delimiter_wins(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a;b,c\n1;2,3\n")
    assert _collect(path, delimiter=",")[0] == [("1;2", "3")]
    assert _collect(path, delimiter=";")[0] == [("1", "2,3")]


def test_parquet_jsonl_excel(tmp_path):
    df = pl.DataFrame({"inv": ["536365", "C536379"], "cust": [17850.0, None]})
    df.write_parquet(tmp_path / "a.parquet")
    t = read_table(tmp_path / "a.parquet", role="sales")
    assert (t.format, t.rows) == ("parquet", 2)
    assert t.frame.collect().equals(df)

    (tmp_path / "a.jsonl").write_text(
        '{"inv": 536365, "cust": 17850.0}\n{"inv": "C536379", "cust": null}\n'
    )
    t = read_table(tmp_path / "a.jsonl", role="sales")
    assert t.format == "jsonl"
    assert t.frame.collect().rows() == [("536365", "17850"), ("C536379", None)]

    df.write_excel(tmp_path / "a.xlsx", worksheet="Lines")
    t = read_table(tmp_path / "a.xlsx", role="sales", sheet="Lines")
    assert (t.format, t.rows) == ("excel", 2)
    assert t.frame.collect().rows() == [("536365", "17850"), ("C536379", None)]


def test_excel_missing_sheet_names_available_sheets(tmp_path):
    pl.DataFrame({"a": [1]}).write_excel(tmp_path / "a.xlsx", worksheet="Lines")
    with pytest.raises(InputError, match=r"sheet 'Sales' not found in .*a\.xlsx.*'Lines'"):
        read_table(tmp_path / "a.xlsx", role="sales", sheet="Sales")


def test_content_must_match_extension(tmp_path):
    fake = tmp_path / "sales.parquet"
    fake.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"sales\.parquet.*parquet extension.*seems to be text"):
        read_table(fake, role="sales")
    notzip = tmp_path / "sales.xlsx"
    notzip.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"sales\.xlsx.*excel extension.*seems to be text"):
        read_table(notzip, role="sales")
    pq = tmp_path / "real.csv"
    pl.DataFrame({"a": [1]}).write_parquet(pq)
    with pytest.raises(InputError, match=r"real\.csv.*csv extension.*seems to be parquet"):
        read_table(pq, role="sales")
    gz = tmp_path / "plain.csv.gz"
    gz.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"plain\.csv\.gz.*not gzip"):
        read_table(gz, role="sales")


def test_unknown_extension_is_decided_by_content(tmp_path):
    path = tmp_path / "export.dat"
    pl.DataFrame({"a": ["x"]}).write_parquet(path)
    assert detect_format(path) == "parquet"
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(InputError, match=r"cannot tell the format of .*blob\.bin"):
        detect_format(tmp_path / "blob.bin")


@pytest.mark.parametrize("content", [b"", b"  \n\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(EmptyInputError, match=r"empty\.csv.*is empty"):
        read_table(path, role="sales")


def test_empty_gzip_and_header_only_excel(tmp_path):
    path = tmp_path / "e.csv.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(EmptyInputError, match=r"e\.csv\.gz"):
        read_table(path, role="sales")
    pl.DataFrame({"a": []}, schema={"a": pl.String}).write_excel(tmp_path / "h.xlsx")
    with pytest.raises(EmptyInputError, match=r"h\.xlsx.*no data rows"):
        read_table(tmp_path / "h.xlsx", role="sales")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"file not found: .*nope\.csv"):
        read_table(tmp_path / "nope.csv", role="sales")


def test_scan_file_fingerprint_and_utf8(tmp_path):
    path = tmp_path / "x.csv"
    data = "a\né\n".encode("latin-1")
    path.write_bytes(data)
    scan = scan_file(path, check_utf8=True)
    assert scan.bytes == len(data)
    assert scan.fingerprint == "sha256:" + hashlib.sha256(data).hexdigest()
    assert scan.utf8 is False
    assert scan_file(path, check_utf8=False).utf8 is None


def test_sniff_helpers():
    assert sniff_delimiter("a,b;c\n1,2;3\n4,5;6\n") == ","  # ties: first candidate wins
    assert sniff_delimiter('name;price\n"a;b";1,5\nc;2,5\n') == ";"
    assert sniff_delimiter("single\n1\n") == ","
    assert check_delimiter("\\t") == "\t"
    with pytest.raises(ParameterError, match=r"delimiter must be a single character.*'ab'"):
        check_delimiter("ab")
    with pytest.raises(ParameterError, match=r"encoding must be .*'klingon'"):
        normalise_encoding("klingon")
    assert normalise_encoding("latin1") == "iso8859-1"
    assert split_extension(Path("a.b.CSV.GZ")) == (".csv", True)
