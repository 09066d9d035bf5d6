"""Numbers for people: integers without decimals, the reader's separators, money with its
currency and every amount with the period it covers.

One module that every renderer calls — the HTML tables and sentences, the workbook, the
terminal summary and the charts — so that a number reads the same everywhere. The separators
come from the d3-format locale of the same name that the charts use (``vl_convert``), so a
table and the chart beside it agree: ``de-DE`` writes ``1.234,5``, ``fr-FR`` ``1 234,5``,
``en-GB`` ``1,234.5``.

* :class:`NumberFormat` formats one value: :meth:`~NumberFormat.integer`,
  :meth:`~NumberFormat.number`, :meth:`~NumberFormat.money`, :meth:`~NumberFormat.share`,
  :meth:`~NumberFormat.compact`.
* :mod:`basketlens.report.columns` says what each column of a run-folder table holds and
  formats a whole column alike with a title that names its unit.
* :func:`locale_from_env` picks the locale from ``LC_ALL`` / ``LC_NUMERIC`` / ``LANG``.
* :func:`using` makes a format the active one for the renderers (:func:`active`).

Example:
    >>> f = NumberFormat.for_locale("de-DE", currency="EUR")
    >>> f.integer(1234567), f.number(164.18, 2), f.money(1234.5, 2)
    ('1.234.567', '164,18', '1.234,50\\xa0€')
    >>> NumberFormat.for_locale("en-GB", currency="GBP").money(1234.5, 0)
    '£1,235'
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import vl_convert

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "NumberFormat",
    "Period",
    "active",
    "decimals_for",
    "locale_from_env",
    "resolve_locale",
    "using",
]

#: The d3-format locales (the charts' own), by name. ``--locale`` accepts these.
LOCALES: tuple[str, ...] = (
    "ar-001", "ar-AE", "ar-BH", "ar-DJ", "ar-DZ", "ar-EG", "ar-EH", "ar-ER", "ar-IL", "ar-IQ",
    "ar-JO", "ar-KM", "ar-KW", "ar-LB", "ar-LY", "ar-MA", "ar-MR", "ar-OM", "ar-PS", "ar-QA",
    "ar-SA", "ar-SD", "ar-SO", "ar-SS", "ar-SY", "ar-TD", "ar-TN", "ar-YE", "ca-ES", "cs-CZ",
    "da-DK", "de-CH", "de-DE", "en-CA", "en-GB", "en-IE", "en-IN", "en-US", "es-BO", "es-ES",
    "es-MX", "fi-FI", "fr-CA", "fr-FR", "he-IL", "hu-HU", "it-IT", "ja-JP", "ko-KR", "mk-MK",
    "nl-NL", "pl-PL", "pt-BR", "pt-PT", "ru-RU", "sl-SI", "sv-SE", "uk-UA", "zh-CN",
)  # fmt: skip
#: The locale when the environment names none (or only ``C`` / ``POSIX``).
DEFAULT_LOCALE = "en-US"
#: Environment variables read for the locale, in order of precedence (as the C library does).
LOCALE_VARIABLES: tuple[str, ...] = ("LC_ALL", "LC_NUMERIC", "LANG")

#: Currencies shown by their symbol (unambiguous ones); any other code is shown as the code.
CURRENCY_SYMBOLS: dict[str, str] = {
    "GBP": "£", "EUR": "€", "JPY": "¥", "INR": "₹", "KRW": "₩", "RUB": "₽", "ILS": "₪",
    "UAH": "₴", "TRY": "₺", "PLN": "zł", "CZK": "Kč", "HUF": "Ft", "BRL": "R$",
}  # fmt: skip


def _language(name: str) -> str:
    return name.split("-")[0].lower()


def resolve_locale(name: str | None) -> str:
    """A d3 locale name for a POSIX or BCP-47 locale name; :data:`DEFAULT_LOCALE` if unknown.

    ``de_DE.UTF-8`` → ``de-DE``; a language alone picks its main country (``fr`` → ``fr-FR``);
    ``C`` and ``POSIX`` mean no locale.

    Example:
        >>> resolve_locale("de_CH.UTF-8"), resolve_locale("fr"), resolve_locale("C.UTF-8")
        ('de-CH', 'fr-FR', 'en-US')
    """
    if not name:
        return DEFAULT_LOCALE
    base = re.split(r"[.@]", name.strip(), maxsplit=1)[0].replace("_", "-")
    if base.upper() in ("C", "POSIX", ""):
        return DEFAULT_LOCALE
    by_fold = {n.casefold(): n for n in LOCALES}
    if base.casefold() in by_fold:
        return by_fold[base.casefold()]
    language = _language(base)
    same = [n for n in LOCALES if _language(n) == language]
    main = [n for n in same if n.split("-")[1].lower() == language]
    if main or same:
        return (main or same)[0]
    return DEFAULT_LOCALE


def locale_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The locale the environment asks for (``LC_ALL``, then ``LC_NUMERIC``, then ``LANG``).

    Example:
        >>> locale_from_env({"LANG": "fr_FR.UTF-8"}), locale_from_env({})
        ('fr-FR', 'en-US')
    """
    env = os.environ if environ is None else environ
    for variable in LOCALE_VARIABLES:
        if env.get(variable):
            return resolve_locale(env[variable])
    return DEFAULT_LOCALE


