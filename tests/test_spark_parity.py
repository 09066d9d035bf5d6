"""The Spark engine on ``local[2]`` writes the local engine's run folder: every table of
``runfolder.layout.TABLES`` (the cleaning account, items, customers and segments, the rules
of every scope and level with their itemsets and counts, item support, families, the call
list, the recommender's recommendations and model, the backtest) and the run record's counts.

The tables are compared exactly — the two engines compute every number with the same code,
adding the same values in the same order — except the item table's net sales (the local
stage sums them with Polars' streaming engine, whose last bits vary from run to run).

Runs on the demo ledger (Parquet with item and customer tables through the CLI, with a
backtest; CSV with customer-day baskets and every scope mined by partition-then-count; the
``backtest`` command with rolling origins) and on Online Retail (skipped without
``../shared/data``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

pytest.importorskip("pyspark")

import basketlens
from basketlens.api import load_run
from basketlens.cli import app
from basketlens.config import RunConfig
from basketlens.pipeline import analyse_ledger, run_backtest
from basketlens.runfolder import Analysis
from basketlens.runfolder.layout import MODEL_DIR, TABLES
from basketlens.spark import EngineOptions, spark_session
from basketlens.spark.clean import BASKET_LOCAL_RULES
from basketlens.synth import generate_ledger

MASTER = "local[2]"
CONF = ["spark.sql.shuffle.partitions=4"]
SPARK = {"engine": "spark", "spark_master": MASTER, "spark_conf": CONF}
SPARK_FLAGS = ["--engine", "spark", "--spark-master", MASTER, "--spark-conf", CONF[0]]


@pytest.fixture(scope="module", autouse=True)
def spark() -> Iterator[Any]:
    yield spark_session(EngineOptions(**SPARK))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    ledger = generate_ledger(n_customers=300, seed=3)
    folder = tmp_path_factory.mktemp("demo")
    paths = ledger.write(folder / "parquet", format="parquet")
    csv = ledger.write(folder / "csv", format="csv")
    return {**paths, "sales_csv": csv["sales"]}


def _config(inputs: dict[str, Any], engine: dict[str, Any] | None, **sections: Any) -> RunConfig:
    data: dict[str, Any] = {"input": inputs, **sections}
    if engine is not None:
        data["engine"] = engine
    return RunConfig.from_mapping(data)


def assert_same_tables(local: Analysis, spark: Analysis) -> None:
    """Every table of the run folder, exactly (the items' net sales to 1e-9)."""
    for name in TABLES:
        a, b = getattr(local, name), getattr(spark, name)
        assert (a is None) == (b is None), f"{name}: written by one engine only"
        if a is None:
            continue
        try:
            if name == "items":
                assert_frame_equal(a.drop("net_sales"), b.drop("net_sales"))
                assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9)
            else:
                assert_frame_equal(a, b, check_exact=True)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None
    for part in ("rows", "cleaning", "layout", "column_map", "features"):
        assert spark.info[part] == local.info[part], part
    assert spark.info["segmentation"]["k"] == local.info["segmentation"]["k"]
    assert spark.info["engine"]["name"] == "spark" and local.info["engine"] == {"name": "local"}


def _same_model(local: Path, spark: Path) -> None:
    """The saved model: every Parquet file of ``model/`` the same."""
    files = sorted(p.name for p in (local / MODEL_DIR).glob("*.parquet"))
    assert files == sorted(p.name for p in (spark / MODEL_DIR).glob("*.parquet"))
    assert "recommendations.parquet" in files
    for name in files:
        a = pl.read_parquet(local / MODEL_DIR / name)
        b = pl.read_parquet(spark / MODEL_DIR / name)
        if name == "items.parquet":
            a, b = a.drop("net_sales", strict=False), b.drop("net_sales", strict=False)
        try:
            assert_frame_equal(a, b, check_exact=True)
        except AssertionError as exc:
            raise AssertionError(f"{MODEL_DIR}/{name}: {exc}") from None


def test_every_late_cleaning_rule_is_known_to_be_basket_local() -> None:
    from basketlens.clean.rules import CLEANING_RULES

    late = {name for name, rule in CLEANING_RULES.items() if rule.phase == "late"}
    assert late <= BASKET_LOCAL_RULES, (
        f"late cleaning rules {sorted(late - BASKET_LOCAL_RULES)} need a Spark partitioning"
    )


