"""BI-ready star tables in ``bi/``: facts and dimensions with keys that join.

Reshapes only (renames, list columns flattened to text, a bridge table for rule items); no
result is recomputed. Layout and columns are documented in ``docs/bi.md``.

* ``dim_segment``   — one row per segment, plus ``segment_key = -1`` for "All customers"
* ``dim_customer``  — one row per customer, ``segment_key`` → dim_segment
* ``dim_item``      — one row per item with its overall basket support
* ``fact_rules``    — one row per rule; ``segment_key`` → dim_segment (−1 = mined on all)
* ``bridge_rule_items`` — rule_id × item_id × role (antecedent/consequent) → dim_item; a
  family or category rule lists every item of its families or categories
* ``fact_opportunities`` — the call list: customer × item to offer, with its lead rule
* ``fact_recommendations`` — customer × recommended item

Example:
    >>> from basketlens.report.bi import BI_TABLES
    >>> BI_TABLES[0]
    'dim_segment'
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from basketlens.runfolder.analysis import Analysis
from basketlens.textsafe.frames import write_csv

log = logging.getLogger(__name__)

BI_TABLES: tuple[str, ...] = (
    "dim_segment",
    "dim_customer",
    "dim_item",
    "fact_rules",
    "bridge_rule_items",
    "fact_opportunities",
    "fact_recommendations",
)
#: ``segment_key`` of the "All customers" scope.
ALL_KEY = -1


def _segment_key(column: str = "scope") -> pl.Expr:
    """Scope text ("all" or a segment id) -> Int32 segment_key (-1 for all)."""
    return (
        pl.when(pl.col(column) == "all")
        .then(pl.lit(ALL_KEY))
        .otherwise(pl.col(column).cast(pl.Int32, strict=False))
        .cast(pl.Int32)
        .alias("segment_key")
    )


def _joined(column: str, alias: str) -> pl.Expr:
    return pl.col(column).list.join(" + ").alias(alias)


def star_tables(bundle: Analysis) -> dict[str, pl.DataFrame]:
    """Build the star tables present in ``bundle`` (facts whose source is absent are left out)."""
    seg = bundle.segments
    dim_segment = pl.concat(
        [
            pl.DataFrame(
                {"segment_key": [ALL_KEY], "segment_name": ["All customers"]},
                schema={"segment_key": pl.Int32, "segment_name": pl.String},
            ),
            seg.select(
                pl.col("segment").cast(pl.Int32).alias("segment_key"),
                "segment_name",
                "customers",
                "customer_share",
                "net_sales",
                "revenue_share",
                *[c for c in seg.columns if c.startswith(("mean__", "median__", "z__"))],
            ),
        ],
        how="diagonal_relaxed",
    ).with_columns(is_segment=pl.col("segment_key") != ALL_KEY)
    cust = bundle.customers
    dim_customer = cust.select(
        "customer_id",
        "customer_name",
        pl.col("segment").cast(pl.Int32).alias("segment_key"),
        "segment_name",
        *[c for c in cust.columns if c not in ("customer_id", "customer_name", "segment",
                                                "segment_name")],
    )  # fmt: skip
    tables = {"dim_segment": dim_segment, "dim_customer": dim_customer}
    if bundle.item_support is not None:
        sup = bundle.item_support
        overall = sup.filter(pl.col("scope") == "all")
        others = sup.filter(~pl.col("item").is_in(overall["item"].implode()))
        tables["dim_item"] = pl.concat(
            [overall, others.unique("item", keep="first", maintain_order=True)]
        ).select(
            pl.col("item").alias("item_id"),
            pl.col("item_name").fill_null(pl.col("item")),
            pl.when(pl.col("scope") == "all").then(pl.col("baskets")).alias("baskets_all"),
            pl.when(pl.col("scope") == "all").then(pl.col("support")).alias("support_all"),
            pl.when(pl.col("scope") == "all").then(pl.col("rank")).alias("rank_all"),
        )
    rules = bundle.rules
    if rules is not None:
        measures = [c for c in rules.columns if c not in (
            "rule_id", "scope", "antecedent", "consequent", "antecedent_names",
            "consequent_names")]  # fmt: skip
        names = "antecedent_names" in rules.columns
        item_level = pl.col("level") == "item" if "level" in rules.columns else pl.lit(True)
        tables["fact_rules"] = rules.select(
            "rule_id",
            _segment_key(),
            "scope",
            _joined("antecedent", "antecedent_ids"),
            _joined("antecedent_names" if names else "antecedent", "antecedent_text"),
            # a family or category rule's right side is a group, not an item of dim_item
            pl.when(item_level).then(pl.col("consequent").list.first()).alias("consequent_item_id"),
            _joined("consequent_names" if names else "consequent", "consequent_text"),
            pl.col("antecedent").list.len().cast(pl.Int32).alias("antecedent_length"),
            *measures,
        )
        tables["bridge_rule_items"] = rule_items(bundle)
    opp = bundle.opportunities
    if opp is not None:
        lists = [c for c, t in opp.schema.items() if isinstance(t, pl.List)]
        tables["fact_opportunities"] = opp.with_columns(
            _segment_key().alias("scope_segment_key"),
            pl.col("segment").cast(pl.Int32).alias("segment_key")
            if "segment" in opp.columns
            else pl.lit(None, pl.Int32).alias("segment_key"),
            *[pl.col(c).list.join(" | " if c == "rule_ids" else " + ") for c in lists],
        ).drop([c for c in ("segment",) if c in opp.columns])
        if "item" in opp.columns:
            tables["fact_opportunities"] = tables["fact_opportunities"].rename({"item": "item_id"})
    rec = bundle.recommendations
    if rec is not None:
        lists = [c for c, t in rec.schema.items() if isinstance(t, pl.List)]
        tables["fact_recommendations"] = rec.with_columns(
            *[pl.col(c).list.join(" | ") for c in lists],
            *(
                [pl.col("segment").cast(pl.Int32).alias("segment_key")]
                if "segment" in rec.columns
                else []
            ),
        ).rename({"item": "item_id"})
    return tables


def rule_items(bundle: Analysis) -> pl.DataFrame:
    """``bridge_rule_items``: rule_id, item_id, role (antecedent/consequent), level and
    ``via`` — the family or category id an item stands in for (null for an item rule).

    A family rule lists every item of its families (``families.parquet``), a category rule
    every item of its categories (``items.parquet``), so ``item_id`` always joins
    ``dim_item``.
    """
    rules = bundle.rules
    assert rules is not None
    level = pl.col("level") if "level" in rules.columns else pl.lit("item")
    sides = pl.concat(
        [
            rules.select("rule_id", level.alias("level"), pl.col(side).alias("via"))
            .explode("via")
            .with_columns(role=pl.lit(side))
            for side in ("antecedent", "consequent")
        ]
    )
    members = [pl.DataFrame(schema={"via": pl.String, "item_id": pl.String})]
    if bundle.families is not None:
        members.append(bundle.families.select(via="family", item_id="item"))
    if "category" in bundle.items.columns:
        members.append(
            bundle.items.drop_nulls("category").select(
                via=pl.lit("category:") + pl.col("category"), item_id=pl.col("item")
            )
        )
    groups = pl.concat(members).unique(maintain_order=True)
    items = sides.filter(pl.col("level") == "item").select(
        "rule_id", item_id="via", role="role", level="level", via=pl.lit(None, pl.String)
    )
    # rows in the rules' order, each group's items in the order listed (the same every run)
    grouped = sides.filter(pl.col("level") != "item").join(
        groups, on="via", how="inner", maintain_order="left_right"
    )
    return pl.concat(
        [items, grouped.select("rule_id", "item_id", "role", "level", "via")], how="vertical"
    )


def write_bi_tables(bundle: Analysis, *, folder: Path, csv: bool = False) -> tuple[Path, ...]:
    """Write the star tables as Parquet (and CSV with ``csv=True``) into ``folder``.

    Example:
        >>> write_bi_tables(load_bundle("out"), folder=Path("out/bi"))  # doctest: +SKIP
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    tables = star_tables(bundle)
    for name in BI_TABLES:
        for suffix in (".parquet", ".csv"):
            if name not in tables:
                (folder / f"{name}{suffix}").unlink(missing_ok=True)
        if name not in tables:
            continue
        table = tables[name]
        path = folder / f"{name}.parquet"
        table.write_parquet(path)
        written.append(path)
        if csv:
            path = folder / f"{name}.csv"
            write_csv(table, path)  # text that looks like a formula is neutralised
            written.append(path)
        else:
            (folder / f"{name}.csv").unlink(missing_ok=True)
    log.info("wrote %d BI tables to %s", len(written), folder)
    return tuple(written)