@dataclass(frozen=True)
class Period:
    """The dates an amount covers (the analysis window), as ISO dates.

    Example:
        >>> Period("2010-12-01 08:26:00", "2011-12-09").label
        '2010-12-01 to 2011-12-09'
    """

    first: str
    last: str

    @property
    def label(self) -> str:
        return f"{str(self.first)[:10]} to {str(self.last)[:10]}"

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> Period | None:
        """The window of a run record (``rows.first_date`` … ``rows.last_date``), if known."""
        rows = info.get("rows") or {}
        first, last = rows.get("first_date"), rows.get("last_date")
        if not first or not last or "None" in (str(first), str(last)):
            return None
        return cls(str(first), str(last))


@dataclass(frozen=True)
class NumberFormat:
    """How numbers read in one locale, and the currency of the money amounts.

    ``currency`` is an ISO code (``GBP``) or a symbol (``€``); None leaves amounts bare and
    says so in titles ("money"). Build with :meth:`for_locale`.
    """

    locale: str = DEFAULT_LOCALE
    decimal: str = "."
    thousands: str = ","
    grouping: tuple[int, ...] = (3,)
    currency: str | None = None
    currency_prefix: bool = True  # the locale writes its currency before the amount
    currency_space: bool = False  # … with a space between them
    percent: str = "%"
    numerals: tuple[str, ...] | None = None
    period: Period | None = None  # the window the money amounts "over the period" cover
    d3: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def for_locale(
        cls,
        locale: str | None = None,
        *,
        currency: str | None = None,
        period: Period | None = None,
    ) -> NumberFormat:
        """The format of ``locale`` (a name of :data:`LOCALES`, a POSIX name, or None for the
        environment's) with ``currency``; ``period`` is the window amounts cover.

        Example:
            >>> NumberFormat.for_locale("fr-FR").integer(1234)
            '1\\xa0234'
        """
        name = locale_from_env() if locale is None else resolve_locale(locale)
        d3 = dict(vl_convert.get_format_locale(name))
        prefix, suffix = [*(d3.get("currency") or ()), "", ""][:2]
        own = prefix or suffix
        numerals = d3.get("numerals")
        return cls(
            locale=name,
            decimal=d3.get("decimal", "."),
            thousands=d3.get("thousands", ","),
            grouping=tuple(d3.get("grouping") or (3,)),
            currency=currency.strip() if currency and currency.strip() else None,
            currency_prefix=bool(prefix) or not suffix,
            currency_space=own != own.strip(),
            percent=d3.get("percent", "%").strip() or "%",
            numerals=tuple(numerals) if numerals else None,
            period=period,
            d3=d3,
        )

    # ------------------------------------------------------------------ one value
    def _group(self, digits: str) -> str:
        if not self.thousands:
            return digits
        parts: list[str] = []
        sizes = list(self.grouping) or [3]
        i, end = 0, len(digits)
        while end > 0:
            size = sizes[min(i, len(sizes) - 1)]
            parts.append(digits[max(0, end - size) : end])
            end -= size
            i += 1
        return self.thousands.join(reversed(parts))

    def _localise(self, text: str) -> str:
        if self.numerals:
            text = text.translate({ord(str(d)): n for d, n in enumerate(self.numerals)})
        return text

    def number(self, value: float | int | None, decimals: int = 2) -> str:
        """``value`` with ``decimals`` decimals and the locale's separators ('' for none/NaN).

        Example:
            >>> NumberFormat.for_locale("de-DE").number(-1234.567, 1)
            '-1.234,6'
        """
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return ""
        exact = Decimal(repr(abs(value))) if isinstance(value, float) else Decimal(abs(value))
        text = f"{exact.quantize(Decimal(1).scaleb(-max(decimals, 0)), ROUND_HALF_UP):f}"
        whole, _, frac = text.partition(".")
        sign = "-" if value < 0 and float(text) != 0 else ""
        out = sign + self._group(whole) + (self.decimal + frac if frac else "")
        return self._localise(out)

    def integer(self, value: float | int | None) -> str:
        """A count: no decimals, grouped thousands.

        Example:
            >>> NumberFormat.for_locale("en-US").integer(28.0)
            '28'
        """
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return ""
        return self.number(value, 0)

    def plain(self, value: float | int | None, *, digits: int = 3) -> str:
        """A measurement with about ``digits`` significant digits; whole numbers stay whole.

        Example:
            >>> f = NumberFormat.for_locale("en-US")
            >>> f.plain(164.18), f.plain(2.0), f.plain(0.01234), f.plain(12345.6)
            ('164', '2', '0.0123', '12,346')
        """
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return ""
        if float(value).is_integer():
            return self.integer(value)
        return self.number(value, decimals_for(abs(value), digits))

    def symbol(self) -> str:
        """The currency as shown next to an amount (a symbol when unambiguous, else the code)."""
        if self.currency is None:
            return ""
        return CURRENCY_SYMBOLS.get(self.currency.upper(), self.currency)

    def money(self, value: float | int | None, decimals: int | None = None) -> str:
        """An amount with its currency, where the locale writes a currency.

        ``decimals`` None: 2 below 1,000, else 0.

        Example:
            >>> NumberFormat.for_locale("en-US", currency="CHF").money(12.5)
            'CHF\\xa012.50'
            >>> NumberFormat.for_locale("en-US").money(1234.5)
            '1,235'
        """
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return ""
        if decimals is None:
            decimals = 2 if abs(value) < 1000 else 0
        amount = self.number(value, decimals)
        return self.with_currency(amount)

    def with_currency(self, amount: str) -> str:
        """``amount`` (already formatted) with the currency on the locale's side."""
        symbol = self.symbol()
        if not symbol:
            return amount
        gap = "\xa0" if self._gap(symbol) else ""
        return f"{symbol}{gap}{amount}" if self.currency_prefix else f"{amount}{gap}{symbol}"

    def share(self, value: float | None, decimals: int | None = None) -> str:
        """A share as a percentage: whole percent, one decimal below 1% (or ``decimals``).

        Example:
            >>> NumberFormat.for_locale("de-DE").share(0.0042), NumberFormat().share(0.93)
            ('0,4%', '93%')
        """
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "n/a"
        if decimals is None:
            decimals = 1 if 0 < abs(value) < 0.01 else 0
        return self.number(value * 100, decimals) + self.percent

    def compact(self, value: float | int | None) -> str:
        """A number for a sentence: 950, 12.3k, 4.1M, 2.0bn.

        Example:
            >>> NumberFormat.for_locale("de-DE").compact(12_345.6)
            '12,3k'
        """
        if value is None:
            return "n/a"
        v = float(value)
        for limit, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
            if abs(v) >= limit:
                return self.number(v / limit, 1) + suffix
        return self.integer(v) if abs(v) >= 10 or v.is_integer() else self.number(v, 2)

    def compact_money(self, value: float | int | None) -> str:
        """:meth:`compact` with the currency: ``£12.3k``."""
        return "n/a" if value is None else self.with_currency(self.compact(value))

    def money_unit(self) -> str:
        """The currency for a title: the code or symbol, or "money" when unknown."""
        return self.currency or "money"

    # ------------------------------------------------------------------ other renderers
    def excel_money_format(self, decimals: int = 0) -> str:
        """An Excel number format for money in this currency (Excel groups by its own locale).

        Example:
            >>> NumberFormat.for_locale("en-GB", currency="GBP").excel_money_format()
            '"£"#,##0'
        """
        body = "#,##0" + ("." + "0" * decimals if decimals else "")
        symbol = self.symbol().replace('"', "")
        if not symbol:
            return body
        gap = " " if self._gap(symbol) else ""
        return f'"{symbol}{gap}"{body}' if self.currency_prefix else f'{body}"{gap}{symbol}"'

    def _gap(self, symbol: str) -> bool:
        """A space between amount and currency: the locale's habit, and always for a code."""
        return self.currency_space or (len(symbol) > 1 and symbol.isalpha())

    def d3_locale(self) -> dict[str, Any]:
        """The d3-format locale for the charts, its currency replaced by ours."""
        d3 = dict(self.d3 or vl_convert.get_format_locale(self.locale))
        symbol = self.symbol()
        if symbol:
            gap = "\xa0" if self._gap(symbol) else ""
            d3["currency"] = [symbol + gap, ""] if self.currency_prefix else ["", gap + symbol]
        return d3


def decimals_for(magnitude: float, digits: int = 3) -> int:
    """Decimals that show about ``digits`` significant digits of a number of this size.

    Example:
        >>> decimals_for(164.18), decimals_for(2.5), decimals_for(0.0123)
        (0, 2, 4)
    """
    if magnitude == 0 or not math.isfinite(magnitude):
        return 0
    return max(0, digits - 1 - math.floor(math.log10(magnitude)))


# ---------------------------------------------------------------------- the active format
_ACTIVE: ContextVar[NumberFormat | None] = ContextVar("basketlens_number_format", default=None)


def active() -> NumberFormat:
    """The format set by :func:`using`, else the environment's locale without a currency."""
    current = _ACTIVE.get()
    return current if current is not None else NumberFormat.for_locale(None)


@contextmanager
def using(fmt: NumberFormat) -> Iterator[NumberFormat]:
    """Make ``fmt`` the active format while rendering (the renderers call :func:`active`).

    Example:
        >>> with using(NumberFormat.for_locale("de-DE")):
        ...     active().integer(1234)
        '1.234'
    """
    token = _ACTIVE.set(fmt)
    try:
        yield fmt
    finally:
        _ACTIVE.reset(token)
