"""The ``basketlens`` command line: a thin layer that builds a config and calls the library.

Example:
    $ basketlens demo --out demo-out
    $ basketlens run sales.csv --items items.csv --map invoice=DocNo --out out/
"""

from __future__ import annotations

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
    """Console-script entry point (SIGTERM unwinds like an exit, so temporary files go)."""
    with terminate_as_exit():
        app()


__all__ = ["Path", "app", "main"]
