"""The Spark engine's pieces that need no cluster: options, the partition-then-count scheme
against the local miner, the threshold search against the local one, and the one-line errors
when the extra or Java is missing."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from basketlens.cli import app
from basketlens.config import RunConfig
from basketlens.errors import MiningBudgetError, ParameterError
from basketlens.mining import mine_itemsets, to_basket_matrix
from basketlens.mining.options import MiningOptions
from basketlens.mining.rules import count_rules, rule_filters
from basketlens.mining.thresholds import ThresholdProbe, _bounds, suggest_min_count
from basketlens.spark.options import EngineOptions
from basketlens.spark.son import count_candidates, local_min_count, unique_itemsets
from basketlens.spark.threshold import search_min_count

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


# ------------------------------------------------------------------ threshold search
@settings(max_examples=40, deadline=None)
@given(
    baskets=st.lists(
        st.lists(st.sampled_from("abcdefghij"), min_size=1, max_size=6, unique=True),
        min_size=5,
        max_size=80,
    ),
    target=st.integers(1, 30),
    min_confidence=st.sampled_from([0.0, 0.3, 0.6]),
)
def test_search_on_global_counts_chooses_what_the_local_search_chooses(
    baskets: list[list[str]], target: int, min_confidence: float
) -> None:
    m = to_basket_matrix(baskets)
    opts = MiningOptions(target_rules=target, min_confidence=min_confidence, max_itemsets=200)
    # probes answered from the counts mined once at the lowest threshold, as on Spark
    _, _, base = mine_itemsets(m, min_count=1, max_itemsets=None).frequent_arrays()

    def probe(mc: int) -> ThresholdProbe:
        if int((base >= mc).sum()) > 200:
            return ThresholdProbe(mc, None, None, True, 0.0)
        its = mine_itemsets(m, min_count=mc, max_itemsets=None)
        assert len(its) == int((base >= mc).sum())
        return ThresholdProbe(mc, len(its), count_rules(its, **rule_filters(opts)), False, 0.0)

    def outcome(search: object) -> tuple[object, ...]:
        try:
            s = search()  # type: ignore[operator]
        except MiningBudgetError as exc:
            return ("budget", str(exc))
        return (s.min_count, s.n_rules, [p.min_count for p in s.probes], s.note)

    lo, hi = _bounds(m, opts.min_len, None)
    local = outcome(lambda: suggest_min_count(m, opts))
    spark_like = outcome(
        lambda: search_min_count(
            probe, lo=lo, hi=hi, n_baskets=m.n_baskets, target_rules=target, budget=200
        )
    )
    assert spark_like == local


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


def test_session_settings_precedence() -> None:
    """--spark-conf wins over basketlens's defaults; workers use this venv on a local master."""
    pytest.importorskip("pyspark")
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
    remote = _builder(EngineOptions(engine="spark", spark_master="spark://h:7077"))._options
    assert "spark.pyspark.python" not in remote  # the cluster's own Python, or spark_conf's
    assert "spark.master" not in _builder(EngineOptions(engine="spark"))._options
