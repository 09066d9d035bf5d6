"""Errors from readers name the file and, where known, the line; advice is never an option
value that is then rejected (issue 12)."""

from __future__ import annotations

import gzip

import polars as pl


def squeeze(text: str) -> str:
    """Without whitespace: Rich wraps long messages at the terminal width."""
    return "".join(text.split())


def assert_error(code: int, text: str, *fragments: str) -> None:
    assert code == 1, text
    assert "error:" in text and "Traceback" not in text, text
    for fragment in fragments:
        assert squeeze(fragment) in squeeze(text), (fragment, text)


def test_truncated_gzip_names_the_file_and_where_the_data_stops(tmp_path, sales_frame, run_cli):
    whole = gzip.compress(sales_frame.write_csv().encode())
    path = tmp_path / "sales.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    code, text = run_cli("run", path, "--out", tmp_path / "out")
    assert_error(code, text, "sales.csv.gz", "truncated gzip", "after line")
    assert "permissions" not in text


def test_unclosed_quote_names_the_line_where_it_opens(tmp_path, sales_frame, run_cli):
    lines = sales_frame.write_csv().splitlines()
    lines[100] = lines[100].replace(",", ',"', 1)  # line 101 of the file
    path = tmp_path / "sales.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, text = run_cli("run", path, "--out", tmp_path / "out")
    assert_error(code, text, "sales.csv", "line 101", "never closed")


def test_a_line_with_more_fields_names_the_line(tmp_path, sales_frame, run_cli):
    lines = sales_frame.write_csv().splitlines()
    lines[40] += ",1,2"
    path = tmp_path / "sales.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, text = run_cli("run", path, "--out", tmp_path / "out")
    assert_error(code, text, "sales.csv", "line 41", "more fields than the header")


def test_a_cut_json_line_is_named(tmp_path, sales_frame, run_cli):
    lines = sales_frame.write_ndjson().splitlines()
    lines[1200] = lines[1200][:30]  # past the rows the schema is inferred from
    path = tmp_path / "sales.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, text = run_cli("run", path, "--out", tmp_path / "out")
    assert_error(code, text, "sales.jsonl", "line 1,201", "not valid JSON")
    lines[1200], lines[3] = lines[3], lines[3][:30]  # and within them
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, text = run_cli("run", path, "--out", tmp_path / "out")
    assert_error(code, text, "sales.jsonl", "line 4", "not valid JSON")


def test_too_few_customers_for_k_gives_advice_that_is_accepted(tmp_path, sales_frame, run_cli):
    ids = sales_frame["SoldToCustomer_CD"].drop_nulls().unique().sort()[:2]
    two = sales_frame.filter(pl.col("SoldToCustomer_CD").is_in(ids.implode()))
    path = tmp_path / "sales.csv"
    two.write_csv(path)
    code, text = run_cli("run", path, "--k", "5", "--out", tmp_path / "out", "--no-report")
    assert_error(code, text, "n_customers=2 should be > k=5")
    assert "--k 1" not in text
