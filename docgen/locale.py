"""Numbers, amounts, dates and billing periods as the document's language writes them.

Babel does the locale work; the phrase books in ``builtin/labels`` hold the words Babel
does not know (billing period names, headings, field labels).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency, format_decimal, format_percent
from babel.units import format_unit

LANGUAGES = {
    "nb": "nb_NO",
    "da": "da_DK",
    "sv": "sv_SE",
    "de": "de_DE",
    "nl": "nl_NL",
    "en": "en_GB",
}
# The billing periods the phrase books name: an app contract's. docgen stays a pure core that
# imports nothing of avtale, so it lists them itself; tests/test_vocabulary.py keeps the list
# equal to avtale.vocabulary.APP_BILLING_PERIODS.
BILLING_PERIODS = (
    "one_off",
    "weekly",
    "monthly",
    "quarterly",
    "half_yearly",
    "yearly",
    "two_yearly",
    "three_yearly",
    "every_n_months",
)
LABELS_DIR = Path(__file__).resolve().parent / "builtin" / "labels"

DateFormat = Literal["long", "medium", "short"]


def check_language(language: str) -> str:
    """``language`` itself when supported; a ValueError naming the supported ones if not."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; use one of: {', '.join(LANGUAGES)}")
    return language


@cache
def load_labels(language: str) -> dict[str, str]:
    """The phrase book of ``language`` (read once; callers must not change it)."""
    path = LABELS_DIR / f"{check_language(language)}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {str(key): str(value) for key, value in data.items()}


def to_decimal(value: object) -> Decimal:
    """A Decimal from what the repository passes: Decimal, int, float or numeric text."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # Through str so 0.1 stays 0.1 instead of its binary expansion.
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            pass
    raise ValueError(f"not a number: {value!r}")


def to_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).date()
        except ValueError:
            pass
    raise ValueError(f"not a date: {value!r}")


# The values inside a sentence the warehouse writes for readers (a deadline's or a health
# signal's ``detail``), in the one form dbt writes them (ARCHITECTURE.md): days as ISO 8601,
# months as ``2027-02``, amounts as ``DKK 332640.00``, percents as ``12.5 %``.
SENTENCE_VALUES = re.compile(
    r"(?<![\w.-])(?:(?P<day>\d{4}-\d{2}-\d{2})|(?P<month>\d{4}-\d{2})"
    r"|(?P<currency>[A-Z]{3}) (?P<amount>-?\d+\.\d{2})|(?P<percent>\d+(?:\.\d+)?) %)(?![\w.-])"
)


class Formatter:
    """Formatting for one document language; the template filters are its methods."""

    def __init__(self, language: str) -> None:
        self.language = check_language(language)
        self.locale = Locale.parse(LANGUAGES[language])
        self.labels = load_labels(language)

    def money(self, amount: object, currency: str, max_places: int | None = None) -> str:
        """``amount`` with the currency's decimals; with ``max_places``, also the further
        decimals it has up to that many (a unit price of 0.1234 is not 0.12)."""
        value = to_decimal(amount)
        if max_places is None:
            return format_currency(value, str(currency).upper(), locale=self.locale)
        # normalize() drops trailing zeros, so 19.0000 prints as the currency's 19.00.
        value = value.quantize(Decimal(1).scaleb(-max_places), ROUND_HALF_UP).normalize()
        return format_currency(
            value, str(currency).upper(), locale=self.locale, decimal_quantization=False
        )

    def number(self, value: object, places: int = 2) -> str:
        pattern = "#,##0" + ("." + "0" * places if places > 0 else "")
        return format_decimal(to_decimal(value), format=pattern, locale=self.locale)

    def percent(self, value: object) -> str:
        """``value`` is a percent number: 12.5 is "12,5 %" in Norwegian."""
        # decimal_quantization=False keeps the decimals the locale pattern would round off.
        return format_percent(
            to_decimal(value) / 100, locale=self.locale, decimal_quantization=False
        )

    def date(self, value: object, format: DateFormat = "long") -> str:
        if format not in ("long", "medium", "short"):
            raise ValueError(f"date format must be long, medium or short, not {format!r}")
        return format_date(to_date(value), format=format, locale=self.locale)

    def month(self, value: object) -> str:
        """A month: nb ``des. 2026``, en ``Dec 2026``."""
        return format_skeleton("yMMM", to_date(value), locale=self.locale)

    def sentence(self, text: str) -> str:
        """A sentence of the warehouse's with its days, months, amounts and percents in this
        locale (days in the medium format): nb ``Notice deadline 11. feb. 2027`` for
        ``Notice deadline 2027-02-11``; ``DKK 332640.00`` is nb ``332 640,00 DKK``."""

        def shown(found: re.Match[str]) -> str:
            if found["day"]:
                return self.date(found["day"], "medium")
            if found["month"]:
                return self.month(found["month"] + "-01")
            if found["amount"]:
                return self.money(found["amount"], found["currency"])
            return self.percent(found["percent"])

        return SENTENCE_VALUES.sub(shown, text)

    def period(self, billing_period: str, interval: object = None) -> str:
        """The billing period's name; ``interval`` (months) is needed by every_n_months."""
        if billing_period not in BILLING_PERIODS:
            raise ValueError(
                f"unknown billing period {billing_period!r}; use one of: "
                + ", ".join(BILLING_PERIODS)
            )
        text = self.labels[f"period_{billing_period}"]
        if billing_period == "every_n_months":
            if interval is None:
                raise ValueError("every_n_months needs the interval in months")
            text = text.replace("{n}", self.number(interval, 0))
        return text

    def months(self, value: object) -> str:
        """A duration in months with the locale's plural: "1 måned", "12 måneder"."""
        return format_unit(to_decimal(value), "duration-month", locale=self.locale)

    def country(self, code: str) -> str:
        """The country's name in the document language; unknown codes are kept as given."""
        return str(self.locale.territories.get(str(code).upper(), code))
