"""The segment stage through the whole pipeline: run.json, the run-folder tables, the report's
words — on generated ledgers with known personas (demo: clear; one persona: weak)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

import basketlens
from basketlens.report import insights
from basketlens.segment.rfm import CELLS
from basketlens.synth import generate_ledger


def analyse(**synth: object) -> tuple[basketlens.Analysis, pl.DataFrame]:
    led = generate_ledger(**synth)  # type: ignore[arg-type]
    analysis = basketlens.analyse(
        led.sales, items=led.items, customers=led.customers, min_support=0.02
    )
    truth = led.personas.rename({"SoldToCustomer_CD": "customer_id"})
    return analysis, truth


@pytest.fixture(scope="module")
def demo() -> tuple[basketlens.Analysis, pl.DataFrame]:
    return analyse(n_customers=300, seed=2)


def test_demo_personas_are_found_clear_and_recorded(demo, tmp_path: Path) -> None:
    analysis, truth = demo
    seg = analysis.info["segmentation"]
    joined = analysis.customers.join(truth, on="customer_id")
    assert seg["k"] == 4
    assert adjusted_rand_score(joined["persona"], joined["segment"]) >= 0.9
    assert seg["verdict"] == "clear"
    assert seg["k_method"] == "stable_separation"
    assert 0.7 <= seg["stability"] <= 1.0
    assert seg["silhouette"] - seg["null_silhouette"] >= 0.04
    assert {t["feature"] for t in seg["transforms"]} == set(seg["features"])
    assert any(f.startswith("mix__") for f in seg["features"])
    assert [r["cell"] for r in seg["rfm"]] == [
        c for c in CELLS if c in {r["cell"] for r in seg["rfm"]}
    ]
    chosen = analysis.k_selection.filter("chosen").row(0, named=True)
    assert chosen["stability"] == pytest.approx(seg["stability"])
    assert chosen["segment_stability"] >= 0.8
    # the run folder keeps it all
    out = analysis.write(tmp_path / "out")
    record = json.loads((out / "run.json").read_text())["segmentation"]
    assert record["verdict"] == "clear" and record["stability"] == pytest.approx(seg["stability"])
    back = basketlens.load_run(out)
    rfm = back.customers.select("rfm_r", "rfm_f", "rfm_m", "rfm_cell")
    assert rfm.null_count().sum_horizontal().item() == 0
    assert set(back.customers["rfm_cell"]) <= set(CELLS)
    assert back.segments["examples"].list.len().to_list() == [3, 3, 3, 3]
    assert all(len(d.splitlines()) == 2 for d in back.segments["description"])
    assert back.pca_loadings["feature"].to_list() == seg["features"]
    assert back.pca_loadings["weight"].mean() == pytest.approx(1.0)


def test_demo_report_words(demo) -> None:
    analysis, _ = demo
    verdict = insights.verdict_sentence(analysis)
    assert verdict.startswith("The 4 segments are well separated and stable")
    sentences = insights.segment_sentences(analysis)
    assert all("For example: " in s for s in sentences)
    assert any("Buys more" in s for s in sentences)
    table = insights.rfm_table(analysis)
    assert table is not None and table["customers"].sum() == analysis.customers.height


def test_one_persona_ledger_is_weak_and_says_so() -> None:
    analysis, _ = analyse(n_customers=400, personas=1, seed=4)
    seg = analysis.info["segmentation"]
    assert seg["verdict"] == "weak"
    assert "no better separated than in customers without segments" in seg["verdict_reason"]
    words = insights.verdict_sentence(analysis)
    assert "no clear segment structure" in words and "not distinct personas" in words
    assert insights.summary_sentences(analysis)[1] == words
    assert [k.detail for k in insights.key_numbers(analysis) if k.label == "Segments"] == [
        "no clear structure"
    ]
