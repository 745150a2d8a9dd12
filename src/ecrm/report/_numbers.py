"""Number formats of the report per language: 万 / 亿 in Chinese, K / M / B in English.

Compact forms are for headline figures, chart ticks and value labels; tables keep exact
figures (thousands separators) so an operator can reconcile them. No form ever shows
``-0``: a value that rounds to zero is written ``0``.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["Lang", "Words", "compact", "count", "money", "percent", "plain"]

Lang = Literal["zh", "en"]

# (size of the unit, its suffix), largest first
_UNITS: Final[dict[str, tuple[tuple[float, str], ...]]] = {
    "zh": ((1e8, "亿"), (1e4, "万")),
    "en": ((1e9, "B"), (1e6, "M"), (1e3, "K")),
}
# below this magnitude a number is written in full with thousands separators
_FULL_BELOW: Final = 10_000.0
_SYMBOLS: Final = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$",
                   "TWD": "NT$"}


def _trim(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _scaled(x: float) -> str:
    """``x`` (≥ 1, < 10,000) with 3 significant digits (4 above 1,000), zeros trimmed."""
    digits = 2 if x < 10 else 1 if x < 100 else 0
    return _trim(f"{x:.{digits}f}")


def plain(value: float, *, decimals: int = 0) -> str:
    """``value`` with thousands separators and ``decimals`` places; never ``-0``.

    >>> plain(-0.004, decimals=2), plain(1234567)
    ('0.00', '1,234,567')
    """
    text = f"{value:,.{decimals}f}"
    if text.lstrip("-").replace("0", "").replace(".", "").replace(",", "") == "":
        return text.lstrip("-")
    return text


def compact(value: float, lang: Lang) -> str:
    """A short form of ``value``: 12345 → ``1.23万`` (zh) or ``12.3K`` (en).

    Magnitudes under 10,000 are written in full (``9,999``; up to 2 decimals for
    fractions, trailing zeros trimmed); larger ones in the largest unit they reach, with
    three significant digits (``1.23万``, ``12.3万``, ``123万``, ``1235万``, ``1.23亿``).

    >>> compact(12345, "zh"), compact(123456789, "zh"), compact(-0.001, "zh")
    ('1.23万', '1.23亿', '0')
    >>> compact(12345, "en"), compact(2_500_000, "en"), compact(999, "en")
    ('12.3K', '2.5M', '999')
    """
    sign = "-" if value < 0 else ""
    x = abs(float(value))
    if x < _FULL_BELOW:
        text = f"{x:,.0f}" if x == round(x) else _trim(f"{x:,.2f}")
        return "0" if text == "0" else sign + text
    units = _UNITS[lang]
    for k, (size, suffix) in enumerate(units):
        if x >= size:
            text = _scaled(x / size)
            # 9999.6万 rounds to 10000万: write it in the bigger unit, 1亿
            if k > 0 and float(text) * size >= units[k - 1][0]:
                return sign + _scaled(x / units[k - 1][0]) + units[k - 1][1]
            return sign + text + suffix
    raise AssertionError("unreachable: magnitudes ≥ 10,000 reach the smallest unit")


def count(n: int) -> str:
    """An exact count with thousands separators (tables): ``23,570``."""
    return f"{int(n):,}"


def money(fen: float, currency: str, lang: Lang, *, short: bool = False) -> str:
    """An amount of minor units in ``currency``: ``¥1,234.50``, or ``¥1.23万`` when
    ``short`` (headline figures and charts).

    >>> money(123456, "CNY", "zh"), money(123456789, "CNY", "zh", short=True)
    ('¥1,234.56', '¥123万')
    >>> money(-5, "USD", "en")
    '-$0.05'
    """
    symbol = _SYMBOLS.get(currency, currency + " ")
    yuan = fen / 100
    sign = "-" if yuan < 0 and plain(abs(yuan), decimals=2) != "0.00" else ""
    if short and abs(yuan) >= _FULL_BELOW:
        return sign + symbol + compact(abs(yuan), lang)
    return sign + symbol + plain(abs(yuan), decimals=2)


def percent(x: float | None, *, decimals: int = 1) -> str:
    """A share as a percentage (``0.1234`` → ``12.3%``); ``-`` for None; never ``-0.0%``."""
    if x is None:
        return "-"
    return plain(float(x) * 100, decimals=decimals) + "%"


class Words:
    """The page's words and number formats in one language.

    ``w("sales", "销售额")`` picks the text of the language; the other methods write
    numbers the way that language's reader expects.
    """

    def __init__(self, lang: Lang, currency: str) -> None:
        self.lang: Lang = lang
        self.currency = currency

    def __call__(self, en: str, zh: str) -> str:
        return zh if self.lang == "zh" else en

    def money(self, fen: float, *, short: bool = False) -> str:
        """Minor units in the shop's currency (``short``: 万 / K forms above 10,000)."""
        return money(fen, self.currency, self.lang, short=short)

    def amount(self, fen: int, currency: str) -> str:
        """Minor units in another currency than the shop's (an SMS price in CNY)."""
        return money(fen, currency, self.lang)

    def count(self, n: float) -> str:
        """An exact count: ``23,570``."""
        return count(int(n))

    def short(self, x: float) -> str:
        """A compact number: ``2.36万`` / ``23.6K``."""
        return compact(x, self.lang)

    def share(self, part: float, whole: float) -> str:
        """``part / whole`` as a percentage, ``-`` when ``whole`` is 0."""
        return percent(part / whole) if whole else "-"

    def days(self, n: int | None) -> str:
        """``12 days`` / ``12 天``; ``-`` for None."""
        if n is None:
            return "-"
        return f"{n} 天" if self.lang == "zh" else f"{n} days"