def test_cli_run_with_a_backtest_writes_the_same_run_folder(
    demo: dict[str, Path], tmp_path: Path
) -> None:
    """``basketlens run --engine spark`` with item and customer tables and a backtest: the
    whole run folder (tables, model, record) is the local engine's."""
    common = [
        str(demo["sales"]),
        "--items",
        str(demo["items"]),
        "--customers",
        str(demo["customers"]),
        "--backtest-months",
        "3",
        "--no-report",
    ]
    runner = CliRunner()
    local_out, spark_out = tmp_path / "local", tmp_path / "spark"
    result = runner.invoke(app, ["run", *common, "--out", str(local_out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["run", *common, *SPARK_FLAGS, "--out", str(spark_out)])
    assert result.exit_code == 0, result.output
    local, spark = load_run(local_out), load_run(spark_out)
    assert_same_tables(local, spark)
    assert spark.backtest is not None and spark.backtest["method"].n_unique() > 5
    assert spark.families is not None and (spark.families["family_size"] > 1).any()
    assert set(spark.rules["level"]) == {"item", "family", "category"}
    _same_model(local_out, spark_out)
    record = json.loads((spark_out / "run.json").read_text())
    assert record["engine"]["name"] == "spark" and record["engine"]["master"] == MASTER
    assert record["parameters"]["engine"]["engine"] == "spark"
    mining = record["mining"]
    assert mining["spark"]["whole_scopes"], "segments are mined whole, one task each"
    assert mining["spark"]["partition_then_count"]["all"], "all baskets: partition-then-count"
    local_mining = json.loads((local_out / "run.json").read_text())["mining"]
    for key in ("pruning", "kinds"):
        counts = {k: v for k, v in mining[key]["all_levels"].items() if "seconds" not in k}
        assert counts == {
            k: v for k, v in local_mining[key]["all_levels"].items() if "seconds" not in k
        }
    search = mining["rules"]["scopes"]["all"]["rules"]["threshold_search"]
    local_search = local_mining["rules"]["scopes"]["all"]["rules"]["threshold_search"]
    assert search["min_count"] == local_search["min_count"]
    assert [p["min_count"] for p in search["probes"]] == [
        p["min_count"] for p in local_search["probes"]
    ]


def test_csv_day_baskets_partition_then_count_everywhere(demo: dict[str, Path]) -> None:
    """CSV dates and numbers parsed as the local reader parses them; baskets by customer and
    day; every segment above scope_max_baskets=1, so partition-then-count in three parts for
    every scope and level; a given min_count and the itemsets table."""
    inputs = {"sales": str(demo["sales_csv"])}
    sections = {
        "mine": {"min_count": 15, "itemsets": True, "max_len": 3},
        "clean": {"basket_by": "customer_day"},
    }
    engine = {**SPARK, "scope_max_baskets": 1, "mining_partitions": 3}
    local = analyse_ledger(None, _config(inputs, None, **sections))
    spark = analyse_ledger(None, _config(inputs, engine, **sections))
    assert_same_tables(local, spark)
    assert spark.info["mining"]["spark"]["whole_scopes"] == []
    passes = spark.info["mining"]["spark"]["partition_then_count"]
    assert set(passes) == set(spark.rules["scope"]) and all(
        p["partitions"] == 3 for scope in passes.values() for p in scope
    )
    assert spark.itemsets is not None and spark.itemsets["scope"].n_unique() == len(passes)


def test_cli_backtest_with_rolling_origins(demo: dict[str, Path], tmp_path: Path) -> None:
    """``basketlens backtest --engine spark`` at two origins writes the local measures, every
    recommendation made and the calibration."""
    options = {"holdout_months": 3, "rolling": 2, "step_months": 2}
    local = run_backtest(_config({"sales": str(demo["sales"])}, None, backtest=options))
    args = ["backtest", str(demo["sales"]), "--holdout-months", "3", "--rolling", "2"]
    args += ["--step-months", "2", *SPARK_FLAGS, "--out", str(tmp_path / "bt")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(local.splits) == 2
    for key, table in (
        ("backtest", local.table),
        ("backtest_recommendations", local.recommendations),
        ("backtest_calibration", local.calibration),
    ):
        written = pl.read_parquet(tmp_path / "bt" / TABLES[key].file)
        assert_frame_equal(written, table, check_exact=True)


def test_analyse_data_frames_on_spark(demo: dict[str, Path]) -> None:
    """``basketlens.analyse(frames, engine="spark")``: a ledger loaded in this process is
    shipped to the cluster and analysed there like a file."""
    sales = pl.read_parquet(demo["sales"])
    items = pl.read_parquet(demo["items"])
    local = basketlens.analyse(sales, items=items)
    spark = basketlens.analyse(sales, items=items, engine="spark", spark_master=MASTER)
    assert_same_tables(local, spark)


def test_online_retail_is_identical(shared_path: Callable[..., Path]) -> None:
    path = shared_path("online_retail", "online_retail.parquet")
    local = analyse_ledger(None, _config({"sales": str(path)}, None))
    spark = analyse_ledger(None, _config({"sales": str(path)}, SPARK))
    assert_same_tables(local, spark)
    assert spark.rules is not None and spark.rules.filter(pl.col("scope") == "all").height > 0
    assert spark.opportunities is not None and spark.opportunities.height > 0
