"""How the app shows numbers, amounts, dates and months: in the logged-in user's locale
(nb, da, sv, en; Admin → Users), through the same Babel formatter documents use
(``docgen.locale.Formatter``). The app's own words stay English; only formatting and
product names follow the locale.

One format per locale: amounts with the currency as the locale writes it (nb
``1 250,50 kr``), days in the locale's medium format (nb ``3. des. 2026``, en ``3 Dec
2026``), months (nb ``des. 2026``), times as day and ``HH:mm`` in the business's zone, rates
with one decimal (nb ``12,5 %``). Tiles show amounts of a million or more in whole units
(``12 431 250 kr``): exact, and no øre nobody reads. Babel's separators are non-breaking
spaces, kept as they are: an amount never breaks over two lines.

Tables keep their numbers and dates as values, so they sort as numbers and dates;
``table`` formats them for display with the user's locale (Streamlit's own ``localized``
format would follow the browser, not the user's setting).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import cache
from typing import Any, Literal

import pandas as pd
import streamlit as st
from babel.dates import format_time
from babel.numbers import format_currency, format_percent, get_decimal_symbol, get_group_symbol

from avtale.dates import business_zone
from avtale.vocabulary import DEFAULT_LOCALE, USER_LOCALES
from docgen.locale import Formatter

# Where ``access.current_user`` leaves the logged-in user's locale for this run.
LOCALE_KEY = "user_locale"
LOCALE_NAMES = {"nb": "Norsk bokmål", "da": "Dansk", "sv": "Svenska", "en": "English"}
MILLION = 1_000_000
DASH = "–"

Kind = Literal[
    "money",
    "nok",
    "signed",
    "whole",
    "integer",
    "quantity",
    "percent",
    "rate",
    "day",
    "moment",
    "record",
    "sentence",
]
# The systems a marts id (``<source>:<id>``) comes from, as readers call them; the app's
# own records go by their number alone.
SOURCE_NAMES = {"hubspot": "HubSpot", "odoo": "Odoo", "generic": "Accounting"}


class Shown(Formatter):
    """docgen's formatter with what screens need beyond documents: tiles, months, times,
    rates as fractions, and table formats."""

    def money(self, amount: object, currency: str = "NOK", max_places: int | None = None) -> str:
        return super().money(_number(amount), currency, max_places)

    def whole_money(self, amount: object, currency: str = "NOK") -> str:
        """An amount in whole units: nb ``12 431 250 kr``."""
        pattern = str(self.locale.currency_formats["standard"].pattern).replace(".00", "")
        return format_currency(
            round(_number(amount)),
            str(currency).upper(),
            format=pattern,
            locale=self.locale,
            currency_digits=False,
        )

    def tile_money(self, amount: object, currency: str = "NOK") -> str:
        """An amount on a tile: whole units from a million on, else with øre."""
        if abs(_number(amount)) >= MILLION:
            return self.whole_money(amount, currency)
        return self.money(amount, currency)

    def change(self, amount: object, currency: str = "NOK") -> str:
        """A change with its sign (a tile's delta: Streamlit colours it by the sign)."""
        value = _number(amount)
        return ("+" if value > 0 else "-" if value < 0 else "") + self.tile_money(
            abs(value), currency
        )

    def count(self, value: object) -> str:
        """A whole number: nb ``12 431``."""
        return self.number(int(_number(value)), 0)

    def signed(self, value: object, places: int = 2) -> str:
        """A change in a plain number, with its sign: ``+1 250,50``, ``-3``."""
        number = _number(value)
        sign = "+" if number > 0 else "-" if number < 0 else ""
        return sign + self.number(abs(number), places)

    def rate(self, fraction: object, places: int = 1) -> str:
        """A rate given as a fraction: 0.125 -> nb ``12,5 %``; missing -> ``–``."""
        if fraction is None or pd.isna(fraction):  # type: ignore[call-overload]
            return DASH
        pattern = str(self.locale.percent_formats[None].pattern)
        if places:
            pattern = pattern.replace("0", "0." + "0" * places, 1)
        return format_percent(_number(fraction), format=pattern, locale=self.locale)

    def day(self, value: object) -> str:
        """A day in the locale's one date format: nb ``3. des. 2026``."""
        if value is None or value is pd.NaT:
            return ""
        return self.date(value, "medium")

    def moment(self, value: datetime | None) -> str:
        """A time as its day and ``HH:mm`` in the business's time zone."""
        if value is None or value is pd.NaT:
            return ""
        local = value.astimezone(business_zone())
        return f"{self.date(local, 'medium')} {format_time(local, 'HH:mm', locale=self.locale)}"

    def separators(self) -> str:
        """Plotly's ``separators`` layout property: the decimal, then the group symbol."""
        return get_decimal_symbol(self.locale) + get_group_symbol(self.locale)

    def cell(self, kind: Kind, value: Any, currency: str = "NOK") -> str:
        """A table cell of ``kind`` as text; a missing value is empty."""
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        if kind == "money":
            return self.number(_number(value), 2)
        if kind == "nok":
            return self.money(value, currency)
        if kind == "signed":
            return self.signed(value)
        if kind == "whole":
            return self.number(round(_number(value)), 0)
        if kind == "integer":
            return self.number(int(value), 0)
        if kind == "quantity":
            return self.quantity(value)
        if kind == "percent":
            return self.percent(value)
        if kind == "rate":
            return self.rate(value)
        if kind == "moment":
            return self.moment(pd.Timestamp(value).to_pydatetime())
        if kind == "record":
            return record_id(value)
        if kind == "sentence":
            return self.sentence(str(value))
        return self.day(value)

    def quantity(self, value: object) -> str:
        """A number with the decimals it has (a quantity of 2.5, a discount of 12.75)."""
        number = _number(value)
        text = f"{number:.6f}".rstrip("0").rstrip(".")
        places = len(text.partition(".")[2])
        return self.number(number, places)


def record_id(value: object) -> str:
    """A customer's or contract's marts id as a reader knows it: ``app:CT-000002`` ->
    ``CT-000002``, ``hubspot:123`` -> ``HubSpot 123``; anything else as it is."""
    text = "" if value is None else str(value)
    source, colon, rest = text.partition(":")
    if not colon or not rest:
        return text
    if source == "app":
        return rest
    return f"{SOURCE_NAMES.get(source, source.capitalize())} {rest}"


def _number(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    return float(value)  # type: ignore[arg-type]


@cache
def formatter(locale: str) -> Shown:
    """The formatter of one of USER_LOCALES (any other reads as the default)."""
    return Shown(locale if locale in USER_LOCALES else DEFAULT_LOCALE)


def locale() -> str:
    """The logged-in user's locale (the default before anyone logs in)."""
    return str(st.session_state.get(LOCALE_KEY) or DEFAULT_LOCALE)


def current() -> Shown:
    return formatter(locale())


# --- the shortcuts pages use ----------------------------------------------------------


def money(amount: object, currency: str = "NOK") -> str:
    return current().money(amount, currency)


def tile(amount: object, currency: str = "NOK") -> str:
    return current().tile_money(amount, currency)


def change(amount: object, currency: str = "NOK") -> str:
    return current().change(amount, currency)


def rate(fraction: object) -> str:
    return current().rate(fraction)


def count(value: object) -> str:
    return current().count(value)


def signed(value: object, places: int = 2) -> str:
    return current().signed(value, places)


def signed_count(value: object) -> str:
    return current().signed(value, 0)


def number(value: object, places: int = 2) -> str:
    """A plain number (a ratio); missing -> ``–``."""
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return DASH
    return current().number(_number(value), places)


def day(value: object) -> str:
    return current().day(value)


def moment(value: datetime | None) -> str:
    return current().moment(value)


def month(value: date | pd.Timestamp) -> str:
    return current().month(value)


def sentence(text: str) -> str:
    return current().sentence(text)


def bound(show: Callable[[Shown, Any], str]) -> Callable[[Any], str]:
    """A widget's ``format_func`` formatting with the locale of this run: Streamlit may call
    it outside the run (AppTest does), where the session's locale is not to be read."""
    shown = current()
    return lambda value: show(shown, value)


# How a date picker writes its day per locale (Streamlit offers year, month and day in
# these orders with - / or .): as the locale writes a short date.
DATE_INPUT_FORMATS = {
    "nb": "DD.MM.YYYY",
    "da": "DD.MM.YYYY",
    "sv": "YYYY-MM-DD",
    "en": "DD/MM/YYYY",
}


def date_input_format() -> Literal["DD.MM.YYYY", "YYYY-MM-DD", "DD/MM/YYYY"]:
    """``st.date_input``'s ``format`` for the user's locale: nb ``03.12.2026``."""
    return DATE_INPUT_FORMATS[current().language]  # type: ignore[return-value]


def editor_config(column_config: Mapping[str, Any]) -> dict[str, Any]:
    """An editable table's ``column_config`` with its days shown and typed the way this
    locale's date pickers take them (nb ``03.12.2026``): Streamlit applies no Styler to an
    editable table, so its date columns carry the format themselves."""
    config = dict(column_config)
    for name, entry in config.items():
        typed = entry.get("type_config") if isinstance(entry, Mapping) else None
        if typed and typed.get("type") == "date" and not typed.get("format"):
            config[name] = {**entry, "type_config": {**typed, "format": date_input_format()}}
    return config


def product_name(item: Mapping[str, Any]) -> str:
    """A catalogue product's name in the user's locale (``names``), else its name."""
    return str((item.get("names") or {}).get(locale()) or item["name"])


def plotly_layout() -> dict[str, Any]:
    """Layout properties that make a chart's numbers read as the user's locale."""
    return {"separators": current().separators()}


def table(
    frame: pd.DataFrame,
    column_config: Mapping[str, Any] | None = None,
    kinds: Mapping[str, Kind] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """``frame`` and its ``column_config`` for ``st.dataframe``, with numbers and dates shown
    in the user's locale: a pandas Styler, so the cells keep their values (and sort by them)
    while showing the locale's text. Streamlit's own formats would win over the Styler's
    (and its ``localized`` follows the browser, not the user), so each column's printf or
    date format is read as what it shows (``kind_of``) and left out of the config; ``kinds``
    names the others (``record``: an id shown as ``record_id`` does)."""
    config = dict(column_config or {})
    if not isinstance(frame, pd.DataFrame):
        return frame, config
    shown_as: dict[str, Kind] = {}
    for column in frame.columns:
        name = str(column)
        kind = (kinds or {}).get(name) or kind_of(config.get(name), frame[column])
        if kind is None:
            continue
        shown_as[name] = kind
        entry = config.get(name)
        if isinstance(entry, Mapping) and "type_config" in entry:
            config[name] = {**entry, "type_config": {**entry["type_config"], "format": None}}
    if not shown_as:
        return frame, config
    shown = current()
    return frame.style.format(
        {name: (lambda value, k=kind: shown.cell(k, value)) for name, kind in shown_as.items()}
    ), config


def kind_of(entry: Any, values: pd.Series) -> Kind | None:
    """How a column shows, from its column config (a NumberColumn's printf format, a
    DateColumn) or, without one, its dtype (dates and times); None: as Streamlit shows it."""
    typed = entry.get("type_config") if isinstance(entry, Mapping) else None
    if typed:
        format = typed.get("format") or ""
        if typed.get("type") == "number" and format:
            if format.startswith("NOK "):
                return "nok"
            if format.startswith("%+"):
                return "signed"
            if format.endswith("g"):
                return "quantity"
            if format.endswith("d"):
                return "integer" if "," in format else None
            return "money" if ".2f" in format else "whole" if ".0f" in format else None
        if typed.get("type") == "date":
            return "day"
        if typed.get("type") == "datetime":
            return "moment"
        return None
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return "moment"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "day"
    first = values.dropna().head(1).tolist()
    if first and isinstance(first[0], date):
        return "moment" if isinstance(first[0], datetime) else "day"
    return None
