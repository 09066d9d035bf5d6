"""The notebook API: ``basketlens.analyse`` on a path, a Polars frame and a pandas frame, and
``Analysis.write`` → ``basketlens.load_run`` round trips."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import basketlens
from basketlens.errors import ParameterError
from basketlens.runfolder.layout import TABLES


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from basketlens.synth import generate_ledger

    return generate_ledger(n_customers=150, seed=3).write(
        tmp_path_factory.mktemp("api") / "data", format="parquet"
    )


def _counts(analysis: basketlens.Analysis) -> tuple[int, ...]:
    assert analysis.rules is not None and analysis.opportunities is not None
    return (
        analysis.customers.height,
        analysis.segments.height,
        analysis.rules.height,
        analysis.opportunities.height,
    )


def test_path_polars_and_pandas_frames_give_the_same_tables(demo_files) -> None:
    paths = {role: str(p) for role, p in demo_files.items()}
    from_paths = basketlens.analyse(
        paths["sales"], items=paths["items"], customers=paths["customers"]
    )
    frames = {role: pl.read_parquet(p) for role, p in paths.items()}
    from_polars = basketlens.analyse(
        frames["sales"], items=frames["items"], customers=frames["customers"]
    )
    from_pandas = basketlens.analyse(
        frames["sales"].to_pandas(),
        items=frames["items"].to_pandas(),
        customers=frames["customers"].to_pandas(),
    )
    assert _counts(from_paths) == _counts(from_polars) == _counts(from_pandas)
    # polars' parallel group-by sums may differ in the last bit between runs (1e-16)
    assert_frame_equal(
        from_paths.customers, from_polars.customers, check_exact=False, rel_tol=1e-12
    )
    assert from_paths.rules.select("antecedent", "consequent", "confidence").equals(
        from_pandas.rules.select("antecedent", "consequent", "confidence")
    )
    assert from_polars.info["inputs"][0]["format"] == "frame"


def test_write_then_load_run_round_trips(demo_files, tmp_path: Path) -> None:
    analysis = basketlens.analyse(str(demo_files["sales"]), k=3, top_n=3)
    assert analysis.segments.height == 3
    out = analysis.write(tmp_path / "out")
    loaded = basketlens.load_run(out)
    for key in TABLES:
        table = getattr(analysis, key)
        if table is None:
            assert getattr(loaded, key) is None
        else:
            assert getattr(loaded, key).equals(table), key
    assert loaded.info["parameters"]["segment"]["k"] == 3
    assert loaded.model is not None
    first = analysis.customers["customer_id"][0]
    assert loaded.model.recommend_customer(first, top=3).height <= 3


def test_unknown_or_bad_options_fail_before_reading(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"  # never read: the options fail first
    with pytest.raises(ParameterError, match=r"unknown option 'min_suport'.*'min_support'"):
        basketlens.analyse(missing, min_suport=0.1)
    with pytest.raises(ParameterError, match=r"k must be in \[2, inf\); got 1"):
        basketlens.analyse(missing, k=1)


def test_online_retail_frame_matches_the_path(tmp_path: Path, shared_path) -> None:
    path = shared_path("online_retail", "online_retail.parquet")
    by_path = basketlens.analyse(str(path), k=4, min_support=0.02)
    by_frame = basketlens.analyse(pd.read_parquet(path), k=4, min_support=0.02)
    assert _counts(by_path) == _counts(by_frame)
    assert by_path.cleaning.equals(by_frame.cleaning)
