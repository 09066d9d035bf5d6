"""The command line, in process: help texts, clean errors without tracebacks, exit codes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from basketlens.cli import app

runner = CliRunner()
COMMANDS = ("run", "demo", "synth", "mine")


def test_top_level_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented_with_an_example(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    assert "--out" in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("basketlens ")


def test_help_starts_fast_without_heavy_imports() -> None:
    code = (
        "import sys, time; t=time.perf_counter(); "
        "from basketlens.cli import app; "
        "heavy=[m for m in ('polars','sklearn','numpy','scipy','pyarrow') if m in sys.modules]; "
        "print(heavy)"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"heavy modules imported at start-up: {out.stdout}"
    assert time.perf_counter() - start < 5  # generous: a cold CI disk; locally ~0.2 s


def test_missing_sales_file_is_one_line_error_without_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "error:" in result.output and "nope.csv" in result.output
    assert "Traceback" not in result.output


def test_bad_map_entry_names_the_option(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "x.csv", "--map", "invoice", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "--map expects FIELD=COLUMN" in result.output


def test_unknown_canonical_field_in_map_is_reported(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "x.csv", "--map", "invoce=Doc", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "'invoce'" in result.output and "did you mean 'invoice'" in result.output


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["--debug", "run", "x.csv", "--map", "invoice"])
    assert result.exit_code != 0
    assert result.exception is not None and not isinstance(result.exception, SystemExit)


def test_invalid_options_are_refused_before_the_ledger_is_read(tmp_path: Path) -> None:
    # the sales file does not exist: an option error must come first, naming the option
    missing = str(tmp_path / "big.parquet")
    for args, message in [
        (["--k", "1"], "k must be in [2, inf); got 1"),
        (["--min-support", "1.5"], "min_support must be in (0, 1]; got 1.5"),
        (["--basket-by", "week"], "basket_by must be one of 'invoice', 'customer_day'"),
        (["--k-min", "5", "--k-max", "3"], "k_max must be >= k_min"),
        (["--sort-by", "lifft"], "did you mean 'lift'"),
        (["--cap-quantile", "high"], "cap_quantile must be a number in (0.5, 1] or none; got"),
        (["--k", "4.5"], "k must be an int in [2, inf) or none; got '4.5'"),
    ]:
        result = runner.invoke(app, ["run", missing, *args, "--out", str(tmp_path / "o")])
        assert result.exit_code == 1, result.output
        assert message in result.output, (args, result.output)
        assert "not found" not in result.output
        assert not (tmp_path / "o").exists()  # refused before any work


def test_every_declared_flag_reaches_the_config(tmp_path: Path) -> None:
    """Each generated flag lands in the options field that declares it."""
    from basketlens.cli.options import Flags, stage_flags
    from basketlens.config import RunConfig
    from basketlens.mining.options import MiningOptions
    from basketlens.segment.options import SegmentOptions

    seen: list[Flags] = []

    @stage_flags(SegmentOptions, MiningOptions)
    def command(*, flags: Flags) -> None:
        seen.append(flags)

    import typer

    sub = typer.Typer()
    sub.command("x")(command)
    sub.command("y")(lambda: None)
    args = ["x", "--k", "4", "--features", "a, b", "--transform", "none", "--multi-consequent"]
    args += ["--cap-quantile", "None", "--reliability-orders", "3"]  # "none" turns a number off
    result = runner.invoke(sub, [*args, "--measures", "support,lift", "--no-rules"])
    assert result.exit_code == 0, result.output
    cfg = RunConfig().override(seen[0].values, skip_none=False)
    assert cfg.segment.k == 4 and cfg.segment.features == ("a", "b")
    assert cfg.segment.cap_quantile is None and cfg.segment.reliability_orders == 3.0
    assert cfg.segment.transform == "none"
    assert cfg.mine.consequent_max_len is None and cfg.mine.enabled is False
    assert cfg.mine.measures == ("support", "lift")
    assert cfg.mine.max_len == 4  # not given: the run profile's default stays


def test_backtest_reads_the_config_file(tmp_path: Path) -> None:
    """``backtest --config`` works like ``run --config`` (no SALES argument needed)."""
    from basketlens.synth import generate_ledger

    paths = generate_ledger(n_customers=60, n_lines=3_000, seed=1).write(tmp_path / "d")
    config = tmp_path / "b.toml"
    config.write_text(
        f'[input]\nsales = "{paths["sales"]}"\nitems = "{paths["items"]}"\n'
        "[segment]\nk = 2\nn_init = 2\n[backtest]\nholdout_months = 2\ntop_n = 3\n",
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["backtest", "--config", str(config), "--out", str(tmp_path / "bt")]
    )
    assert result.exit_code == 0, result.output
    assert "hit@3" in result.output


@pytest.mark.parametrize("outcome", [SystemExit(0), SystemExit(2), RuntimeError("boom")])
def test_the_console_script_freezes_its_objects_when_done(
    monkeypatch: pytest.MonkeyPatch, outcome: BaseException
) -> None:
    """``basketlens`` (``cli.main``) hands its objects to gc.freeze once the command ends,
    however it ends, so that the interpreter's exit does not walk them all again."""
    import gc

    import basketlens.cli as cli

    def command() -> None:
        raise outcome

    monkeypatch.setattr(cli, "app", command)
    gc.unfreeze()
    try:
        with pytest.raises(type(outcome)):
            cli.main()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # this test process goes on collecting as before
