"""The Spark engine on ``local[2]`` gives the local engine's outputs: the same cleaning account,
item table and features, the same k and segments, the same rules over all baskets and per
segment (itemsets and counts), the same opportunities and recommendations, the same backtest.

Runs on the demo ledger (CSV and Parquet, with item and customer tables) and on Online Retail
(skipped when ``../shared/data`` is absent). Whole-scope and partition-then-count mining are
both exercised (``scope_max_baskets=1`` sends every segment to partition-then-count).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

pytest.importorskip("pyspark")

from basketlens.cli import app
from basketlens.config import RunConfig
from basketlens.pipeline import analyse_ledger, run_backtest
from basketlens.runfolder import Analysis
from basketlens.spark import EngineOptions, spark_session
from basketlens.spark.clean import BASKET_LOCAL_RULES
from basketlens.synth import generate_ledger

SPARK = {
    "engine": "spark",
    "spark_master": "local[2]",
    "spark_conf": ["spark.sql.shuffle.partitions=4"],
}
TABLES = (
    "cleaning",
    "items",
    "customers",
    "segments",
    "k_selection",
    "pca_loadings",
    "rules",
    "item_support",
    "itemsets",
    "opportunities",
    "recommendations",
)


@pytest.fixture(scope="module", autouse=True)
def spark() -> Iterator[Any]:
    session = spark_session(EngineOptions(**SPARK))
    yield session


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    ledger = generate_ledger(n_customers=300, seed=3)
    folder = tmp_path_factory.mktemp("demo")
    paths = ledger.write(folder / "parquet", format="parquet")
    csv = ledger.write(folder / "csv", format="csv")
    return {**paths, "sales_csv": csv["sales"]}


def _config(
    inputs: dict[str, Any], engine: dict[str, Any] | None = None, **sections: Any
) -> RunConfig:
    data: dict[str, Any] = {"input": inputs, **sections}
    if engine is not None:
        data["engine"] = engine
    return RunConfig.from_mapping(data)


def _same(local: Analysis, spark: Analysis, tables: tuple[str, ...] = TABLES) -> None:
    for name in tables:
        a, b = getattr(local, name), getattr(spark, name)
        if a is None:
            assert b is None, name
            continue
        try:
            assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


def _runs(
    inputs: dict[str, Any], engine: dict[str, Any] = SPARK, **sections: Any
) -> tuple[Analysis, Analysis]:
    local = analyse_ledger(None, _config(inputs, **sections))
    spark = analyse_ledger(None, _config(inputs, engine, **sections))
    return local, spark


def test_every_late_cleaning_rule_is_known_to_be_basket_local() -> None:
    from basketlens.clean.rules import CLEANING_RULES

    late = {name for name, rule in CLEANING_RULES.items() if rule.phase == "late"}
    assert late <= BASKET_LOCAL_RULES, (
        f"late cleaning rules {sorted(late - BASKET_LOCAL_RULES)} need a Spark partitioning"
    )


def test_demo_with_side_tables_is_identical(demo: dict[str, Path]) -> None:
    inputs = {
        "sales": str(demo["sales"]),
        "items": str(demo["items"]),
        "customers": str(demo["customers"]),
    }
    local, spark = _runs(inputs)
    _same(local, spark)
    assert spark.info["engine"]["name"] == "spark" and local.info["engine"] == {"name": "local"}
    assert spark.info["rows"] == local.info["rows"]
    assert (
        spark.info["mining"]["rules"]["scopes"]["all"]["rules"]["threshold_search"]["min_count"]
        == (
            local.info["mining"]["rules"]["scopes"]["all"]["rules"]["threshold_search"]["min_count"]
        )
    )
    seg_a, seg_b = local.customers["segment"], spark.customers["segment"]
    assert spark.segmenter.k_ == local.segmenter.k_
    assert adjusted_rand_score(seg_a.to_numpy(), seg_b.to_numpy()) >= 0.95


def test_partition_then_count_per_segment_and_itemsets(demo: dict[str, Path]) -> None:
    """Every segment above scope_max_baskets=1: partition-then-count everywhere, 3 partitions,
    a given min_count (no search), day baskets, and the itemsets table."""
    inputs = {"sales": str(demo["sales"])}
    engine = {**SPARK, "scope_max_baskets": 1, "mining_partitions": 3}
    local, spark = _runs(
        inputs,
        engine,
        mine={"min_count": 15, "itemsets": True, "max_len": 3, "min_lift": 1.0},
        clean={"basket_by": "customer_day"},
    )
    _same(local, spark)
    assert spark.info["mining"]["rules"]["engine"]["whole_scopes"] == []
    assert spark.itemsets is not None and spark.itemsets.height > 0


def test_csv_ingest_parses_dates_as_the_local_reader(demo: dict[str, Path]) -> None:
    inputs = {"sales": str(demo["sales_csv"])}
    local, spark = _runs(inputs, mine={"enabled": False})
    _same(local, spark, ("cleaning", "items", "customers", "segments"))


def test_backtest_is_identical(demo: dict[str, Path]) -> None:
    inputs = {"sales": str(demo["sales"])}
    local = run_backtest(_config(inputs, backtest={"holdout_months": 3}))
    spark = run_backtest(_config(inputs, SPARK, backtest={"holdout_months": 3}))
    assert local.split == spark.split
    assert_frame_equal(local.table, spark.table)
    assert_frame_equal(local.recommendations, spark.recommendations)


def test_cli_run_on_spark_writes_the_run_folder(demo: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["run", str(demo["sales"]), "--engine", "spark", "--spark-master", "local[2]"]
    result = CliRunner().invoke(app, [*args, "--no-report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    assert record["engine"]["name"] == "spark"
    assert record["parameters"]["engine"]["engine"] == "spark"
    assert (out / "rules.parquet").exists() and (out / "opportunities.parquet").exists()


def test_online_retail_is_identical(shared_path: Callable[..., Path]) -> None:
    path = shared_path("online_retail", "online_retail.parquet")
    local, spark = _runs({"sales": str(path)})
    _same(local, spark)
    assert spark.segmenter.k_ == local.segmenter.k_
    ari = adjusted_rand_score(local.customers["segment"], spark.customers["segment"])
    assert ari >= 0.95
    all_rules = spark.rules.filter(pl.col("scope") == "all")
    assert all_rules.height > 0
