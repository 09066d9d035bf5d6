"""The command line as a new user meets it (issue 13): any ledger shape, ``mine --out`` in the
format of its extension, progress with counts, plain lines when piped, a summary that ends
with the report and what to look at first."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console
from typer.testing import CliRunner

from basketlens.cli import app
from basketlens.cli.console import CliConsole, RichProgress, print_rows
from basketlens.pipeline import Clock

runner = CliRunner()


@pytest.fixture(scope="module")
def no_invoice(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A point-of-sale style export: sales lines without any invoice number."""
    from basketlens.synth import generate_ledger

    folder = tmp_path_factory.mktemp("pos")
    ledger = generate_ledger(n_customers=80, n_lines=6_000, seed=2)
    paths = ledger.write(folder / "d", format="parquet")
    sales = pl.read_parquet(paths["sales"]).drop("SalesDocumentNumber")
    sales.write_csv(folder / "pos.csv")
    return {"sales": folder / "pos.csv", "items": paths["items"], "customers": paths["customers"]}


def _inputs(files: dict[str, Path]) -> list[str]:
    return [str(files["sales"]), "--items", str(files["items"]), "--customers",
            str(files["customers"])]  # fmt: skip


# --- any ledger shape ----------------------------------------------------------------------


def test_a_ledger_without_invoices_says_to_use_basket_by(no_invoice, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", *_inputs(no_invoice), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "invoice" in result.output and "--basket-by customer_day" in result.output
    assert "Traceback" not in result.output


def test_a_ledger_without_invoices_runs_by_customer_day(no_invoice, tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = runner.invoke(
        app,
        ["run", *_inputs(no_invoice), "--basket-by", "customer_day", "--k", "3", "--no-report",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    info = json.loads((out / "run.json").read_text())
    assert info["rows"]["baskets"] > 0 and "invoice" not in info["column_map"]
    assert pl.read_parquet(out / "rules.parquet").height > 0
    account = pl.read_parquet(out / "cleaning.parquet")
    assert "need no invoice" in account.filter(pl.col("rule") == "missing_ids")["description"][0]


def test_backtest_takes_basket_by_for_a_ledger_without_invoices(no_invoice, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["backtest", *_inputs(no_invoice), "--basket-by", "customer_day", "--holdout-months",
         "2", "--k", "2", "--out", str(tmp_path / "bt")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "hit@5" in result.output


BAKERY = "Date,Time,Transaction,Item\n" + "".join(
    f"2016-10-{30 - t % 2},10:0{t % 10}:00,{t},{item}\n"
    for t in range(60)
    for item in (["Bread", "Coffee", "NONE"] if t % 3 else ["Bread", "Jam", "NONE"])
)


def test_a_ledger_without_customers_or_prices_points_to_mine(tmp_path: Path) -> None:
    path = tmp_path / "bakery.csv"
    path.write_text(BAKERY, encoding="utf-8")
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert (
        f"basketlens mine {path} --format long --basket-col Transaction --item-col Item"
        in result.output
    )
    assert "--basket-by" not in result.output  # days of a customer need a customer


def test_mine_drops_placeholder_items(tmp_path: Path) -> None:
    path = tmp_path / "bakery.csv"
    path.write_text(BAKERY, encoding="utf-8")
    args = ["mine", str(path), "--format", "long", "--basket-col", "Transaction", "--item-col",
            "Item", "--min-support", "0.2", "--min-confidence", "0.3"]  # fmt: skip
    with_none = runner.invoke(app, [*args, "--out", str(tmp_path / "a.parquet")])
    assert with_none.exit_code == 0, with_none.output
    rules = pl.read_parquet(tmp_path / "a.parquet")
    assert rules.filter(pl.concat_list("antecedent", "consequent").list.contains("NONE")).height
    result = runner.invoke(
        app, [*args, "--exclude-item", "none", "--out", str(tmp_path / "b.parquet")]
    )
    assert result.exit_code == 0, result.output
    clean = pl.read_parquet(tmp_path / "b.parquet")
    assert clean.height > 0
    assert not clean.filter(pl.concat_list("antecedent", "consequent").list.contains("NONE")).height


def test_run_drops_excluded_items_and_accounts_for_them(tmp_path: Path) -> None:
    from basketlens.synth import generate_ledger

    paths = generate_ledger(n_customers=60, n_lines=3_000, seed=4).write(
        tmp_path / "d", format="parquet"
    )
    sales = pl.read_parquet(paths["sales"])
    top = sales["Item_CD"].mode()[0]
    out = tmp_path / "o"
    result = runner.invoke(
        app,
        ["run", str(paths["sales"]), "--items", str(paths["items"]), "--exclude-item", str(top),
         "--k", "2", "--no-report", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    account = pl.read_parquet(out / "cleaning.parquet").filter(pl.col("rule") == "excluded_items")
    # every line of the item that the earlier rules kept (a return of it is dropped earlier)
    assert 0 < account["rows_dropped"][0] <= sales.filter(pl.col("Item_CD") == top).height
    assert top not in pl.read_parquet(out / "items.parquet")["item"].to_list()


# --- mine --out ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xlsx", ".json"])
def test_mine_writes_the_format_of_the_extension(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / "baskets.csv"
    path.write_text("milk,bread\nmilk,bread,=cmd\nmilk\nbread,milk,=cmd\n", encoding="utf-8")
    out = tmp_path / f"rules{suffix}"
    result = runner.invoke(app, ["mine", str(path), "--min-support", "0.5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    if suffix == ".parquet":
        assert raw[:4] == b"PAR1" and pl.read_parquet(out).height > 0
    elif suffix == ".csv":
        table = pl.read_csv(out)
        assert table.height > 0 and table["antecedent"].dtype == pl.String
        assert not any(v.startswith("=") for v in table["antecedent"].to_list())
    elif suffix == ".xlsx":
        assert raw[:2] == b"PK"
        openpyxl = pytest.importorskip("openpyxl")
        ws = openpyxl.load_workbook(out)["Rules"]
        assert ws["A1"].value == "rule id" and ws.max_row > 1
    else:
        rows = json.loads(raw)
        assert rows and isinstance(rows[0]["antecedent"], list)


def test_mine_refuses_an_unknown_extension_before_reading(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["mine", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "rules.txt")]
    )
    assert result.exit_code == 1
    assert ".parquet, .csv, .xlsx or .json" in result.output and "absent" not in result.output


def test_mine_prints_the_top_rules_unwrapped(tmp_path: Path, shared_path) -> None:
    path = shared_path("groceries", "groceries.csv.gz")
    result = runner.invoke(
        app,
        ["mine", str(path), "--min-support", "0.001", "--min-confidence", "0.5", "--show", "5",
         "--out", str(tmp_path / "r.parquet")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("if a basket holds"))
    shown = lines[header + 1 : header + 6]
    assert len(shown) == 5
    assert shown[0].startswith("Instant food products + soda") and "hamburger meat" in shown[0]
    assert any(len(line) > 80 for line in shown)  # piped: long lines stay whole
    assert "5,668 rules" in result.output


# --- the terminal --------------------------------------------------------------------------


def test_piped_console_prints_long_lines_whole_and_tables_plain() -> None:
    buffer = io.StringIO()
    console = CliConsole(file=buffer)
    console.print("word " * 40)
    print_rows(console, ["segment", "persona", "customers"], [["0", "A" * 90, "1,848"]])
    lines = buffer.getvalue().splitlines()
    assert lines[0].strip() == ("word " * 40).strip()
    assert lines[1].split() == ["segment", "persona", "customers"]
    assert lines[2].split() == ["0", "A" * 90, "1,848"]
    assert "━" not in buffer.getvalue() and "\x1b[" not in buffer.getvalue()


def test_piped_log_is_plain_whole_lines_with_each_stage_cpu() -> None:
    """``basketlens -v … 2> file``: one unpadded line per record, each stage's wall and CPU."""
    import logging
    import time
    from contextlib import redirect_stderr

    from basketlens.cli.console import setup_logging

    logger = logging.getLogger("basketlens")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    err = io.StringIO()
    try:
        with redirect_stderr(err):
            setup_logging(1)
            clock = Clock()
            with clock.stage("segment", "clustering"):
                busy = time.process_time() + 0.05
                while time.process_time() < busy:
                    pass
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    lines = err.getvalue().splitlines()
    assert (
        f"INFO     stage segment: {clock.timings['segment']:.2f}s, "
        f"{clock.cpu['segment']:.2f}s of CPU"
    ) in lines
    assert clock.cpu["segment"] >= 0.05
    assert all(line == line.rstrip() and "\x1b[" not in line for line in lines)


def test_progress_shows_counts_on_a_terminal_and_plain_lines_otherwise() -> None:
    plain = io.StringIO()
    reporter = RichProgress(CliConsole(file=plain))
    reporter.stage_started("report", "rendering")
    reporter.stage_progress("report", 3, 11, "charts")
    reporter.stage_finished("report", 1.25, "19 files")
    assert plain.getvalue().splitlines() == ["✓ report           1.25s  19 files"]

    live = io.StringIO()
    terminal = RichProgress(Console(file=live, force_terminal=True, width=100))
    terminal.stage_started("mine", "mining")
    terminal.stage_progress("mine", 2, 3, "scopes")
    assert terminal._live is not None
    task = terminal._live.tasks[0]
    assert (task.completed, task.total, task.fields["count"]) == (2, 3, "2/3 scopes")
    terminal.stage_finished("mine", 0.5, "631 rules")
    assert terminal._live is None and "631 rules" in live.getvalue()


def test_clock_passes_counts_only_to_reporters_that_show_them() -> None:
    seen: list[tuple[str, int, int, str]] = []

    class Counting:
        def stage_started(self, stage: str, description: str) -> None: ...
        def stage_finished(self, stage: str, seconds: float, detail: str) -> None: ...
        def stage_failed(self, stage: str) -> None: ...
        def stage_progress(self, stage: str, done: int, total: int, unit: str) -> None:
            seen.append((stage, done, total, unit))

    clock = Clock(Counting())
    with clock.stage("mine", "mining"):
        tell = clock.counter("scopes")
        assert tell is not None
        tell(1, 3)
    assert seen == [("mine", 1, 3, "scopes")]
    assert Clock().counter("scopes") is None  # the silent reporter shows no counts


def test_mining_reports_each_scope(tmp_path: Path) -> None:
    from basketlens.mining import mine_scopes, to_basket_matrix

    m = to_basket_matrix([["a", "b"]] * 12 + [["a"]] * 8)
    seen: list[tuple[int, int]] = []
    mine_scopes(m, {"1": range(12), "2": range(12, 20)}, min_count=2, min_scope_baskets=2,
                n_jobs=2, progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert sorted(seen) == [(1, 3), (2, 3), (3, 3)]


def test_run_summary_ends_with_the_report_and_three_things(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(
        app,
        ["demo", "--out", str(out), "--customers", "150", "--k", "3", "--locale", "de-DE",
         "--no-excel", "--no-bi", "--no-charts"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.rstrip().splitlines()
    look = next(i for i, line in enumerate(lines) if line == "Look first at")
    assert lines[look - 1] == f"Report {(out / 'report.html').resolve()}"
    assert [line[:5] for line in lines[look + 1 :]] == ["  1. ", "  2. ", "  3. "]
    assert lines[look + 1].startswith("  1. Segments (#segments): 3 customer segments")
    summary = next(line for line in lines if line.startswith("Sales lines read"))
    read = summary.split()[3].rstrip(",")
    assert "." in read and "," not in read  # German grouping: 12.345, not 12,345
    assert "net sales (EUR)" in result.output and "\xa0€" in result.output  # the demo's euros
