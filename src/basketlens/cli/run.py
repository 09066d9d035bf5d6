"""``basketlens run``, ``demo`` and ``synth``: parse options, build a RunConfig, call the pipeline.

Example:
    $ basketlens run sales.csv --items items.csv --customers customers.csv --out out/ \\
        --map invoice=SalesDocumentNumber --map date=Date_CD --k 4
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from basketlens.cli.console import (
    RichProgress,
    err_console,
    handle_errors,
    parse_pairs,
    print_summary,
)

_FILE = "Input"
_CLEAN = "Cleaning"
_SEG = "Segmentation"
_MINE = "Rule mining"

OutOpt = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Output folder (created). Example: --out out/"),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="basketlens.toml with the same settings; flags override it.",
        rich_help_panel=_FILE,
    ),
]
KOpt = Annotated[
    int | None,
    typer.Option(
        "--k",
        help="Number of segments; default: chosen by silhouette in --k-min..--k-max.",
        rich_help_panel=_SEG,
    ),
]
MinSupportOpt = Annotated[
    float | None,
    typer.Option(
        "--min-support",
        help="Minimum share of baskets for an itemset, e.g. 0.01. "
        "Default: found by threshold help (see --target-rules).",
        rich_help_panel=_MINE,
    ),
]
MinConfidenceOpt = Annotated[
    float | None,
    typer.Option(
        "--min-confidence",
        help="Minimum confidence of a rule, e.g. 0.5 (kept when equal).",
        rich_help_panel=_MINE,
    ),
]
MaxLenOpt = Annotated[
    int | None,
    typer.Option(
        "--max-len",
        help="Longest itemset mined (antecedent + consequent), e.g. 4.",
        rich_help_panel=_MINE,
    ),
]
NoReportOpt = Annotated[
    bool,
    typer.Option("--no-report", help="Skip report.html, insights.xlsx, charts and BI tables."),
]
CsvOpt = Annotated[
    bool, typer.Option("--csv", help="Also write the BI tables as CSV beside the Parquet ones.")
]
TargetRulesOpt = Annotated[
    int | None,
    typer.Option(
        "--target-rules",
        help="Without --min-support: aim for about this many rules per scope, e.g. 200.",
        rich_help_panel=_MINE,
    ),
]


ItemsOpt = Annotated[
    Path | None,
    typer.Option("--items", help="Item table joined on the item id.", rich_help_panel=_FILE),
]
CustomersOpt = Annotated[
    Path | None,
    typer.Option(
        "--customers", help="Customer table joined on the customer id.", rich_help_panel=_FILE
    ),
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        "-m",
        help="Map a canonical field to your column, repeatable: "
        "--map invoice=SalesDocumentNumber --map quantity=SalesQuantity. Fields: "
        "invoice, date, customer, customer_name, customer_group, item, item_name, "
        "quantity, unit_price, net_sales, brand, category.",
        rich_help_panel=_FILE,
    ),
]


@handle_errors
def run_command(
    sales: Annotated[
        Path | None,
        typer.Argument(
            help="Sales lines: CSV (any delimiter, .gz ok), Parquet, Excel or JSON lines.",
            show_default=False,
        ),
    ] = None,
    items: ItemsOpt = None,
    customers: CustomersOpt = None,
    out: OutOpt = None,
    column_map: MapOpt = None,
    config: ConfigOpt = None,
    sheet: Annotated[
        str | None,
        typer.Option("--sheet", help="Excel sheet name, e.g. Sales.", rich_help_panel=_FILE),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            "--delimiter",
            help="CSV delimiter; default: sniffed. Example: --delimiter ';'",
            rich_help_panel=_FILE,
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="CSV encoding; default: sniffed. Example: --encoding latin-1",
            rich_help_panel=_FILE,
        ),
    ] = None,
    basket_by: Annotated[
        str | None,
        typer.Option(
            "--basket-by",
            help="Basket = 'invoice' (default) or 'customer_day'.",
            rich_help_panel=_CLEAN,
        ),
    ] = None,
    segment_level: Annotated[
        str | None,
        typer.Option(
            "--segment-level",
            help="Segment 'customer' (default) or 'group' (the customer_group field).",
            rich_help_panel=_CLEAN,
        ),
    ] = None,
    exclude_brand: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude-brand", help="Drop lines of this brand, repeatable.", rich_help_panel=_CLEAN
        ),
    ] = None,
    exclude_category: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude-category",
            help="Drop lines of this category, repeatable.",
            rich_help_panel=_CLEAN,
        ),
    ] = None,
    keep_duplicates: Annotated[
        bool,
        typer.Option(
            "--keep-duplicates", help="Keep exact duplicate lines.", rich_help_panel=_CLEAN
        ),
    ] = False,
    drop_single_item_baskets: Annotated[
        bool,
        typer.Option(
            "--drop-single-item-baskets",
            help="Drop baskets with one distinct item.",
            rich_help_panel=_CLEAN,
        ),
    ] = False,
    k: KOpt = None,
    k_min: Annotated[
        int | None,
        typer.Option("--k-min", help="Smallest k tried (default 2).", rich_help_panel=_SEG),
    ] = None,
    k_max: Annotated[
        int | None,
        typer.Option("--k-max", help="Largest k tried (default 10).", rich_help_panel=_SEG),
    ] = None,
    cap_quantile: Annotated[
        float | None,
        typer.Option(
            "--cap-quantile",
            help="Cap each feature at this quantile (default 0.99).",
            rich_help_panel=_SEG,
        ),
    ] = None,
    log_transform: Annotated[
        bool | None,
        typer.Option(
            "--log-transform/--no-log-transform",
            help="log1p the features before scaling.",
            rich_help_panel=_SEG,
            show_default=False,
        ),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(
            "--features",
            help="Comma-separated feature "
            "subset, e.g. total_quantity,total_net_sales,invoice_count.",
            rich_help_panel=_SEG,
        ),
    ] = None,
    min_support: MinSupportOpt = None,
    min_confidence: MinConfidenceOpt = None,
    max_len: MaxLenOpt = None,
    target_rules: TargetRulesOpt = None,
    no_segment_rules: Annotated[
        bool,
        typer.Option(
            "--no-segment-rules",
            help="Mine all baskets only, not each segment.",
            rich_help_panel=_MINE,
        ),
    ] = False,
    no_rules: Annotated[
        bool, typer.Option("--no-rules", help="Skip rule mining.", rich_help_panel=_MINE)
    ] = False,
    itemsets: Annotated[
        bool,
        typer.Option(
            "--itemsets",
            help="Also write itemsets.parquet (frequent itemsets of every scope).",
            rich_help_panel=_MINE,
        ),
    ] = False,
    no_report: NoReportOpt = False,
    csv: CsvOpt = False,
) -> None:
    """Run the pipeline on your ledger: clean, build features, segment, mine rules.

    Example: basketlens run sales.csv --items items.csv --customers customers.csv --out out/
    """
    from basketlens.config import RunConfig

    cfg = RunConfig.from_toml(config) if config else RunConfig()
    cfg = cfg.override(
        input={
            "sales": _str(sales),
            "items": _str(items),
            "customers": _str(customers),
            "sheet": sheet,
            "delimiter": delimiter,
            "encoding": encoding,
        },
        columns=parse_pairs(column_map, "--map"),
        clean={
            "basket_by": basket_by,
            "segment_level": segment_level,
            "exclude_brands": exclude_brand or None,
            "exclude_categories": exclude_category or None,
            "drop_duplicates": False if keep_duplicates else None,
            "drop_single_item_baskets": True if drop_single_item_baskets else None,
        },
        segment={
            "k": k,
            "k_min": k_min,
            "k_max": k_max,
            "cap_quantile": cap_quantile,
            "log_transform": log_transform,
            "features": tuple(f.strip() for f in features.split(",")) if features else None,
        },
        mine={
            **_mine_overrides(
                min_support, min_confidence, max_len, target_rules, no_segment_rules, no_rules
            ),
            "itemsets": True if itemsets else None,
        },
        **_output_overrides(_str(out), no_report, csv),
    )
    _run(cfg)


@handle_errors
def demo_command(
    out: OutOpt = None,
    n_customers: Annotated[
        int, typer.Option("--customers", help="Customers in the demo ledger.")
    ] = 600,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the generator.")] = 0,
    k: KOpt = None,
    min_support: MinSupportOpt = None,
    min_confidence: MinConfidenceOpt = None,
    max_len: MaxLenOpt = None,
    target_rules: TargetRulesOpt = None,
    no_report: NoReportOpt = False,
    csv: CsvOpt = False,
) -> None:
    """Generate the built-in demo ledger (a food distributor) and run the pipeline on it.

    Example: basketlens demo --out demo-out
    """
    from basketlens.config import RunConfig
    from basketlens.synth import generate_ledger

    out_dir = out or Path("demo-out")
    ledger = generate_ledger(n_customers=n_customers, seed=seed)
    paths = ledger.write(out_dir / "data", format="csv")
    err_console.print(
        f"demo ledger written to {out_dir / 'data'} ({ledger.sales.height:,} sales lines)"
    )
    cfg = RunConfig().override(
        input={
            "sales": str(paths["sales"]),
            "items": str(paths["items"]),
            "customers": str(paths["customers"]),
        },
        segment={"k": k},
        mine=_mine_overrides(min_support, min_confidence, max_len, target_rules, False, False),
        **_output_overrides(str(out_dir), no_report, csv),
    )
    _run(cfg)


@handle_errors
def synth_command(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for sales/items/customers files.")
    ],
    lines: Annotated[
        int | None, typer.Option("--lines", help="About this many sales lines, e.g. 1000000.")
    ] = None,
    n_customers: Annotated[int, typer.Option("--customers", help="Number of customers.")] = 600,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    file_format: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "parquet",
) -> None:
    """Write a synthetic ledger of any size (for trials and scale benchmarks).

    Example: basketlens synth --lines 1000000 --customers 20000 --out big/
    """
    from basketlens._validation import check_option
    from basketlens.synth import generate_ledger

    check_option("--format", file_format, ("csv", "parquet"))
    ledger = generate_ledger(n_customers=n_customers, n_lines=lines, seed=seed)
    paths = ledger.write(out, format=file_format)  # type: ignore[arg-type]
    for role, path in paths.items():
        err_console.print(f"{role:<10} {path}")
    err_console.print(f"{ledger.sales.height:,} sales lines, {ledger.customers.height:,} customers")


def _str(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def _mine_overrides(
    min_support: float | None,
    min_confidence: float | None,
    max_len: int | None,
    target_rules: int | None,
    no_segment_rules: bool,
    no_rules: bool,
) -> dict[str, Any]:
    return {
        "min_support": min_support,
        "min_confidence": min_confidence,
        "max_len": max_len,
        "target_rules": target_rules,
        "per_segment": False if no_segment_rules else None,
        "enabled": False if no_rules else None,
    }


def _output_overrides(out: str | None, no_report: bool, csv: bool) -> dict[str, Any]:
    return {
        "output": {"out": out},
        "report": {"enabled": False if no_report else None, "csv": True if csv else None},
    }


def _run(cfg: Any) -> None:
    from basketlens.pipeline import run_pipeline

    result = run_pipeline(cfg, progress=RichProgress())
    print_summary(result)
