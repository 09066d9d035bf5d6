"""Bad input end to end through the CLI: one clear message, exit code 1, never a traceback.

Each case builds a tiny ledger (canonical column names need no --map) and checks that the
message names the file / column / value at fault and says what to do (issue 2, "Bad input").
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from basketlens.cli import app

runner = CliRunner()
HEADER = "invoice,date,customer,item,quantity,net_sales"


def _lines(n_customers: int = 3, *, quantity: str = "2", date: str | None = None) -> list[str]:
    """Two invoices per customer, two items each; ``date`` replaces every date if given."""
    rows = []
    for c in range(n_customers):
        for i in range(2):
            day = date or f"2024-01-{10 + i + c:02d}"
            invoice = f"{c}{i}"
            rows += [
                f"{invoice},{day},C{c},A,{quantity},10.5",
                f"{invoice},{day},C{c},B{i},{quantity},4.0",
            ]
    return rows


def _ledger(tmp_path: Path, name: str = "sales.csv", header: str = HEADER, **kw) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *_lines(**kw)]) + "\n", encoding="utf-8")
    return path


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def _run_ledger(sales: Path, tmp_path: Path, *extra: str | Path) -> tuple[int, str]:
    return _run("run", sales, "--out", tmp_path / "out", "--no-report", *extra)


def _assert_clean_error(code: int, output: str, *expected: str) -> None:
    """Exit 1, an ``error:`` line, each expected fragment present, no traceback.

    Whitespace is ignored in the comparison: Rich wraps long lines (even inside a long path)
    at the terminal width.
    """
    squeezed = "".join(output.split())
    assert code == 1, output
    assert output.lstrip().startswith("error:") or "\nerror:" in output, output
    assert "Traceback" not in output, output
    for fragment in expected:
        assert "".join(fragment.split()) in squeezed, f"{fragment!r} not in {output!r}"


# ---------------------------------------------------------------------------- ingest


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    sales = _ledger(tmp_path, header="invoice,date,client,item,quantity,net_sales")
    code, out = _run_ledger(sales, tmp_path)
    _assert_clean_error(code, out, "sales.csv", "customer", "--map customer=")


def test_unmappable_layout_lists_the_columns_and_suggests_map(tmp_path: Path) -> None:
    sales = tmp_path / "export.csv"
    sales.write_text("foo,bar,baz\n1,2,3\n4,5,6\n", encoding="utf-8")
    code, out = _run_ledger(sales, tmp_path)
    _assert_clean_error(code, out, "export.csv", "foo", "--map")


def test_empty_file_is_named(tmp_path: Path) -> None:
    sales = tmp_path / "empty.csv"
    sales.write_bytes(b"")
    code, out = _run_ledger(sales, tmp_path)
    _assert_clean_error(code, out, "empty.csv", "is empty", "export")


def test_header_only_file_says_no_data_rows(tmp_path: Path) -> None:
    sales = tmp_path / "header.csv"
    sales.write_text(HEADER + "\n", encoding="utf-8")
    code, out = _run_ledger(sales, tmp_path)
    _assert_clean_error(code, out, "header.csv", "no data rows")


def test_unreadable_date_names_column_and_value(tmp_path: Path) -> None:
    sales = _ledger(tmp_path, date="next tuesday")
    code, out = _run_ledger(sales, tmp_path)
    _assert_clean_error(code, out, "sales.csv", "'date'", "next tuesday")


def test_file_that_is_not_what_its_extension_says(tmp_path: Path) -> None:
    sales = tmp_path / "sales.parquet"
    sales.write_text("\n".join([HEADER, *_lines()]) + "\n", encoding="utf-8")
    code, out = _run_ledger(sales, tmp_path)
    _assert_clean_error(code, out, "sales.parquet", "parquet extension", "fix the extension")


def test_missing_excel_sheet_lists_the_sheets(tmp_path: Path) -> None:
    sales = tmp_path / "sales.xlsx"
    frame = pl.read_csv(_ledger(tmp_path), infer_schema=False)
    frame.write_excel(sales, worksheet="Lines")
    code, out = _run_ledger(sales, tmp_path, "--sheet", "Sales")
    _assert_clean_error(code, out, "sales.xlsx", "'Sales'", "'Lines'", "--sheet")


def test_missing_sales_file(tmp_path: Path) -> None:
    code, out = _run_ledger(tmp_path / "nowhere.csv", tmp_path)
    _assert_clean_error(code, out, "nowhere.csv", "not found", "check the path")


# ----------------------------------------------------------------- parameters, config


def test_unknown_map_field_suggests_the_closest(tmp_path: Path) -> None:
    code, out = _run_ledger(_ledger(tmp_path), tmp_path, "--map", "custmer=client")
    _assert_clean_error(code, out, "'custmer'", "did you mean 'customer'")


def test_map_to_a_column_the_file_lacks(tmp_path: Path) -> None:
    code, out = _run_ledger(_ledger(tmp_path), tmp_path, "--map", "customer=Client_CD")
    _assert_clean_error(code, out, "sales.csv", "Client_CD")


def test_config_with_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "basketlens.toml"
    config.write_text('[input]\nsales = "sales.csv"\n[segment]\nkmax = 4\n', encoding="utf-8")
    _ledger(tmp_path)
    code, out = _run("run", "--config", config, "--out", tmp_path / "out", "--no-report")
    _assert_clean_error(code, out, "basketlens.toml", "'kmax'", "did you mean 'k_max'")


def test_config_that_is_not_toml(tmp_path: Path) -> None:
    config = tmp_path / "basketlens.toml"
    config.write_text("[input\nsales = \n", encoding="utf-8")
    code, out = _run("run", "--config", config, "--out", tmp_path / "out")
    _assert_clean_error(code, out, "basketlens.toml", "not valid TOML")


def test_min_support_out_of_range(tmp_path: Path) -> None:
    code, out = _run_ledger(_ledger(tmp_path), tmp_path, "--min-support", "1.5")
    _assert_clean_error(code, out, "min_support must be in (0, 1]", "1.5")


def test_more_segments_than_customers(tmp_path: Path) -> None:
    code, out = _run_ledger(_ledger(tmp_path, n_customers=4), tmp_path, "--k", "50")
    _assert_clean_error(code, out, "k=50", "only 4 customers", "--k 3")


def test_too_few_customers_to_segment_at_all(tmp_path: Path) -> None:
    code, out = _run_ledger(_ledger(tmp_path, n_customers=1), tmp_path)
    _assert_clean_error(code, out, "only 1 customer", "k_min=2", "more customers")


# ------------------------------------------------------------------ cleaning, outputs


def test_every_line_dropped_by_cleaning(tmp_path: Path) -> None:
    sales = _ledger(tmp_path, quantity="-1")
    code, out = _run_ledger(sales, tmp_path)
    _assert_clean_error(
        code, out, "sales.csv", "dropped by cleaning", "rule 'returns'", "drop_returns = false"
    )


def test_output_path_is_an_existing_file(tmp_path: Path) -> None:
    taken = tmp_path / "taken.txt"
    taken.write_text("not a folder", encoding="utf-8")
    code, out = _run("run", _ledger(tmp_path), "--out", taken, "--no-report")
    _assert_clean_error(code, out, "taken.txt", "not a folder", "choose another --out")


# ------------------------------------------------------------- mine, report, recommend


def test_mine_on_a_malformed_fimi_file(tmp_path: Path) -> None:
    fimi = tmp_path / "baskets.dat"
    fimi.write_text("1 2 3\n4 five 6\n", encoding="utf-8")
    code, out = _run("mine", fimi, "--format", "fimi", "--out", tmp_path / "r.parquet")
    _assert_clean_error(
        code, out, "baskets.dat", "line 2", "'4 five 6'", "space-separated integers"
    )


def test_report_on_a_folder_that_is_not_an_output_folder(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"\xff\xd8")
    code, out = _run("report", folder)
    _assert_clean_error(code, out, "photos", "basketlens run")


@pytest.fixture(scope="module")
def model_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real output folder with a model: the demo generator's ledger, run without a report."""
    from basketlens.synth import generate_ledger

    root = tmp_path_factory.mktemp("model")
    paths = generate_ledger(n_customers=80, seed=1).write(root / "data", format="csv")
    out = root / "out"
    files = ["--items", paths["items"], "--customers", paths["customers"]]
    code, output = _run("run", paths["sales"], *files, "--out", out, "--no-report", "--k", "3")
    assert code == 0, output
    return out


def test_recommend_to_an_unknown_customer(model_out: Path) -> None:
    code, out = _run("recommend", model_out, "--customer", "NO-SUCH-42")
    _assert_clean_error(code, out, "customer 'NO-SUCH-42'", "not in the model")


# ----------------------------------------------------- errors from libraries we call


@pytest.mark.parametrize(
    "exc",
    [
        OSError(28, "No space left on device"),
        PermissionError(13, "Permission denied"),
        pl.exceptions.ComputeError("boom in the engine"),
    ],
    ids=["disk-full", "permission", "polars"],
)
def test_foreign_exception_is_one_line_with_debug_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    import basketlens.pipeline

    def fail(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(basketlens.pipeline, "run_pipeline", fail)
    code, out = _run_ledger(_ledger(tmp_path), tmp_path)
    _assert_clean_error(code, out, str(exc.args[-1]), "--debug")
    assert type(exc).__name__ in out


def test_foreign_exception_with_debug_keeps_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import basketlens.pipeline

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(basketlens.pipeline, "run_pipeline", fail)
    result = runner.invoke(
        app, ["--debug", "run", str(_ledger(tmp_path)), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, OSError)
