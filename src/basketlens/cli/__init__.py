"""The ``basketlens`` command line: a thin layer that builds a config and calls the library.

Example:
    $ basketlens demo --out demo-out
    $ basketlens run sales.csv --items items.csv --map invoice=DocNo --out out/
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated

import typer

from basketlens import __version__
from basketlens._signals import terminate_as_exit
from basketlens.cli.backtest import backtest_command
from basketlens.cli.console import CliState, setup_logging
from basketlens.cli.mine import mine_command
from basketlens.cli.recommend import recommend_command
from basketlens.cli.report import report_command
from basketlens.cli.run import demo_command, run_command, synth_command

app = typer.Typer(
    name="basketlens",
    help=(
        "Turn a sales ledger into customer segments, association rules and cross-sell "
        "opportunities.\n\nStart with [bold]basketlens demo --out demo-out[/] to see every "
        "output on built-in data, then [bold]basketlens run SALES.csv --out out/[/]."
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"basketlens {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output (-v, -vv).")
    ] = 0,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    ctx.obj = CliState(debug=debug)
    setup_logging(verbose)


app.command("run")(run_command)
app.command("demo")(demo_command)
app.command("synth")(synth_command)
app.command("mine")(mine_command)
app.command("report")(report_command)
app.command("recommend")(recommend_command)
app.command("backtest")(backtest_command)


def main() -> None:
    """Console-script entry point (SIGTERM unwinds like an exit, so temporary files go).

    Once the command is done its objects are frozen (:func:`gc.freeze`): the interpreter's
    exit then frees them by their reference counts without the cyclic collector walking them
    all again (0.49 → 0.09 s of exit after a run on Online Retail). Output files are closed
    and moved into place before this, and the standard streams are flushed at exit as usual.
    """
    try:
        with terminate_as_exit():
            app()
    finally:
        gc.freeze()


__all__ = ["Path", "app", "main"]
