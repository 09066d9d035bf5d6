"""Recommendations, reasons, the saved model and the ``recommend`` command."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from basketlens.cli import app
from basketlens.errors import ModelError, NotFittedError, ParameterError
from basketlens.opportunities import RULE_RECOMMENDATIONS_SCHEMA, find_opportunities, recommend
from basketlens.opportunities.model import BASKET_SCHEMA, RecommenderModel
from basketlens.opportunities.reasons import rule_reason
from basketlens.runfolder.model_io import load_model, save_model

NAMES = {"brie": "Brie", "bag": "Baguette", "wine": "Red wine", "jam": "Jam", "tea": "Tea"}


def _lines() -> pl.DataFrame:
    rows = [  # customer, item, day, net_sales
        ("s1", "brie", 1, 10.0),
        ("s1", "bag", 1, 4.0),
        ("s1", "wine", 2, 20.0),
        ("s2", "brie", 1, 10.0),
        ("s2", "jam", 3, 3.0),
        ("s3", "brie", 2, 10.0),
        ("g1", "brie", 1, 10.0),
        ("g1", "bag", 1, 2.0),
        ("g2", "brie", 4, 10.0),
        ("g2", "tea", 5, 5.0),
    ]
    return pl.DataFrame(
        {
            "unit": [r[0] for r in rows],
            "item": [r[1] for r in rows],
            "item_name": [NAMES[r[1]] for r in rows],
            "basket": [f"{r[0]}-{r[2]}" for r in rows],
            "date": [datetime(2024, 1, r[2]) for r in rows],
            "quantity": [1.0] * len(rows),
            "net_sales": [r[3] for r in rows],
        }
    )


ITEMS = pl.DataFrame({"item": list(NAMES), "item_name": list(NAMES.values())})

CUSTOMERS = pl.DataFrame(
    {
        "customer_id": ["s1", "s2", "s3", "g1", "g2"],
        "customer_name": ["Shop One", "Shop Two", "Shop Three", "Grocer One", "Grocer Two"],
        "segment": [0, 0, 0, 1, 1],
        "segment_name": ["Premium boutiques"] * 3 + ["Grocers"] * 2,
    },
    schema_overrides={"segment": pl.Int32},
)

RULES = pl.DataFrame(
    {
        "rule_id": ["0-r1", "0-r2", "all-r1", "all-r2", "all-r3", "all-r4"],
        "scope": ["0", "0", "all", "all", "all", "all"],
        "antecedent": [["brie"], ["brie", "jam"], ["brie"], ["brie"], [], ["bag"]],
        "consequent": [["bag"], ["wine"], ["bag"], ["wine"], ["tea"], ["brie"]],
        "support": [0.3, 0.1, 0.2, 0.1, 0.1, 0.2],
        "confidence": [0.75, 0.5, 0.4, 0.25, 0.1, 1.0],
        "lift": [3.125, 2.0, 1.6, 1.25, 1.0, 1.2],
    }
)


@pytest.fixture
def opp():
    return find_opportunities(_lines(), RULES, CUSTOMERS, items=ITEMS)


def test_segment_rules_come_first_and_global_rules_fill_in(opp) -> None:
    recs = recommend(opp, top_n=5)
    assert recs.schema == RULE_RECOMMENDATIONS_SCHEMA
    got = recs.select("customer_id", "rank", "item", "score", "source", "rule_ids").rows()
    assert got == [
        ("g1", 1, "wine", 0.25, "all", ["all-r2"]),
        ("g1", 2, "tea", 0.1, "all", ["all-r3"]),
        ("g2", 1, "bag", 0.4, "all", ["all-r1"]),
        ("g2", 2, "wine", 0.25, "all", ["all-r2"]),
        ("s1", 1, "tea", 0.1, "all", ["all-r3"]),
        # s2: bag and wine are backed by segment rules and global ones: the segment wins
        ("s2", 1, "bag", 0.75, "segment", ["0-r1"]),
        ("s2", 2, "wine", 0.5, "segment", ["0-r2"]),
        ("s2", 3, "tea", 0.1, "all", ["all-r3"]),
        # s3: a global rule with a higher score (none here) would still come after the segment
        ("s3", 1, "bag", 0.75, "segment", ["0-r1"]),
        ("s3", 2, "wine", 0.25, "all", ["all-r2"]),
        ("s3", 3, "tea", 0.1, "all", ["all-r3"]),
    ]
    assert recs.select("customer_name", "segment_name").row(0) == ("Grocer One", "Grocers")


def test_top_n_and_source_filters(opp) -> None:
    assert recommend(opp, top_n=1).group_by("customer_id").len()["len"].max() == 1
    only_segment = recommend(opp, source="segment")
    assert set(only_segment["source"].to_list()) == {"segment"}
    assert set(only_segment["customer_id"].to_list()) == {"s2", "s3"}
    only_all = recommend(opp, source="all")
    s2 = only_all.filter(pl.col("customer_id") == "s2")
    assert s2.select("item", "score").rows() == [("bag", 0.4), ("wine", 0.25), ("tea", 0.1)]
    with pytest.raises(ParameterError, match="top_n must be in"):
        recommend(opp, top_n=0)
    with pytest.raises(ParameterError, match="source must be one of"):
        recommend(opp, source="both")  # type: ignore[arg-type]


def test_several_rules_for_one_item_score_the_strongest() -> None:
    rules = RULES.filter(pl.col("scope") == "all").with_columns(
        rule_id=pl.Series(["all-r1", "all-r2", "all-r3", "all-r4"]),
    )
    extra = pl.DataFrame(
        {
            "rule_id": ["all-r9"],
            "scope": ["all"],
            "antecedent": [["jam"]],
            "consequent": [["bag"]],
            "support": [0.1],
            "confidence": [0.6],
            "lift": [2.4],
        }
    )
    opp = find_opportunities(_lines(), pl.concat([rules, extra]), CUSTOMERS, items=ITEMS)
    s2 = recommend(opp).filter(pl.col("customer_id") == "s2").row(0, named=True)
    assert (s2["item"], s2["score"], s2["rule_ids"]) == ("bag", 0.6, ["all-r9", "all-r1"])
    assert s2["reason"] == (
        "In 60% of all orders that contain Jam, Baguette is bought too — 2.4× its usual rate;"
        " this customer buys Jam and has never bought Baguette. 1 more rule points to Baguette."
    )


def test_reasons_quote_the_rule_numbers(opp) -> None:
    recs = recommend(opp)
    reason = dict(
        ((c, i), r) for c, i, r in recs.select("customer_id", "item", "reason").iter_rows()
    )
    assert reason[("s3", "bag")] == (
        "In 75% of the 'Premium boutiques' orders that contain Brie, Baguette is bought too —"
        " 3.1× its usual rate; this customer buys Brie and has never bought Baguette."
    )
    assert reason[("s2", "wine")] == (
        "In 50% of the 'Premium boutiques' orders that contain Brie and Jam, Red wine is bought"
        " too — 2.0× its usual rate; this customer buys Brie and Jam and has never bought"
        " Red wine."
    )
    assert reason[("g2", "bag")].startswith("In 40% of all orders that contain Brie, Baguette")
    assert reason[("s1", "tea")] == (
        "10% of all orders contain Tea; this customer has never bought Tea."
    )


def test_reason_wording_variants() -> None:
    text = rule_reason(
        scope_label=None,
        antecedent=["A"],
        consequent=["B", "C"],
        confidence=0.004,
        lift=float("nan"),
        item="C",
        subject="basket",
        more_rules=2,
    )
    assert text == (
        "In 0.4% of all orders that contain A, B and C are bought too; the basket"
        " has A but not C. 2 more rules point to C."
    )


def test_expected_value_is_score_times_scope_value(opp) -> None:
    recs = recommend(opp)
    s3 = recs.filter((pl.col("customer_id") == "s3") & (pl.col("item") == "bag")).row(0, named=True)
    # segment 0 baguette buyers: s1 only (4.0 over one observed month)
    assert s3["expected_value"] == pytest.approx(0.75 * 4.0)
    g2 = recs.filter((pl.col("customer_id") == "g2") & (pl.col("item") == "bag")).row(0, named=True)
    # all-scope baguette buyers: s1 4.0, g1 2.0 -> median 3.0
    assert g2["expected_value"] == pytest.approx(0.4 * 3.0)


# ---------------------------------------------------------------------- model
@pytest.fixture
def model(opp, tmp_path: Path) -> Path:
    from basketlens.segment import CustomerSegmenter

    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 1, 10), rng.normal(50, 1, 10)]
    table = pl.DataFrame(
        {"customer_id": [str(i) for i in range(20)], "x": x, "total_net_sales": x + 100}
    )
    seg = CustomerSegmenter(features=["x"], k=2, cap_quantile=None, n_init=2).fit(table)
    save_model(tmp_path / "out", RecommenderModel.from_opportunities(opp, RULES, segmenter=seg))
    return tmp_path / "out"


def test_model_round_trip_answers_like_the_batch(opp, model: Path) -> None:
    loaded = load_model(model)
    assert load_model(model / "model").rules.equals(loaded.rules)
    batch = recommend(opp)
    for customer in ("s1", "s2", "s3", "g1", "g2"):
        one = loaded.recommend_customer(customer, top=5)
        assert one.equals(batch.filter(pl.col("customer_id") == customer)), customer
    assert loaded.recommend_customer("s2", top=1)["item"].to_list() == ["bag"]
    placed = loaded.place(
        pl.DataFrame(
            {"customer_id": ["n1", "n2"], "x": [0.1, 49.0], "total_net_sales": [100.0, 149.0]}
        )
    )
    assert placed.tolist() == [1, 0]  # segment 0 = the higher revenue


def test_complete_basket_like_fpgrowth_transform(model: Path) -> None:
    m = load_model(model)
    got = m.complete_basket(["brie"], top=5)
    assert got.schema == BASKET_SCHEMA
    assert got.select("item", "score", "rule_ids").rows() == [
        ("bag", 0.4, ["all-r1"]),
        ("wine", 0.25, ["all-r2"]),
        ("tea", 0.1, ["all-r3"]),
    ]
    seg = m.complete_basket(["Brie", "jam"], top=2, segment=0)  # names work too
    assert seg.select("item", "source").rows() == [("bag", "segment"), ("wine", "segment")]
    assert seg["reason"][0] == (
        "In 75% of the 'Premium boutiques' orders that contain Brie, Baguette is bought too —"
        " 3.1× its usual rate; the basket has Brie but not Baguette."
    )
    assert m.complete_basket(["brie", "bag", "wine", "tea"])["item"].to_list() == []


def test_unknown_customer_and_item_get_a_clear_message(model: Path) -> None:
    m = load_model(model)
    with pytest.raises(
        ParameterError,
        match=r"customer 's11' is not in the model \(5 customers\);"
        r" did you mean 's1'",
    ):
        m.recommend_customer("s11")
    with pytest.raises(ParameterError, match=r"item 'Baguete' is not in the model .*'Baguette'"):
        m.complete_basket(["Baguete"])
    with pytest.raises(ParameterError, match="segment 5 has no rules"):
        m.complete_basket(["brie"], segment=5)


def test_bad_model_folders_raise_model_error(model: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no basketlens model in"):
        load_model(tmp_path / "nowhere")
    meta = model / "model" / "model.json"
    info = json.loads(meta.read_text())
    meta.write_text(json.dumps({**info, "format_version": 99}))
    with pytest.raises(ModelError, match="format version 99"):
        load_model(model)
    meta.write_text(json.dumps(info))
    (model / "model" / "rules.parquet").unlink()
    with pytest.raises(ModelError, match=r"rules\.parquet is missing or unreadable"):
        load_model(model)


def test_model_without_segmenter_refuses_place(opp, tmp_path: Path) -> None:
    save_model(tmp_path, RecommenderModel.from_opportunities(opp, RULES))
    with pytest.raises(ModelError, match="no fitted segmenter"):
        load_model(tmp_path).place(pl.DataFrame({"x": [1.0]}))
    assert issubclass(NotFittedError, Exception)


# ---------------------------------------------------------------------- CLI
def test_recommend_cli(model: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "recommend",
            str(model),
            "--customer",
            "s2",
            "--top",
            "2",
            "--out",
            str(tmp_path / "s2.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Baguette" in res.output and "Red wine" in res.output and "Tea" not in res.output
    written = pl.read_csv(tmp_path / "s2.csv")
    assert written["item"].to_list() == ["bag", "wine"]
    assert written["rule_ids"].to_list() == ["0-r1", "0-r2"]
    res = runner.invoke(app, ["recommend", str(model), "--basket", "brie, jam"])
    assert res.exit_code == 0, res.output
    assert "Baguette" in res.output


def test_recommend_cli_errors(model: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["recommend", str(model), "--customer", "zz9"])
    assert res.exit_code == 1
    assert "customer 'zz9' is not in the model" in res.output
    res = runner.invoke(app, ["recommend", str(model)])
    assert res.exit_code == 1 and "exactly one of --customer" in res.output
    res = runner.invoke(app, ["recommend", str(model.parent / "missing"), "--basket", "x"])
    assert res.exit_code == 1 and "no basketlens model" in res.output


def test_recommend_command_is_documented() -> None:
    from basketlens.cli.backtest import backtest_command
    from basketlens.cli.recommend import recommend_command

    for command in (recommend_command, backtest_command):
        assert "Example:" in (command.__doc__ or "")


def test_demo_reasons_and_scores_match_the_rules_behind_them(tmp_path: Path) -> None:
    """On the demo ledger, every recommendation quotes and scores its strongest rule."""
    from basketlens.clean import clean_ledger
    from basketlens.config import RunConfig
    from basketlens.ingest import load_ledger
    from basketlens.opportunities.reasons import percent
    from basketlens.pipeline import fit_stages
    from basketlens.synth import generate_ledger

    demo = generate_ledger(n_customers=120, n_lines=6_000, seed=2)
    paths = demo.write(tmp_path, format="parquet")
    ledger = load_ledger(paths["sales"], items=paths["items"], customers=paths["customers"])
    cleaned = clean_ledger(ledger)
    lines = cleaned.lines
    config = RunConfig().override(segment={"k": 3, "n_init": 2})
    fitted = fit_stages(lines, cleaned.items, config, opportunities=False)
    assert fitted.mining is not None and fitted.mining.rules.table.height > 0
    mined = fitted.mining.rules.table
    opp = find_opportunities(lines, mined, fitted.customers, items=cleaned.items)
    recs = recommend(opp, top_n=5)
    assert recs.height > 0
    rules = {r["rule_id"]: r for r in mined.iter_rows(named=True)}
    pairs = set(opp.table.select("customer_id", "rule_id").iter_rows())
    for rec in recs.iter_rows(named=True):
        best = rules[rec["rule_ids"][0]]
        assert rec["score"] == best["confidence"]
        assert all(rules[r]["confidence"] <= rec["score"] for r in rec["rule_ids"])
        assert all((rec["customer_id"], r) in pairs for r in rec["rule_ids"])
        assert all(rec["item"] in rules[r]["consequent"] for r in rec["rule_ids"])
        assert f"{percent(best['confidence'])} of " in rec["reason"]
        if best["antecedent"]:
            assert f"{best['lift']:.1f}× " in rec["reason"]
        label = "all orders" if rec["source"] == "all" else f"the '{rec['segment_name']}' orders"
        assert label in rec["reason"]
        assert rec["reason"].endswith(f"has never bought {rec['item_name']}.") or (
            "more rule" in rec["reason"]
        )


def test_stage_entry_point_bundles_what_the_pipeline_writes(tmp_path: Path) -> None:
    from basketlens.opportunities import run_opportunities
    from basketlens.opportunities.options import RecommendOptions

    stage = run_opportunities(
        _lines(), RULES, CUSTOMERS, items=ITEMS, options=RecommendOptions(top_n=2)
    )
    assert stage.recommendations.equals(
        recommend(find_opportunities(_lines(), RULES, CUSTOMERS, items=ITEMS), top_n=2)
    )
    counted = stage.with_rule_counts(RULES)
    assert counted["opportunity_customers"].to_list() == [2, 1, 3, 4, 4, 0]
    summary = stage.summary()
    # 14 rule × customer matches, 11 calls: s2-bag, s2-wine and s3-bag each have two rules
    assert summary["opportunities"] == 11 and summary["rules_with_opportunities"] == 5
    assert summary["recommendations_by_source"] == {"all": 6, "segment": 3}
    save_model(tmp_path, stage.model)
    assert (
        load_model(tmp_path)
        .recommend_customer("s2", top=2)
        .equals(stage.recommendations.filter(pl.col("customer_id") == "s2"))
    )


# ---------------------------------------------------------------------- the ranked model
@pytest.fixture
def ranked_model(opp, tmp_path: Path) -> Path:
    from basketlens.opportunities.options import RecommendOptions as Options
    from basketlens.recommender import run_recommender

    rec = run_recommender(_lines(), CUSTOMERS, items=ITEMS, rules=RULES,
                          options=Options(top_n=2, min_buyers=1), currency="GBP")  # fmt: skip
    model = rec.model(RecommenderModel.from_opportunities(opp, RULES))
    save_model(tmp_path, model)
    rec.recommendations.write_parquet(tmp_path / "batch.parquet")
    return tmp_path


def test_saved_model_answers_with_the_batch_rows_reading_only_them(ranked_model, monkeypatch):
    from basketlens.runfolder import model_io

    batch = pl.read_parquet(ranked_model / "batch.parquet")
    read: list[str] = []
    real = model_io._read

    def spy(file: Path, predicate=None):
        read.append(file.name)
        return real(file, predicate)

    monkeypatch.setattr(model_io, "_read", spy)
    model = load_model(ranked_model)
    answer = model.recommend_customer("s2", top=2)
    assert read == ["recommendations.parquet"]  # one customer's rows, nothing else
    assert answer.equals(batch.filter(pl.col("customer_id") == "s2"))
    assert set(answer["currency"].to_list()) == {"GBP"}
    assert model.depth == 10 and model.recommender["currency"] == "GBP"
    with pytest.raises(ParameterError, match="top must be at most 10: the model keeps 10"):
        model.recommend_customer("s2", top=11)
    with pytest.raises(ParameterError, match=r"customer 's22' is not in the model .*'s2'"):
        model.recommend_customer("s22")
    # basket completion still answers from the rules
    assert model.complete_basket(["brie"], top=1)["item"].to_list() == ["bag"]


def test_recommend_cli_shows_chance_money_and_reason(ranked_model) -> None:
    res = CliRunner().invoke(
        app, ["recommend", str(ranked_model), "--customer", "s3", "--top", "2"],
        env={"COLUMNS": "250"},
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    batch = pl.read_parquet(ranked_model / "batch.parquet").filter(pl.col("customer_id") == "s3")
    assert "chance of buying within the next 3 months; amounts in GBP" in res.output
    for r in batch.iter_rows(named=True):
        assert r["item_name"] in res.output
        assert f"{r['probability']:.0%}" in res.output
        assert r["value_text"].split(" (")[0] in res.output
        assert r["value_text"].startswith("≈ ") and " GBP over the next 3 months" in r["value_text"]
