"""The Spark engine's pieces that need no cluster: options; the partition-then-count scheme
and the counts added up over parts that hold whole customers, against the local miner and the
local mining steps; the per-customer aggregates of parts against the whole; and the one-line
errors when the extra or Java is missing."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from basketlens.cli import app
from basketlens.config import RunConfig, run_mining_defaults
from basketlens.errors import MiningBudgetError, ParameterError
from basketlens.features import FeatureOptions
from basketlens.features.mix import item_sales, unit_item_spend
from basketlens.features.stage import USABLE, feature_constants, unit_features
from basketlens.mining import mine_itemsets, mine_rules, to_basket_matrix
from basketlens.mining.counts import MatrixCounts
from basketlens.mining.encode import BasketMatrix
from basketlens.opportunities.matrix import customer_item_cells, unit_item_sales
from basketlens.opportunities.purchases import basket_sample_expr
from basketlens.spark.options import EngineOptions
from basketlens.spark.son import PartsCounts, count_candidates, local_min_count, unique_itemsets
from basketlens.synth import generate_ledger

baskets_strategy = st.lists(
    st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=5, unique=True),
    min_size=1,
    max_size=40,
)


def _brute_counts(baskets: list[list[str]], itemsets: list[tuple[str, ...]]) -> list[int]:
    sets = [set(b) for b in baskets]
    return [sum(set(its) <= b for b in sets) for its in itemsets]


# ------------------------------------------------------------------ options
def test_engine_options_default_to_local_and_check_spark_conf() -> None:
    assert RunConfig().engine.engine == "local"
    cfg = RunConfig.from_mapping(
        {"engine": {"engine": "spark", "spark_conf": ["spark.executor.memory=4g", "a = b=c"]}}
    )
    assert cfg.engine.conf() == {"spark.executor.memory": "4g", "a": "b=c"}
    with pytest.raises(ParameterError, match="spark_conf entries must be key=value; got 'x'"):
        RunConfig.from_mapping({"engine": {"spark_conf": ["x"]}})
    with pytest.raises(ParameterError, match="engine must be one of 'local', 'spark'; got 'dask'"):
        EngineOptions(engine="dask").validate()


def test_run_and_backtest_offer_the_engine_flags() -> None:
    runner = CliRunner()
    for command in ("run", "backtest"):
        out = runner.invoke(app, [command, "--help"], terminal_width=200).output
        for flag in ("--engine", "--spark-master", "--spark-conf"):
            assert flag in out, (command, flag)


# ------------------------------------------------------------------ partition-then-count
def test_local_min_count_is_the_ceiling_of_the_scaled_threshold() -> None:
    assert local_min_count(10, 250, 1000) == 3  # 2.5 -> 3
    assert local_min_count(10, 100, 1000) == 1
    assert local_min_count(7, 0, 1000) == 1
    assert local_min_count(3, 1000, 1000) == 3


def test_unique_itemsets_deduplicates_in_lexicographic_order() -> None:
    flat = np.array([2, 0, 1, 0, 2, 0, 1], dtype=np.int32)
    offsets = np.array([0, 1, 3, 4, 5, 7])
    f, o = unique_itemsets(flat, offsets)
    rows = [tuple(f[a:b].tolist()) for a, b in itertools.pairwise(o)]
    assert rows == [(0,), (0, 1), (2,)]


@settings(max_examples=60, deadline=None)
@given(baskets=baskets_strategy)
def test_count_candidates_matches_brute_force(baskets: list[list[str]]) -> None:
    m = to_basket_matrix(baskets)
    its = mine_itemsets(m, min_count=1, max_len=3)
    flat, offsets, counts = its.frequent_arrays()
    got = count_candidates(m, flat, offsets)
    assert got.tolist() == counts.tolist()
    names = [tuple(m.items[c] for c in flat[a:b]) for a, b in itertools.pairwise(offsets)]
    assert got.tolist() == _brute_counts(baskets, names)


@settings(max_examples=60, deadline=None)
@given(
    baskets=baskets_strategy,
    min_count=st.integers(1, 6),
    parts=st.integers(1, 5),
    seed=st.integers(0, 1000),
)
def test_partition_then_count_finds_exactly_the_local_itemsets(
    baskets: list[list[str]], min_count: int, parts: int, seed: int
) -> None:
    """The scheme of basketlens.spark.son, run by hand over random partitions."""
    m = to_basket_matrix(baskets)
    rng = np.random.default_rng(seed)
    owner = rng.integers(0, parts, m.n_baskets)
    pieces = [m.subset(np.flatnonzero(owner == p)) for p in range(parts)]
    flats, offs = [], [0]
    for piece in pieces:
        if piece.n_baskets == 0:
            continue
        local = local_min_count(min_count, piece.n_baskets, m.n_baskets)
        f, o, _ = mine_itemsets(piece, min_count=local).frequent_arrays()
        flats.append(f)
        offs.extend((o[1:] + offs[-1]).tolist())
    flat, offsets = unique_itemsets(np.concatenate(flats), np.asarray(offs))
    total = sum(count_candidates(piece, flat, offsets) for piece in pieces)
    keep = total >= min_count
    found = {
        (tuple(flat[a:b].tolist()), int(c))
        for a, b, c, k in zip(offsets[:-1], offsets[1:], total, keep, strict=True)
        if k
    }
    f, o, c = mine_itemsets(m, min_count=min_count).frequent_arrays()
    expected = {(tuple(f[a:b].tolist()), int(n)) for a, b, n in zip(o[:-1], o[1:], c, strict=False)}
    assert found == expected


def test_count_candidates_refuses_a_candidate_without_its_prefix() -> None:
    m = to_basket_matrix([["a", "b", "c"]])
    with pytest.raises(ValueError, match="has no prefix"):
        count_candidates(m, np.array([0, 1, 2], np.int32), np.array([0, 3]))


# ------------------------------------------------------------------ counts held in parts
class MatrixParts:
    """Baskets of a matrix cut into parts by customer: what SparkParts does on Spark."""

    def __init__(self, matrix: BasketMatrix, units: np.ndarray, partitions: int, seed: int):
        self.matrix, self.units, self.partitions = matrix, units, partitions
        self.owner = np.random.default_rng(seed).permutation(int(units.max()) + 1)
        self.calls = 0

    def __call__(self, n_parts: int, func: Any, args: tuple[Any, ...] = ()) -> list[Any]:
        self.calls += 1
        out = []
        for p in range(n_parts):
            rows = np.flatnonzero(self.owner[self.units] % n_parts == p)
            if rows.size:
                local = np.unique(self.units[rows], return_inverse=True)[1]
                out.append(func(MatrixCounts(self.matrix.subset(rows), local), *args))
        return out


baskets_with_customers = st.lists(
    st.tuples(
        st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=5, unique=True),
        st.integers(0, 9),
    ),
    min_size=1,
    max_size=60,
)


def _counts(data: list[tuple[list[str], int]], parts: int, seed: int) -> tuple[Any, Any]:
    m = to_basket_matrix([b for b, _ in data])
    units = np.unique([u for _, u in data], return_inverse=True)[1]
    whole = MatrixCounts(m, units)
    return whole, PartsCounts(MatrixParts(m, units, parts, seed), m.items, m.n_baskets)


def _sets(its: Any) -> set[tuple[tuple[int, ...], int]]:
    f, o, c = its.frequent_arrays()
    return {(tuple(f[a:b].tolist()), int(n)) for a, b, n in zip(o[:-1], o[1:], c, strict=True)}


@settings(max_examples=60, deadline=None)
@given(data=baskets_with_customers, parts=st.integers(1, 4), seed=st.integers(0, 99))
def test_counts_in_parts_are_the_counts_of_the_whole(
    data: list[tuple[list[str], int]], parts: int, seed: int
) -> None:
    """Every answer of BasketCounts adds up over parts that hold whole customers, and
    partition-then-count finds exactly the frequent itemsets at every threshold."""
    whole, held = _counts(data, parts, seed)
    assert held.item_counts().tolist() == whole.item_counts().tolist()
    sets = pl.Series([["a", "b"], ["c"], ["a", "d", "e"], ["h", "zz"]])
    assert held.customer_counts(sets).tolist() == whole.customer_counts(sets).tolist()
    pairs = list(itertools.combinations(range(whole.n_items), 2))[:6]
    i, j = np.array([a for a, _ in pairs], dtype=np.int64), np.array([b for _, b in pairs])
    assert held.pair_counts(i, j).tolist() == whole.pair_counts(i, j).tolist()
    a, b = held.customer_pairs(i, j), whole.customer_pairs(i, j)
    assert a is not None and b is not None
    assert (a.a.tolist(), a.b.tolist(), a.ab.tolist(), a.n_units) == (
        b.a.tolist(), b.b.tolist(), b.ab.tolist(), b.n_units
    )  # fmt: skip
    for mc in (9, 5, 3, 1, 2, 6):  # descending, then answered from the counts mined at 1
        got = held.itemsets(min_count=mc, max_len=3)
        assert _sets(got) == _sets(whole.itemsets(min_count=mc, max_len=3)), mc
        assert got.table.equals(whole.itemsets(min_count=mc, max_len=3).table)


def test_thresholds_at_or_above_the_lowest_mined_need_no_pass() -> None:
    data = [(["a", "b"], k % 5) for k in range(30)] + [(["a", "c"], k % 3) for k in range(12)]
    whole, held = _counts(data, 2, 0)
    parts = held.parts
    held.itemsets(min_count=8)
    assert parts.calls == 2  # two parts (8 // MIN_LOCAL_COUNT): local itemsets, exact counts
    for mc in (8, 9, 12, 30, 43):
        assert _sets(held.itemsets(min_count=mc)) == _sets(whole.itemsets(min_count=mc))
    assert parts.calls == 2
    held.itemsets(min_count=3)
    assert parts.calls == 3  # one part below 2 * MIN_LOCAL_COUNT: its counts are exact
    assert [(p["min_count"], p["partitions"]) for p in held.passes()] == [(8, 2), (3, 1)]


def test_the_itemset_budget_fails_as_the_local_miner_fails() -> None:
    data = [(list("abcdefgh"), k) for k in range(8)]
    whole, held = _counts(data, 2, 1)
    with pytest.raises(MiningBudgetError, match="more than max_itemsets=100"):
        whole.itemsets(min_count=4, max_itemsets=100)
    with pytest.raises(MiningBudgetError, match="more than max_itemsets=100"):
        held.itemsets(min_count=4, max_itemsets=100)
    assert len(held.itemsets(min_count=4, max_itemsets=1000)) == 255


@settings(max_examples=25, deadline=None)
@given(data=baskets_with_customers, parts=st.integers(1, 4), seed=st.integers(0, 99))
def test_mine_rules_reads_parts_as_it_reads_the_matrix(
    data: list[tuple[list[str], int]], parts: int, seed: int
) -> None:
    """The run's mining profile (the guard search, redundancy, Fisher's tests, the customers
    behind a rule) gives the same rules, search and accounting from counts in parts."""
    whole, held = _counts(data, parts, seed)
    opts = replace(run_mining_defaults(), max_rules=40, min_customers=2, max_itemsets=400)
    try:
        expected = mine_rules(whole, opts)
    except MiningBudgetError as exc:
        with pytest.raises(MiningBudgetError, match=str(exc).split(";")[0].split(" at ")[0]):
            mine_rules(held, opts)
        return
    got = mine_rules(held, opts)
    assert got.table.equals(expected.table)
    for key in ("pruning", "threshold_search"):
        a, b = got.info[key], expected.info[key]
        if key == "pruning":
            a, b = (
                {k: v for k, v in x.items() if k not in ("seconds", "cpu_seconds")} for x in (a, b)
            )
        else:
            a, b = (
                (x["min_count"], [(p["min_count"], p["n_rules"]) for p in x["probes"]])
                for x in (a, b)
            )
        assert a == b, key


# ------------------------------------------------------------------ per-customer aggregates
def _lines() -> pl.DataFrame:
    ledger = generate_ledger(n_customers=40, seed=5)
    from basketlens.clean import clean_ledger
    from basketlens.ingest import load_ledger

    return clean_ledger(load_ledger(ledger.sales)).lines


@pytest.fixture(scope="module")
def lines() -> pl.DataFrame:
    return _lines()


def _by(lines: pl.DataFrame, key: str, parts: int) -> list[pl.DataFrame]:
    """``lines`` cut into parts that hold every line of each ``key`` value, in line order."""
    tagged = lines.with_columns(__p=pl.col(key).hash(11) % parts)
    return [p.drop("__p").sort("line_no") for p in tagged.partition_by("__p")]


def test_per_customer_aggregates_of_parts_are_bit_for_bit_the_whole(lines: pl.DataFrame) -> None:
    """What the Spark engine computes in partitions that hold whole customers (features, the
    customer × item cells, the spend) or whole items (the price tiers' sums) is the same, to
    the last bit, as the local stages compute on every line."""
    options = FeatureOptions()
    constants = feature_constants(lines, options)
    usable = lines.filter(USABLE)
    whole = unit_features(usable, constants)
    parts = _by(usable, "unit", 3)
    assert pl.concat([unit_features(p, constants) for p in parts]).sort("customer_id").equals(whole)
    spend = pl.concat([unit_item_spend(p) for p in parts]).sort("unit", "item")
    assert spend.equals(unit_item_spend(usable))
    cells = pl.concat([customer_item_cells(p)[0] for p in parts]).sort("customer_id", "item")
    assert cells.equals(customer_item_cells(lines)[0].sort("customer_id", "item"))
    sales = pl.concat([unit_item_sales(p) for p in parts]).sort("unit", "item")
    assert sales.equals(unit_item_sales(lines).sort("unit", "item"))
    memory: dict[str, Any] = {"engine": "in-memory"}  # as feature_constants collects them
    items = pl.concat([item_sales(p.lazy()).collect(**memory) for p in _by(usable, "item", 4)])
    assert items.sort("item").equals(item_sales(usable.lazy()).collect(**memory).sort("item"))


def test_the_basket_sample_is_the_same_on_every_part(lines: pl.DataFrame) -> None:
    sample = basket_sample_expr(0.3, seed=2)
    whole = lines.filter(sample)
    parts = pl.concat([p.filter(sample) for p in _by(lines, "unit", 4)]).sort("line_no")
    assert parts.equals(whole)
    kept = set(whole["basket"])
    assert 0 < len(kept) < lines["basket"].n_unique()
    assert lines.filter(pl.col("basket").is_in(list(kept))).height == whole.height  # whole baskets


# ------------------------------------------------------------------ missing pieces
def test_a_missing_pyspark_is_one_clear_error() -> None:
    code = (
        "import sys; sys.modules['pyspark'] = None\n"
        "import basketlens.spark as s\n"
        "try:\n    s.fit_on_spark\nexcept s.SparkUnavailableError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'basketlens[spark]'" in out.stdout, out.stdout + out.stderr


def test_missing_java_is_one_line_from_the_cli(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    sales = tmp_path / "sales.csv"
    sales.write_text("invoice,date,customer,item,quantity,unit_price\nA1,2024-01-02,7,X,2,1.5\n")
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-jdk"), "PATH": "/nonexistent"}
    code = "from basketlens.cli import main; main()"
    args = ["run", str(sales), "--engine", "spark", "--out", str(tmp_path / "out")]
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env
    )
    assert out.returncode == 1
    assert "needs Java 17 or newer" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_session_settings_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    """--spark-conf wins over basketlens's defaults; workers use this venv on a local master
    (PySpark's context reads the environment variable, so that is set too), unless the user
    chose another interpreter."""
    pytest.importorskip("pyspark")
    monkeypatch.delenv("PYSPARK_PYTHON", raising=False)
    from basketlens.spark.session import DEFAULT_CONF, _builder

    options = EngineOptions(
        engine="spark",
        spark_master="local[3]",
        spark_conf=("spark.sql.session.timeZone=Europe/Paris", "spark.executor.memory=2g"),
    )
    conf = _builder(options)._options
    assert conf["spark.master"] == "local[3]"
    assert conf["spark.sql.session.timeZone"] == "Europe/Paris"
    assert conf["spark.executor.memory"] == "2g"
    assert conf["spark.ui.showConsoleProgress"] == DEFAULT_CONF["spark.ui.showConsoleProgress"]
    assert conf["spark.pyspark.python"] == sys.executable
    assert os.environ["PYSPARK_PYTHON"] == sys.executable
    monkeypatch.setenv("PYSPARK_PYTHON", "/opt/other/python3")
    assert "spark.pyspark.python" not in _builder(options)._options
    monkeypatch.delenv("PYSPARK_PYTHON")
    remote = _builder(EngineOptions(engine="spark", spark_master="spark://h:7077"))._options
    assert "spark.pyspark.python" not in remote  # the cluster's own Python, or spark_conf's
    assert "spark.master" not in _builder(EngineOptions(engine="spark"))._options
