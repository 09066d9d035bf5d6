"""Interest measures: hand-computed 2×2 tables, degenerate cases, scipy cross-checks, docs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, fisher_exact, hypergeom

from basketlens.errors import ParameterError
from basketlens.mining.measures import (
    DEFAULT_MEASURES,
    MEASURES,
    compute_measures,
    hypergeom_upper,
    measures_markdown,
    resolve_measures,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "measures.md"


def one(name: str, n_ab: int, n_a: int, n_b: int, n: int) -> float:
    out = compute_measures([name], np.array([n_ab]), np.array([n_a]), np.array([n_b]), n)
    return float(out[name][0])


# n = 100, n_a = 40, n_b = 50, n_ab = 30: cells n11 = 30, n10 = 10, n01 = 20, n00 = 40
POSITIVE = {
    "support": 0.3,
    "coverage": 0.4,
    "consequent_support": 0.5,
    "confidence": 0.75,
    "lift": 1.5,
    "leverage": 0.1,
    "conviction": 2.0,
    "zhangs_metric": 1000 / 1800,
    "jaccard": 0.5,
    "kulczynski": (0.75 + 0.6) / 2,
    "cosine": 30 / math.sqrt(2000),
    "certainty_factor": 0.5,
    "added_value": 0.25,
    "odds_ratio": 6.0,
    "chi_squared": 100 * (30 * 40 - 10 * 20) ** 2 / (40 * 50 * 60 * 50),
}


@pytest.mark.parametrize(("name", "expected"), sorted(POSITIVE.items()))
def test_positive_table_hand_values(name: str, expected: float) -> None:
    assert one(name, 30, 40, 50, 100) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_negative_association_hand_values() -> None:
    # n_ab = 10 of n_a = 40, supp_b = 0.5: confidence 0.25 < 0.5
    assert one("certainty_factor", 10, 40, 50, 100) == pytest.approx(-0.5)
    assert one("zhangs_metric", 10, 40, 50, 100) == pytest.approx(-1000 / 1600)
    assert one("lift", 10, 40, 50, 100) == pytest.approx(0.5)
    assert one("leverage", 10, 40, 50, 100) == pytest.approx(-0.1)
    assert one("conviction", 10, 40, 50, 100) == pytest.approx(0.5 / 0.75)
    assert one("odds_ratio", 10, 40, 50, 100) == pytest.approx(10 * 20 / (30 * 40))


def test_conviction_null_when_confidence_is_one() -> None:
    assert math.isnan(one("conviction", 5, 5, 8, 10))
    assert math.isnan(one("conviction", 5, 5, 10, 10))  # also 0/0 when supp_b = 1


def test_empty_antecedent_degenerate_cases() -> None:
    # X = {} is in every basket: n_a = n = 10, n_b = n_ab = 4
    args = (4, 10, 4, 10)
    assert one("confidence", *args) == 0.4
    assert one("lift", *args) == 1.0
    assert one("leverage", *args) == 0.0
    assert one("conviction", *args) == 1.0
    assert one("zhangs_metric", *args) == 0.0  # 0 / 0 -> 0
    assert one("chi_squared", *args) == 0.0  # margin n - n_a = 0
    assert one("certainty_factor", *args) == 0.0
    assert one("fisher_p", *args) == 1.0
    # cells 4, 6, 0, 0 -> Haldane–Anscombe: (4.5 · 0.5) / (6.5 · 0.5)
    assert one("odds_ratio", *args) == pytest.approx(4.5 / 6.5)


def test_odds_ratio_zero_cell_correction_only_when_needed() -> None:
    # n11 = 0: cells 0, 4, 3, 3 -> (0.5 · 3.5) / (4.5 · 3.5)
    assert one("odds_ratio", 0, 4, 3, 10) == pytest.approx(0.5 * 3.5 / (4.5 * 3.5))
    assert one("odds_ratio", 2, 4, 3, 10) == pytest.approx(2 * 5 / (2 * 1))


def test_certainty_when_consequent_everywhere() -> None:
    assert one("certainty_factor", 5, 5, 10, 10) == 0.0
    assert one("zhangs_metric", 5, 5, 10, 10) == 0.0


def test_zero_counts_give_null_not_inf() -> None:
    out = compute_measures(list(MEASURES), np.array([0]), np.array([0]), np.array([0]), 10)
    for name, values in out.items():
        assert not np.isinf(values).any(), name
    assert math.isnan(out["confidence"][0])
    assert math.isnan(out["lift"][0])
    assert out["support"][0] == 0.0


@st.composite
def tables(draw: st.DrawFn) -> tuple[int, int, int, int]:
    n = draw(st.integers(1, 300))
    n_a = draw(st.integers(0, n))
    n_b = draw(st.integers(0, n))
    n_ab = draw(st.integers(max(0, n_a + n_b - n), min(n_a, n_b)))
    return n_ab, n_a, n_b, n


RANGES = {
    "support": (0, 1),
    "coverage": (0, 1),
    "consequent_support": (0, 1),
    "confidence": (0, 1),
    "jaccard": (0, 1),
    "kulczynski": (0, 1),
    "cosine": (0, 1),
    "fisher_p": (0, 1),
    "zhangs_metric": (-1, 1),
    "certainty_factor": (-1, 1),
    "added_value": (-1, 1),
    "leverage": (-0.25, 0.25),
}


@settings(max_examples=200, deadline=None)
@given(tables())
def test_every_measure_finite_or_null_and_in_range(t: tuple[int, int, int, int]) -> None:
    out = compute_measures(list(MEASURES), *(np.array([x]) for x in t[:3]), t[3])
    for name, values in out.items():
        v = float(values[0])
        assert not math.isinf(v), name
        if name in RANGES and not math.isnan(v):
            lo, hi = RANGES[name]
            assert lo - 1e-12 <= v <= hi + 1e-12, (name, v)
        if name in ("lift", "conviction", "odds_ratio", "chi_squared") and not math.isnan(v):
            assert v >= 0, name


@settings(max_examples=150, deadline=None)
@given(tables())
def test_fisher_and_chi2_match_scipy(t: tuple[int, int, int, int]) -> None:
    n_ab, n_a, n_b, n = t
    cells = [[n_ab, n_a - n_ab], [n_b - n_ab, n - n_a - n_b + n_ab]]
    expected_p = fisher_exact(cells, alternative="greater").pvalue
    assert one("fisher_p", *t) == pytest.approx(expected_p, rel=1e-9, abs=1e-14)
    if 0 < n_a < n and 0 < n_b < n:
        stat = chi2_contingency(cells, correction=False).statistic
        assert one("chi_squared", *t) == pytest.approx(stat, rel=1e-9, abs=1e-12)
    else:
        assert one("chi_squared", *t) == 0.0


def test_hypergeom_upper_matches_scipy_on_large_counts() -> None:
    rng = np.random.default_rng(7)
    n = rng.integers(1, 50_000, 3000)
    a, b = rng.integers(0, n + 1), rng.integers(0, n + 1)
    lo, hi = np.maximum(0, a + b - n), np.minimum(a, b)
    k = rng.integers(lo, hi + 1)
    got = hypergeom_upper(k, n, a, b)
    np.testing.assert_allclose(got, hypergeom.sf(k - 1, n, a, b), rtol=1e-8, atol=1e-13)


def test_unknown_measure_lists_valid_names_and_suggests() -> None:
    with pytest.raises(ParameterError) as err:
        compute_measures(["lfit"], np.array([1]), np.array([1]), np.array([1]), 2)
    msg = str(err.value)
    assert msg.startswith("unknown measure 'lfit'; valid measures: support, coverage")
    assert msg.endswith("did you mean 'lift'?")


def test_resolve_defaults_and_dedupe() -> None:
    assert resolve_measures(None) == DEFAULT_MEASURES
    assert DEFAULT_MEASURES == (
        "support",
        "confidence",
        "lift",
        "leverage",
        "conviction",
        "zhangs_metric",
    )
    assert resolve_measures(["lift", "support", "lift"]) == ("lift", "support")
    assert resolve_measures("cosine") == ("cosine",)


def test_registry_entries_are_documented() -> None:
    for name, m in MEASURES.items():
        assert m.name == name
        assert m.description and m.formula and m.range and m.degenerate


def test_docs_measures_md_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == measures_markdown(), (
        "docs/measures.md is stale: regenerate with "
        "python -c 'from basketlens.mining.measures import measures_markdown as m; "
        'open("docs/measures.md", "w").write(m())\''
    )
    for name in MEASURES:
        assert f"| `{name}` |" in measures_markdown()
