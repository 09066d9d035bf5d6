"""The cleaning-rule registry: order, phases, descriptions and the switch each rule names."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from datetime import datetime

import polars as pl
import pytest

from basketlens.clean import CleaningOptions
from basketlens.clean.rules import CLEANING_RULES, CleaningRule, _registry

# every rule on; the ones that are off by default need a value
ALL_ON = CleaningOptions(
    exclude_brands=("Acme",),
    exclude_categories=("Tobacco",),
    exclude_items=("None",),
    service_items=("POST",),
    drop_single_item_baskets=True,
    cancel_prefix="C",
)


def test_rules_in_the_order_applied() -> None:
    assert list(CLEANING_RULES) == [
        "missing_ids",
        "implausible_dates",
        "returns",
        "nonpositive",
        "excluded_brands",
        "excluded_categories",
        "excluded_items",
        "service_items",
        "duplicates",
        "single_item_baskets",
    ]
    assert [r.phase for r in CLEANING_RULES.values()] == ["early"] * 8 + ["late"] * 2
    assert all(name == rule.name for name, rule in CLEANING_RULES.items())


def test_a_late_rule_before_an_early_one_is_refused() -> None:
    early, late = CLEANING_RULES["returns"], CLEANING_RULES["duplicates"]
    with pytest.raises(ValueError, match="early cleaning rules must precede late ones"):
        _registry(late, early)


@pytest.mark.parametrize("rule", CLEANING_RULES.values(), ids=list(CLEANING_RULES))
def test_switch_off_setting_is_a_config_line_that_disables_the_rule(rule: CleaningRule) -> None:
    assert rule.enabled(ALL_ON)
    setting = rule.switch_off.split(" (")[0]  # "drop_duplicates = false (--keep-duplicates)"
    values = tomllib.loads(setting)
    assert set(values) <= {f.name for f in fields(CleaningOptions)}
    off = ALL_ON.updated(values).validate()
    assert not rule.enabled(off)
    assert rule.description(off).startswith("disabled: ")
    assert not rule.description(ALL_ON).startswith("disabled")


def test_missing_invoice_drops_a_line_only_when_baskets_are_invoices() -> None:
    frame = pl.DataFrame(
        {"invoice": [None, "1"], "date": [datetime(2024, 1, 1)] * 2, "customer": ["A", "A"],
         "item": ["x", "x"]}
    )  # fmt: skip
    rule = CLEANING_RULES["missing_ids"]
    by_day = CleaningOptions(basket_by="customer_day")
    assert frame.select(rule.drops(CleaningOptions())).to_series().to_list() == [True, False]
    assert frame.select(rule.drops(by_day)).to_series().to_list() == [False, False]
    assert "need no invoice" in rule.description(by_day)
    assert "invoice" in rule.description(CleaningOptions())


def test_descriptions_follow_the_options() -> None:
    brands = CLEANING_RULES["excluded_brands"]
    assert brands.description(ALL_ON) == "lines of excluded brands ('Acme'; case-insensitive)"
    assert brands.description(CleaningOptions()) == "disabled: no brands excluded"
    single = CLEANING_RULES["single_item_baskets"]
    by_day = CleaningOptions(basket_by="customer_day")
    assert single.description(by_day) == (
        "disabled: baskets (by customer and day) with a single distinct item"
    )


def test_early_drop_expressions_need_only_the_line() -> None:
    frame = pl.DataFrame(
        {
            "invoice": ["1", "C2", "3", "4", "5"],
            "date": [datetime(2024, 1, 1)] * 5,
            "customer": ["A", "A", None, "A", "A"],
            "item": ["x", "x", "x", "x", "post"],
            "quantity": [1.0, 1.0, 1.0, 0.0, 1.0],
            "unit_price": [1.0] * 5,
            "net_sales": [1.0] * 5,
            "brand": [None, None, None, None, " acme"],
            "category": ["Food", None, None, None, "TOBACCO"],
            "item_name": ["X", "X", "X", " none", "X"],
        },
    )
    early = {n: r for n, r in CLEANING_RULES.items() if r.phase == "early"}
    got = frame.select(r.drops(ALL_ON).alias(n) for n, r in early.items())
    assert got.to_dict(as_series=False) == {
        "missing_ids": [False, False, True, False, False],
        "implausible_dates": [False, False, False, False, False],
        "returns": [False, True, False, False, False],
        "nonpositive": [False, False, False, True, False],
        "excluded_brands": [False, False, False, False, True],
        "excluded_categories": [False, False, False, False, True],
        "excluded_items": [False, False, False, True, False],
        "service_items": [False, False, False, False, True],
    }
