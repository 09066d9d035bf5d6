"""``basketlens run``, ``demo`` and ``synth``: build a RunConfig from the config file and the
flags, call the pipeline, print the summary.

Every stage flag (``--k``, ``--min-support``, ``--basket-by``, …) is generated from the stage's
options declaration (:mod:`basketlens.cli.options`); only the command's own arguments are
written here.

Example:
    $ basketlens run sales.csv --items items.csv --customers customers.csv --out out/ \\
        --map invoice=SalesDocumentNumber --map date=Date_CD --k 4
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from basketlens.backtest.options import BacktestOptions
from basketlens.clean.options import CleaningOptions
from basketlens.cli.console import (
    RichProgress,
    err_console,
    handle_errors,
    parse_pairs,
    print_summary,
)
from basketlens.cli.options import ConfigOpt, Flags, MapOpt, SalesArg, stage_flags
from basketlens.config import RunConfig
from basketlens.features.options import FeatureOptions
from basketlens.ingest.options import InputOptions
from basketlens.mining.options import MiningOptions
from basketlens.opportunities.options import RecommendOptions
from basketlens.report.options import ReportOptions
from basketlens.runfolder.options import OutputOptions
from basketlens.segment.options import SegmentOptions
from basketlens.spark.options import EngineOptions
from basketlens.synth.options import SynthOptions

#: The sections whose flags ``run`` offers, and their defaults on this command.
ANALYSIS_SECTIONS = (
    CleaningOptions,
    FeatureOptions,
    SegmentOptions,
    MiningOptions,
    RecommendOptions,
)
RUN_DEFAULTS = {
    name: getattr(RunConfig(), name) for name in RunConfig.tables() if name != "columns"
}


def build_config(
    config: Path | None, sales: str | None, column_map: list[str] | None, flags: Flags
) -> RunConfig:
    """The config file (if any), then the flags; validated before any data is read."""
    cfg = RunConfig.from_toml(config) if config else RunConfig()
    sections: dict[str, Any] = dict(flags.values)
    if sales is not None:
        sections["input"] = {**sections.get("input", {}), "sales": sales}
    sections["columns"] = parse_pairs(column_map, "--map")
    return cfg.override(sections, skip_none=False)


@stage_flags(
    InputOptions,
    *ANALYSIS_SECTIONS,
    BacktestOptions,
    ReportOptions,
    OutputOptions,
    EngineOptions,
    defaults=RUN_DEFAULTS,
    # `run` offers only the backtest's horizon; `basketlens backtest` has every backtest flag
    exclude=tuple(
        f"backtest.{spec.name}" for spec in BacktestOptions.specs() if spec.name != "holdout_months"
    ),
    rename={"backtest.holdout_months": ("--backtest-months",)},
)
@handle_errors
def run_command(
    ctx: typer.Context,
    sales: SalesArg = None,
    config: ConfigOpt = None,
    column_map: MapOpt = None,
    *,
    flags: Flags,
) -> None:
    """Run the pipeline on your ledger: clean, build features, segment, mine rules, recommend,
    report. With --backtest-months N it also backtests the recommendations on the last N
    months and the report shows it.

    Example: basketlens run erp/sales.csv --items erp/items.csv --out erp-out/
    """
    cfg = build_config(config, sales, column_map, flags)  # refused here before any work

    from basketlens.pipeline import run_pipeline

    print_summary(run_pipeline(cfg, progress=RichProgress()))


@stage_flags(SegmentOptions, MiningOptions, RecommendOptions, ReportOptions, defaults=RUN_DEFAULTS)
@handle_errors
def demo_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created).")] = Path(
        "demo-out"
    ),
    n_customers: Annotated[
        int, typer.Option("--customers", help="Customers in the demo ledger.")
    ] = 600,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the generator.")] = 0,
    *,
    flags: Flags,
) -> None:
    """Generate the built-in demo ledger (a food distributor) and run the pipeline on it.

    Example: basketlens demo --out demo-out
    """
    from basketlens.pipeline import run_pipeline
    from basketlens.synth import generate_ledger

    cfg = RunConfig().override(flags.values, skip_none=False, output={"out": str(out)})
    if cfg.report.currency is None:  # the demo distributor's list prices are in euros
        cfg = cfg.override(report={"currency": "EUR"})
    ledger = generate_ledger(n_customers=n_customers, seed=seed)
    paths = ledger.write(out / "data", format="csv", truth=True)
    err_console.print(
        f"demo ledger written to {out / 'data'} ({ledger.sales.height:,} sales lines; "
        "planted personas in truth/)"
    )
    cfg = cfg.override(input={role: str(paths[role]) for role in ("sales", "items", "customers")})
    print_summary(run_pipeline(cfg, progress=RichProgress()))


@stage_flags(SynthOptions)
@handle_errors
def synth_command(
    ctx: typer.Context,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for sales/items/customers files and truth/."),
    ],
    file_format: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "parquet",
    *,
    flags: Flags,
) -> None:
    """Write a synthetic ledger of any size, with its planted truth under truth/ (for trials,
    the segmentation benchmark and scale benchmarks).

    Example: basketlens synth --lines 1000000 --customers 20000 --out big/
    Example: basketlens synth --personas 3 --differ mix --overlap 0.3 --out family/
    """
    from basketlens._validation import check_option
    from basketlens.synth import generate_ledger

    check_option("--format", file_format, ("csv", "parquet"))
    options = SynthOptions().updated(flags.section("synth")).validate()
    ledger = generate_ledger(**options.as_dict())
    paths = ledger.write(out, format=file_format, truth=True)  # type: ignore[arg-type]
    for role, path in paths.items():
        err_console.print(f"{role:<10} {path}")
    err_console.print(
        f"{ledger.sales.height:,} sales lines, {ledger.customers.height:,} customers, "
        f"{options.n_personas} planted persona(s)"
    )


__all__ = ["ANALYSIS_SECTIONS", "build_config", "demo_command", "run_command", "synth_command"]
