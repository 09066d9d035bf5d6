"""``basketlens report OUT``: re-render the report files from a run folder (no recomputing).

Example:
    $ basketlens report out/ --csv
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from basketlens.cli.console import handle_errors, out_console
from basketlens.cli.options import Flags, stage_flags
from basketlens.report.options import ReportOptions


@stage_flags(ReportOptions, exclude=("enabled",))
@handle_errors
def report_command(
    ctx: typer.Context,
    out_dir: Annotated[
        Path,
        typer.Argument(
            help="Output folder written by `basketlens run` or `demo`. Example: out/",
            show_default=False,
        ),
    ],
    *,
    flags: Flags,
) -> None:
    """Render report.html, insights.xlsx, charts/ and bi/ from an output folder.

    Reads only the folder's tables and run.json; nothing is recomputed.

    Example: basketlens report demo-out --csv
    """
    from rich.markup import escape

    from basketlens.report import render_report
    from basketlens.runfolder.write import lock_run_folder

    options = ReportOptions().updated(flags.section("report")).validate()
    with lock_run_folder(out_dir):  # a run into the same folder waits for no half-report
        files = render_report(out_dir, options=options)
    total = files.seconds.get("total", sum(files.seconds.values()))
    out_console.print(
        f"[green]✓[/] report rendered in {total:.1f}s: {len(files.all)} files in "
        f"{escape(str(files.out_dir))}"
    )
    for path in (files.html, files.excel):
        if path is not None:
            out_console.print(f"  {escape(str(path))} ({path.stat().st_size / 1e6:.1f} MB)")
    if files.charts:
        kept = f" ({len(files.reused)} unchanged, kept)" if files.reused else ""
        out_console.print(
            f"  {len(files.charts)} charts in {escape(str(files.out_dir / 'charts'))}{kept}"
        )
    if files.bi:
        out_console.print(f"  {len(files.bi)} BI tables in {escape(str(files.out_dir / 'bi'))}")
