"""End to end: the demo ledger and the real Online Retail ledger through the whole pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from basketlens.config import RunConfig
from basketlens.pipeline import STAGES, run_pipeline
from basketlens.schema import CLEANING_SCHEMA, ITEM_SUPPORT_SCHEMA, K_SELECTION_SCHEMA


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory):
    from basketlens.synth import generate_ledger

    root = tmp_path_factory.mktemp("demo")
    ledger = generate_ledger(seed=0)
    paths = ledger.write(root / "data", format="csv")
    cfg = RunConfig().override(
        input={
            "sales": str(paths["sales"]),
            "items": str(paths["items"]),
            "customers": str(paths["customers"]),
        },
        output={"out": str(root / "out")},
    )
    return ledger, run_pipeline(cfg)


def test_demo_segments_recover_the_planted_personas(demo_run) -> None:
    ledger, result = demo_run
    truth = ledger.personas.rename({"SoldToCustomer_CD": "customer_id"})
    joined = result.analysis.customers.join(truth, on="customer_id", how="inner")
    assert joined.height == result.analysis.customers.height
    ari = adjusted_rand_score(joined["persona"].to_list(), joined["segment"].to_list())
    assert ari >= 0.8, f"ARI {ari:.3f} with k={result.analysis.segments.height}"


def test_demo_planted_links_are_cross_sell_rules_of_their_segment(demo_run) -> None:
    from tests.test_planted_rules import missing_planted_rules

    ledger, result = demo_run
    analysis = result.analysis
    assert analysis.rules is not None
    assert missing_planted_rules(ledger, analysis.customers, analysis.rules) == []


def test_demo_outputs_follow_the_contract(demo_run) -> None:
    _, result = demo_run
    out = result.out_dir
    customers = pl.read_parquet(out / "customers.parquet")
    assert customers["customer_id"].dtype == pl.String
    for column in (
        "customer_name",
        "segment",
        "segment_name",
        "pca_1",
        "pca_2",
        "total_quantity",
        "total_net_sales",
        "net_sales_per_unit",
        "invoice_count",
    ):
        assert column in customers.columns
    assert customers["segment"].null_count() == 0
    segments = pl.read_parquet(out / "segments.parquet")
    assert segments.height == result.analysis.segmenter.k_
    assert segments["customers"].sum() == customers.height
    assert pl.read_parquet(out / "k_selection.parquet").schema == K_SELECTION_SCHEMA
    assert pl.read_parquet(out / "item_support.parquet").schema == ITEM_SUPPORT_SCHEMA
    rules = pl.read_parquet(out / "rules.parquet")
    assert rules.height > 0
    assert set(rules["scope"].unique()) >= {"all"}
    assert rules["antecedent"].dtype == pl.List(pl.String)
    assert rules["confidence"].max() <= 1.0


def test_demo_cleaning_account_balances(demo_run) -> None:
    ledger, result = demo_run
    account = pl.read_parquet(result.out_dir / "cleaning.parquet")
    assert account.schema == CLEANING_SCHEMA
    assert account["rows_in"][0] == ledger.sales.height
    assert account["rows_out"][-1] == result.analysis.info["rows"]["lines_kept"]
    assert (account["rows_in"] - account["rows_dropped"] == account["rows_out"]).all()
    assert account["rows_out"].to_list()[:-1] == account["rows_in"].to_list()[1:]
    assert account.filter(pl.col("rule") == "returns")["rows_dropped"][0] > 0


def test_run_json_records_inputs_parameters_and_timings(demo_run) -> None:
    _, result = demo_run
    info = json.loads((result.out_dir / "run.json").read_text(encoding="utf-8"))
    assert {s["role"] for s in info["inputs"]} == {"sales", "items", "customers"}
    assert all(s["fingerprint"].startswith("sha256:") for s in info["inputs"])
    assert info["rows"]["lines_read"] == result.ledger.n_lines
    assert set(info["timings_s"]) >= {"ingest", "clean", "features", "segment", "mine", "total"}
    timed = [stage for stage in info["timings_s"] if stage != "total"]
    assert timed == [stage for stage in STAGES if stage in timed]  # stages ran in order
    assert info["parameters"]["segment"]["k_max"] == 10
    assert info["versions"]["polars"]


def test_reruns_give_identical_segments(demo_run, tmp_path: Path) -> None:
    _, first = demo_run
    second = run_pipeline(
        first.config.override(
            output={"out": str(tmp_path)}, report={"enabled": False}, mine={"enabled": False}
        )
    )
    a = first.analysis.customers.select("customer_id", "segment", "pca_1").sort("customer_id")
    b = second.analysis.customers.select("customer_id", "segment", "pca_1").sort("customer_id")
    assert a["segment"].equals(b["segment"])
    # parallel float sums may differ in the last bits between runs; segments may not
    assert (a["pca_1"] - b["pca_1"]).abs().max() < 1e-9


@pytest.mark.slow
def test_online_retail_end_to_end(tmp_path: Path, shared_path) -> None:
    path = shared_path("online_retail", "online_retail.parquet")
    cfg = RunConfig().override(
        input={"sales": str(path)},
        clean={"drop_duplicates": False, "drop_service_items": False},  # the usual cleaning
        output={"out": str(tmp_path)},
    )
    result = run_pipeline(cfg)
    rows = result.analysis.info["rows"]
    # published figures for the usual cleaning (../shared/data/README.md)
    assert rows["lines_kept"] == 397_884
    assert rows["customers"] == 4_338
    assert rows["baskets"] == 18_532
    assert rows["items"] == 3_665
    assert result.analysis.items.height == 3_665
    assert result.ledger.n_lines == 541_909
    assert result.analysis.customers.height == 4_338
    assert 2 <= result.analysis.segments.height <= 10
    rules = result.analysis.rules
    assert rules.filter(pl.col("scope") == "all").height > 0
    assert rules["scope"].n_unique() > 1, "no segment produced rules"


def test_itemsets_on_request_agree_with_item_support(demo_run, tmp_path: Path) -> None:
    _, first = demo_run
    result = run_pipeline(
        first.config.override(
            output={"out": str(tmp_path)}, report={"enabled": False}, mine={"itemsets": True}
        )
    )
    itemsets = pl.read_parquet(tmp_path / "itemsets.parquet")
    support = pl.read_parquet(tmp_path / "item_support.parquet")
    assert set(itemsets["scope"].unique()) == set(support["scope"].unique())
    singles = itemsets.filter(pl.col("length") == 1).select(
        "scope", pl.col("itemset").list.first().alias("item"), "count"
    )
    joined = singles.join(support, on=["scope", "item"], how="left")
    assert joined["baskets"].null_count() == 0
    assert (joined["count"] == joined["baskets"]).all()
    assert result.analysis.itemsets is not None
    assert result.analysis.itemsets.height == itemsets.height


def test_outputs_include_opportunities_model_and_report(demo_run) -> None:
    _, result = demo_run
    out = result.out_dir
    for name in (
        "opportunities.parquet",
        "recommendations.parquet",
        "report.html",
        "insights.xlsx",
        "model/model.json",
    ):
        assert (out / name).exists(), name
    rules = pl.read_parquet(out / "rules.parquet")
    opportunities = pl.read_parquet(out / "opportunities.parquet")
    # a rule's opportunity_customers: the calls (customer × item) that list it
    listed = opportunities.select(rule_id=pl.col("rule_ids")).explode("rule_id")
    per_rule = listed.group_by("rule_id").len()
    joined = rules.join(per_rule, on="rule_id", how="left").with_columns(pl.col("len").fill_null(0))
    assert (joined["opportunity_customers"] == joined["len"]).all()
    assert opportunities.select("customer_id", "item").is_unique().all()


def test_charts_drawn_during_the_run_are_those_its_folder_gives(demo_run, tmp_path: Path) -> None:
    """The run draws its charts from its earlier stages' tables while the recommender trains;
    rendering the finished folder again must find every PNG up to date (same spec, locale,
    scale), so none is redrawn."""
    import shutil

    from basketlens.report import render_report
    from basketlens.report.charts import CHARTS

    _, result = demo_run
    copy = tmp_path / "copy"
    shutil.copytree(result.out_dir, copy)
    drawn = sorted(p.name for p in (copy / "charts").glob("*.png"))
    assert drawn == sorted(f"{c.slug}.png" for c in CHARTS if c.early)
    again = render_report(copy)
    assert sorted(p.name for p in again.reused) == drawn
    assert sorted(p.name for p in again.charts) == drawn


def test_a_run_failing_after_its_charts_started_stops_the_chart_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    from basketlens import pipeline
    from basketlens.synth import generate_ledger

    paths = generate_ledger(n_customers=120, n_lines=6_000, seed=3).write(tmp_path / "data")
    cfg = RunConfig().override(
        input={"sales": str(paths["sales"]), "items": str(paths["items"])},
        output={"out": str(tmp_path / "out")},
    )
    started: list[object] = []
    start = pipeline.start_charts

    def record(*args: object, **kwargs: object) -> object:
        drawing = start(*args, **kwargs)
        started.append(drawing)
        return drawing

    def fail(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the recommender broke")

    monkeypatch.setattr(pipeline, "start_charts", record)
    monkeypatch.setattr(pipeline, "run_recommender", fail)
    with pytest.raises(RuntimeError, match="the recommender broke"):
        run_pipeline(cfg)
    assert started and started[0] is not None  # the charts had started
    deadline = time.monotonic() + 30
    while any(t.name.startswith("charts-") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "chart workers left running"
        time.sleep(0.05)
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())  # nothing half-made is left in --out
