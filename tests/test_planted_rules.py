"""Planted truth stays found: every affinity planted in a persona of a generated ledger is a
cross-sell rule of the segment those customers form, at the default settings of ``run`` —
whatever pruning, significance and the customer count remove."""

from __future__ import annotations

import polars as pl
import pytest

from basketlens.clean import clean_ledger
from basketlens.config import RunConfig
from basketlens.ingest import load_ledger
from basketlens.pipeline import fit_stages
from basketlens.synth import generate_ledger


def missing_planted_rules(ledger, customers: pl.DataFrame, rules: pl.DataFrame) -> list[str]:
    """The planted affinities not found as an item-level cross-sell rule of the segment whose
    customers are mostly of the affinity's persona (empty when all are found)."""
    truth = ledger.personas.rename({"SoldToCustomer_CD": "customer_id"})
    majority = (
        customers.join(truth, on="customer_id")
        .group_by("segment", "persona")
        .len()
        .sort("len", descending=True)
        .unique("segment", keep="first")
    )
    missing = []
    for aff in ledger.affinities.iter_rows(named=True):
        segments = majority.filter(pl.col("persona") == aff["persona"])["segment"].to_list()
        found = rules.filter(
            pl.col("scope").is_in([str(s) for s in segments])
            & (pl.col("level") == "item")
            & (pl.col("kind") == "cross_sell")
            & (pl.col("antecedent") == sorted(aff["antecedent"]))
            & (pl.col("consequent") == [aff["consequent"]])
        )
        if not segments or found.is_empty():
            missing.append(f"{aff['persona']}: {aff['antecedent']} -> {aff['consequent']}")
    return missing


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_planted_links_of_generated_ledgers_survive_the_run_defaults(tmp_path, seed) -> None:
    ledger = generate_ledger(seed=seed)
    paths = ledger.write(tmp_path, format="parquet")
    cleaned = clean_ledger(
        load_ledger(paths["sales"], items=paths["items"], customers=paths["customers"])
    )
    fitted = fit_stages(cleaned.lines, cleaned.items, RunConfig(), opportunities=False)
    assert fitted.mining is not None
    rules = fitted.mining.rules.table
    assert missing_planted_rules(ledger, fitted.customers, rules) == []
    # and the run reports what each step removed
    pruning = fitted.mining.info["pruning"]["all_levels"]
    assert pruning["candidates"] > pruning["kept"] == rules.height
