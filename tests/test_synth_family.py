"""The generated family (basketlens.synth.family / options) and ``basketlens synth``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from basketlens.cli import app
from basketlens.errors import ParameterError
from basketlens.synth import SynthOptions, generate_ledger
from basketlens.synth.family import ARCHETYPES, persona_family
from basketlens.synth.personas import PERSONAS

VOLUME = ("orders_per_month", "lines_per_order", "kilo_multiplier", "repertoire", "churn")
MIX = ("category_weights", "tier_weights")


def test_defaults_are_the_demo_personas() -> None:
    assert persona_family() == PERSONAS
    assert [p.name for p in persona_family(6)] == [p.name for p in ARCHETYPES] == [
        "restaurant", "wholesale", "premium_deli", "occasional_shop", "bakery", "bar_cafe",
    ]  # fmt: skip
    assert persona_family(3) == ARCHETYPES[:3]


@pytest.mark.parametrize("n", [2, 4, 6])
def test_differ_keeps_apart_only_what_it_names(n: int) -> None:
    volume = persona_family(n, differ="volume")
    mix = persona_family(n, differ="mix")
    for field in MIX:
        assert len({json.dumps(getattr(p, field), sort_keys=True) for p in volume}) == 1
        assert len({json.dumps(getattr(p, field), sort_keys=True) for p in mix}) == n
    for field in VOLUME:
        assert len({getattr(p, field) for p in mix}) == 1
        assert len({getattr(p, field) for p in volume}) > 1


def test_overlap_moves_personas_towards_their_average() -> None:
    def spread(personas: tuple) -> float:
        rates = np.log([p.orders_per_month for p in personas])
        return float(rates.max() - rates.min())

    spreads = [spread(persona_family(4, overlap=o)) for o in (0.0, 0.25, 0.5, 0.9)]
    assert spreads[0] == pytest.approx(spread(ARCHETYPES[:4]))
    assert spreads == sorted(spreads, reverse=True)
    assert spreads[2] == pytest.approx(spreads[0] / 2)  # geometric interpolation
    shares = persona_family(2, overlap=0.5)[0].category_weights
    assert sum(shares.values()) == pytest.approx(1.0)


def test_archetypes_differ_clearly_in_volume_and_mix() -> None:
    """As designed, every pair of archetypes is far apart in log order rate × lines × kilos
    (at least 1.2, against a customer spread of 0.35–0.4) and in category mix."""
    for i, a in enumerate(ARCHETYPES):
        for b in ARCHETYPES[i + 1 :]:
            va = np.log([a.orders_per_month, a.lines_per_order, a.kilo_multiplier])
            vb = np.log([b.orders_per_month, b.lines_per_order, b.kilo_multiplier])
            assert np.linalg.norm(va - vb) >= 1.2, (a.name, b.name)
            ma = np.array(list(a.category_weights.values())) / sum(a.category_weights.values())
            mb = np.array(list(b.category_weights.values())) / sum(b.category_weights.values())
            assert np.abs(ma - mb).sum() >= 0.4, (a.name, b.name)


def test_generated_ledger_plants_the_personas_and_the_tail() -> None:
    led = generate_ledger(n_customers=400, personas=3, differ="mix", tail=0.1, seed=5)
    counts = dict(led.personas.group_by("persona").len().iter_rows())
    assert set(counts) == {"restaurant", "wholesale", "premium_deli"}
    assert sum(counts.values()) == 400
    assert 20 <= led.dirt["heavy_tail_customers"] <= 60  # about 10% of 400
    assert led.options == SynthOptions(n_customers=400, personas=3, differ="mix", tail=0.1, seed=5)
    none = generate_ledger(n_customers=400, personas=3, seed=5)
    assert none.dirt["heavy_tail_customers"] == 0


def test_demo_is_unchanged_by_the_family_parameters() -> None:
    a = generate_ledger(n_customers=60, months=2)
    b = generate_ledger(n_customers=60, months=2, personas=None, overlap=0.0, tail=0.0)
    assert a.sales.equals(b.sales)


def test_one_persona_ledger() -> None:
    led = generate_ledger(n_customers=20, personas=1, months=1)
    assert led.personas["persona"].unique().to_list() == ["restaurant"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"personas": 7}, r"personas must be in \[1, 6\]; got 7"),
        ({"personas": 0}, r"personas must be in \[1, 6\]; got 0"),
        ({"overlap": 1.0}, r"overlap must be in \[0, 1\); got 1.0"),
        ({"tail": 0.9}, r"tail must be in \[0, 0.5\]; got 0.9"),
        ({"differ": "price"}, r"differ must be one of 'both', 'volume', 'mix'; got 'price'"),
        ({"n_customers": 5, "personas": 6}, r"n_customers must be >= 6 \(one per persona\); got 5"),
    ],
)
def test_family_parameters_are_validated(kwargs: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        generate_ledger(**kwargs)


def test_synth_command_writes_the_truth_beside_the_ledger(tmp_path: Path) -> None:
    out = tmp_path / "fam"
    args = ["synth", "--out", str(out), "--customers", "60", "--personas", "2", "--differ",
            "volume", "--overlap", "0.25", "--tail", "0.05", "--months", "2"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    truth = pl.read_parquet(out / "truth" / "personas.parquet")
    customers = pl.read_parquet(out / "customers.parquet")
    assert truth["SoldToCustomer_CD"].to_list() == customers["SoldToCustomer_CD"].to_list()
    assert set(truth["persona"]) == {"restaurant", "wholesale"}
    record = json.loads((out / "truth" / "synth.json").read_text())
    assert record["generator"] == {
        "n_customers": 60, "n_lines": None, "months": 2, "seed": 0, "return_rate": 0.02,
        "personas": 2, "overlap": 0.25, "tail": 0.05, "differ": "volume",
    }  # fmt: skip
    assert "2 planted persona(s)" in result.output
    bad = CliRunner().invoke(app, ["synth", "--out", str(out), "--personas", "9"])
    assert bad.exit_code != 0
    assert "personas must be in [1, 6]; got 9" in bad.output
    assert "Traceback" not in bad.output
