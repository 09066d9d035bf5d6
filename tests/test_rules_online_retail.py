"""Acceptance on Online Retail at the default settings of ``run``: the call list is
cross-sell, varied, and backed by rules whose count comes from the data."""

from __future__ import annotations

import polars as pl
import pytest

from basketlens.config import RunConfig
from basketlens.mining.families import FAMILIES_SCHEMA
from basketlens.pipeline import fit_stages, load_and_clean


@pytest.fixture(scope="module")
def fitted(shared_path):
    sales = shared_path("online_retail", "online_retail.parquet")
    config = RunConfig().override(input={"sales": str(sales)})
    _, cleaned = load_and_clean(config)
    return fit_stages(cleaned.lines, cleaned.items, config)


def _linked(families: pl.DataFrame) -> pl.DataFrame:
    """item, other: the variant pairs (links and same family)."""
    fam = families.select("item", "family")
    same = fam.join(fam.rename({"item": "other"}), on="family").filter(
        pl.col("item") != pl.col("other")
    )
    links = families.select("item", other="variants").explode("other").drop_nulls()
    return pl.concat([same.select("item", "other"), links]).unique()


def test_top_of_the_call_list_is_varied_cross_sell(fitted) -> None:
    assert fitted.opportunities is not None and fitted.mining is not None
    calls = fitted.opportunities.call_list.table.sort("rank")
    top = calls.head(50)
    families = fitted.mining.families.table
    assert families.schema == FAMILIES_SCHEMA
    # at most 10% of the top 50 pair an item with a variant of itself (by the rule's left side)
    pairs = top.select("rank", "item", other="antecedent").explode("other")
    variant_calls = pairs.join(_linked(families), on=["item", "other"], how="semi")["rank"]
    assert variant_calls.n_unique() <= 5
    assert top["item"].n_unique() >= 15
    assert top["rule_id"].n_unique() >= 15  # no single rule fills the top
    assert (top["kind"] == "cross_sell").all()
    assert calls.select("customer_id", "item").is_unique().all()


def test_rule_count_and_kinds_come_from_the_data(fitted) -> None:
    info = fitted.mining.info
    rules = fitted.mining.rules.table
    assert rules["kind"].is_in(["cross_sell", "variant"]).all()
    assert set(rules["level"].unique()) == {"item", "family"}  # no categories in this ledger
    item_rules = rules.filter(pl.col("level") == "item")
    # the ledger is mostly sets of colour and design variants: most item rules are variants
    assert (item_rules["kind"] == "variant").mean() > 0.5
    for record in info["rules"]["scopes"].values():
        assert record["rules"]["threshold_search"]["target_rules"] is None
    pruning = info["pruning"]["all_levels"]
    assert pruning["redundant"] > 0 and pruning["not_significant"] > 0
    removed = ("redundant", "not_significant", "few_customers", "repeats_item_rules")
    assert pruning["candidates"] - sum(pruning[k] for k in removed) == pruning["kept"]
    assert pruning["kept"] == rules.height
