"""Numbers for people (issue 13): locale separators, whole counts, money with its currency and
period, column titles that name their unit, and the --locale / --currency options."""

from __future__ import annotations

import doctest

import pytest

from basketlens.errors import ParameterError
from basketlens.report import formats
from basketlens.report.columns import ColumnFormat
from basketlens.report.formats import NumberFormat, Period
from basketlens.report.options import ReportOptions

PERIOD = Period("2010-12-01 08:26:00", "2011-12-09 12:50:00")


@pytest.mark.parametrize(
    ("locale", "count", "decimal"),
    [
        ("en-US", "1,234,567", "164.18"),
        ("en-GB", "1,234,567", "164.18"),
        ("de-DE", "1.234.567", "164,18"),
        ("fr-FR", "1\xa0234\xa0567", "164,18"),
        ("de-CH", "1'234'567", "164,18"),
        ("en-IN", "12,34,567", "164.18"),  # Indian grouping: 3, then 2s
    ],
)
def test_separators_follow_the_locale(locale: str, count: str, decimal: str) -> None:
    f = NumberFormat.for_locale(locale)
    assert f.integer(1234567) == count
    assert f.number(164.18, 2) == decimal


def test_counts_never_show_decimals_and_halves_round_up() -> None:
    f = NumberFormat.for_locale("de-DE")
    assert f.integer(28.0) == "28"
    assert f.integer(184.0) == "184"
    assert f.number(0.5, 0) == "1" and f.number(2.5, 0) == "3"  # not banker's rounding
    assert f.number(-0.004, 2) == "0,00"  # no "-0,00"
    assert f.integer(None) == "" and f.integer(float("nan")) == ""


def test_money_carries_its_currency_on_the_locale_side() -> None:
    assert NumberFormat.for_locale("en-GB", currency="GBP").money(1234.5, 2) == "£1,234.50"
    assert NumberFormat.for_locale("de-DE", currency="EUR").money(1234.5, 2) == "1.234,50\xa0€"
    assert NumberFormat.for_locale("de-DE", currency="GBP").money(99.5) == "99,50\xa0£"
    # a code that is not a well-known symbol is written out, spaced from the amount
    assert NumberFormat.for_locale("en-US", currency="SEK").money(10, 0) == "SEK\xa010"
    # without a currency the amount stands alone and titles say "money"
    bare = NumberFormat.for_locale("en-US")
    assert bare.money(1234.5) == "1,235" and bare.money_unit() == "money"


def test_excel_money_formats_quote_the_currency() -> None:
    assert NumberFormat.for_locale("en-GB", currency="GBP").excel_money_format(2) == ('"£"#,##0.00')
    assert NumberFormat.for_locale("fr-FR", currency="EUR").excel_money_format() == '#,##0" €"'
    assert NumberFormat.for_locale("en-US").excel_money_format() == "#,##0"


def test_chart_locale_uses_our_currency_and_separators() -> None:
    d3 = NumberFormat.for_locale("de-DE", currency="GBP").d3_locale()
    assert d3["decimal"] == "," and d3["thousands"] == "."
    assert d3["currency"] == ["", "\xa0£"]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "de_DE.UTF-8"}, "de-DE"),
        ({"LANG": "de_DE.UTF-8", "LC_NUMERIC": "fr_FR.UTF-8"}, "fr-FR"),
        ({"LC_ALL": "en_GB", "LANG": "de_DE"}, "en-GB"),
        ({"LANG": "C.UTF-8"}, "en-US"),
        ({"LANG": "POSIX"}, "en-US"),
        ({"LANG": "pt"}, "pt-PT"),
        ({"LANG": "xx_YY"}, "en-US"),
        ({}, "en-US"),
    ],
)
def test_locale_comes_from_the_environment(environ: dict[str, str], expected: str) -> None:
    assert formats.locale_from_env(environ) == expected


def test_the_active_format_is_the_environments_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    assert formats.active().integer(4338) == "4.338"
    with formats.using(NumberFormat.for_locale("en-GB")):
        assert formats.active().integer(4338) == "4,338"


def test_columns_get_one_format_and_a_title_with_their_unit() -> None:
    f = NumberFormat.for_locale("en-GB", currency="GBP", period=PERIOD)
    median_count = ColumnFormat.of("median__invoice_count", [28.0, 184.0], f)
    assert [median_count.text(v) for v in (28.0, 184.0)] == ["28", "184"]
    assert median_count.title() == "median invoice count"
    money = ColumnFormat.of("median__total_net_sales", [164.18, 2050.0], f)
    assert money.text(164.18) == "£164" and money.text(2050.0) == "£2,050"
    assert money.title() == "median total net sales (GBP, 2010-12-01 to 2011-12-09)"
    small = ColumnFormat.of("net_sales_per_unit", [1.75, 2.125], f)
    assert small.text(1.75) == "£1.75" and small.title() == "net sales per unit (GBP per unit)"
    monthly = ColumnFormat.of("expected_value", [12.5], f)
    assert monthly.title() == "expected value (GBP per month)"
    backtest = ColumnFormat.of("hit_revenue", [12000.0], f)
    assert backtest.title() == "hit revenue (GBP after the split)"
    share = ColumnFormat.of("customer_share", [0.426], f)
    assert share.text(0.426) == "42.6%" and share.title() == "customer share (%)"
    ident = ColumnFormat.of("customer_id", [12347], f, integer=True)
    assert ident.text(12347) == "12347"  # an identifier is never grouped
    days = ColumnFormat.of("recency_days", [3.25, 40.5], f)
    assert days.title() == "recency days" and days.text(40.5) == "40.5"
    # a whole value never shows decimals, even in a column of halves (medians of counts)
    quantity = ColumnFormat.of("median__total_quantity", [1162.5, 184.0], f)
    assert (quantity.text(1162.5), quantity.text(184.0)) == ("1,162.5", "184")
    recency = ColumnFormat.of("median__recency_days", [21.0, 93.1], f)
    assert (recency.text(21.0), recency.text(93.1)) == ("21", "93.1")
    lift = ColumnFormat.of("lift", [5.123, 47.9], f)
    assert (lift.text(5.123), lift.text(47.9)) == ("5.1", "47.9")


def test_locale_option_is_checked_with_a_suggestion() -> None:
    assert ReportOptions(locale="de-DE").validate().locale == "de-DE"
    with pytest.raises(ParameterError, match="did you mean 'de-DE'"):
        ReportOptions(locale="de_DE").validate()
    with pytest.raises(ParameterError, match="currency must be a non-empty text"):
        ReportOptions(currency=" ").validate()


def test_module_examples_hold() -> None:
    result = doctest.testmod(formats)
    assert result.attempted > 10 and result.failed == 0
