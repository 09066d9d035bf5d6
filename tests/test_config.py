"""RunConfig: TOML loading, flag overrides and the errors for unknown keys or bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from basketlens.config import RunConfig
from basketlens.errors import InputError, ParameterError
from basketlens.mining.options import MiningOptions


def test_defaults_are_the_documented_ones() -> None:
    cfg = RunConfig()
    assert cfg.clean.basket_by == "invoice"
    assert cfg.segment.k is None
    assert (cfg.segment.k_min, cfg.segment.k_max) == (2, 10)
    assert cfg.segment.cap_quantile == 0.99
    # run: the rule count comes from the data (guard, pruning, significance), not a target
    assert cfg.mine.min_support is None and cfg.mine.target_rules is None
    assert cfg.mine.max_rules == 20_000 and cfg.mine.prune_redundant
    assert (cfg.mine.significant, cfg.mine.significance_test, cfg.mine.adjust) == (
        0.05,
        "productive",
        "bh",
    )
    # `mine` keeps the exact, unpruned library defaults
    library = MiningOptions()
    assert library.target_rules == 200 and library.max_rules is None
    assert not library.prune_redundant and library.significant is None


def test_toml_is_read_and_relative_paths_resolve_against_its_folder(tmp_path: Path) -> None:
    (tmp_path / "basketlens.toml").write_text(
        '[input]\nsales = "data/sales.csv"\n[columns]\ninvoice = "DocNo"\n'
        '[clean]\nexclude_brands = ["Samples"]\n[segment]\nk = 3\n',
        encoding="utf-8",
    )
    cfg = RunConfig.from_toml(tmp_path / "basketlens.toml")
    assert cfg.input.sales == str(tmp_path / "data" / "sales.csv")
    assert cfg.columns == {"invoice": "DocNo"}
    assert cfg.clean.exclude_brands == ("Samples",)
    assert cfg.segment.k == 3


def test_flags_override_the_file_and_none_keeps_the_file_value(tmp_path: Path) -> None:
    cfg = RunConfig.from_mapping({"segment": {"k": 3, "k_max": 6}, "columns": {"item": "Sku"}})
    cfg = cfg.override(segment={"k": 5, "k_max": None}, columns={"invoice": "Doc"})
    assert (cfg.segment.k, cfg.segment.k_max) == (5, 6)
    assert cfg.columns == {"item": "Sku", "invoice": "Doc"}


def test_unknown_key_names_file_and_suggests_the_close_match() -> None:
    with pytest.raises(ParameterError, match=r"unknown key 'k_maxx'.*did you mean 'k_max'"):
        RunConfig.from_mapping({"segment": {"k_maxx": 4}}, source="b.toml")
    with pytest.raises(ParameterError, match=r"b.toml: unknown table 'segmnt'"):
        RunConfig.from_mapping({"segmnt": {}}, source="b.toml")
    with pytest.raises(ParameterError, match=r"unknown canonical field 'invoce'.*'invoice'"):
        RunConfig.from_mapping({"columns": {"invoce": "Doc"}})


def test_out_of_range_values_name_the_parameter_and_value() -> None:
    with pytest.raises(ParameterError, match=r"min_support must be in \(0, 1\]; got 1.5"):
        RunConfig().override(mine={"min_support": 1.5})
    with pytest.raises(ParameterError, match=r"basket_by must be one of 'invoice', 'customer_day'"):
        RunConfig().override(clean={"basket_by": "week"})


def test_bad_toml_and_missing_file_are_input_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[segment\nk=", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.toml: not valid TOML"):
        RunConfig.from_toml(bad)
    with pytest.raises(InputError, match="config file not found"):
        RunConfig.from_toml(tmp_path / "nope.toml")
