"""RFM cells (basketlens.segment.rfm): quintile scores, the named-cell map, the summary."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basketlens.errors import SchemaError
from basketlens.segment import rfm_cells, rfm_summary
from basketlens.segment.rfm import CELLS, cell_name, quintile_scores


@pytest.mark.parametrize(
    ("values", "better", "scores"),
    [
        ([10.0, 20.0, 30.0, 40.0, 50.0], True, [1, 2, 3, 4, 5]),
        ([10.0, 20.0, 30.0, 40.0, 50.0], False, [5, 4, 3, 2, 1]),  # recency: fewer days wins
        ([1.0] * 4, True, [3, 3, 3, 3]),  # all tied: the middle score
        ([1.0, 1.0, 1.0, 9.0], True, [2, 2, 2, 5]),  # ties share the mid-rank score
        ([5.0], True, [3]),
        ([], True, []),
        (list(range(10)), True, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
    ],
)
def test_quintile_scores(values: list[float], better: bool, scores: list[int]) -> None:
    got = quintile_scores(np.array(values, dtype=float), higher_is_better=better)
    assert got.tolist() == scores
    assert got.dtype == np.int8


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.5, 10.0, 100.0]), min_size=1, max_size=60))
def test_quintile_scores_properties(values: list[float]) -> None:
    x = np.array(values)
    s = quintile_scores(x)
    assert s.min() >= 1 and s.max() <= 5
    for i, j in itertools.combinations(range(x.size), 2):
        if x[i] == x[j]:
            assert s[i] == s[j]  # ties share a score
        elif x[i] < x[j]:
            assert s[i] <= s[j]  # monotone
    if np.unique(x).size == x.size and x.size % 5 == 0:
        assert np.bincount(s, minlength=6)[1:].tolist() == [x.size // 5] * 5  # quintiles


def test_every_score_combination_has_a_known_cell() -> None:
    seen = {cell_name(r, f, m) for r, f, m in itertools.product(range(1, 6), repeat=3)}
    assert seen == set(CELLS)
    assert cell_name(5, 5, 5) == "Champions"
    assert cell_name(5, 1, 1) == "New customers"
    assert cell_name(4, 1, 1) == "Promising"
    assert cell_name(2, 5, 5) == "Can't lose them"
    assert cell_name(1, 3, 4) == "At risk"  # FM = ceil((3 + 4) / 2) = 4
    assert cell_name(1, 1, 2) == "Hibernating"
    assert cell_name(3, 1, 2) == "About to sleep"


def table(n: int = 10) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "recency_days": [float(200 - 20 * i) for i in range(n)],
            "invoice_count": [float(1 + i) for i in range(n)],
            "total_net_sales": [float(10 * (i + 1)) for i in range(n)],
        }
    )


def test_rfm_cells_columns_and_values() -> None:
    cells = rfm_cells(table())
    assert cells.schema == pl.Schema(
        {
            "customer_id": pl.String,
            "rfm_r": pl.Int8,
            "rfm_f": pl.Int8,
            "rfm_m": pl.Int8,
            "rfm_cell": pl.String,
        }
    )
    assert cells["rfm_r"].to_list() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert cells["rfm_cell"].to_list()[-1] == "Champions"
    assert cells["rfm_cell"].to_list()[0] == "Hibernating"


def test_missing_feature_is_named() -> None:
    with pytest.raises(SchemaError, match=r"\['invoice_count'\]"):
        rfm_cells(table().drop("invoice_count"))


def test_summary_best_first_with_shares() -> None:
    t = table()
    summary = rfm_summary(t.join(rfm_cells(t), on="customer_id"))
    assert [r["cell"] for r in summary] == [c for c in CELLS if c in {r["cell"] for r in summary}]
    assert sum(r["customers"] for r in summary) == 10
    assert sum(r["customer_share"] for r in summary) == pytest.approx(1.0)
    assert sum(r["revenue_share"] for r in summary) == pytest.approx(1.0)
    champions = summary[0]
    assert champions["cell"] == "Champions"
    assert champions["median_orders"] == pytest.approx(9.5)
