"""The ``make_output_folder`` fixture keeps up with the schemas it claims to follow."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from basketlens.schema import CLEANING_SCHEMA, ITEM_SUPPORT_SCHEMA, RULES_BASE_SCHEMA


def test_fixture_follows_the_pipeline_schemas(
    tmp_path: Path, make_output_folder, hostile_names
) -> None:
    out = make_output_folder(tmp_path / "out", hostile=True)
    rules = pl.read_parquet(out / "rules.parquet")
    for column, dtype in RULES_BASE_SCHEMA.items():
        assert rules.schema[column] == dtype, column
    assert pl.read_parquet(out / "item_support.parquet").schema == ITEM_SUPPORT_SCHEMA
    assert pl.read_parquet(out / "cleaning.parquet").schema == CLEANING_SCHEMA
    names = pl.read_parquet(out / "customers.parquet")["customer_name"].to_list()
    assert set(hostile_names) <= set(names)


def test_fixture_without_mining_has_no_rules(tmp_path: Path, make_output_folder) -> None:
    out = make_output_folder(tmp_path / "out", mining=False)
    assert not (out / "rules.parquet").exists()
    assert not (out / "opportunities.parquet").exists()
