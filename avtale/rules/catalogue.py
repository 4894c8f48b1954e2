"""The product catalogue with its price lists (``catalogue.yaml``): what the guided flow offers
as line items, and at which list price per price list and currency."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from avtale.rules.loading import RULES_DIR, Entry, document, read_yaml
from avtale.vocabulary import APP_BILLING_PERIODS
from docgen.locale import LANGUAGES

CATALOGUE_FILE = RULES_DIR / "catalogue.yaml"
CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")  # fits the products table's code (40)
CURRENCY = re.compile(r"[A-Z]{3}")  # ISO 4217


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    billing_period: str
    licence: bool = False
    billing_interval_months: int | None = None
    # language -> the product's name in it ("nb" -> "Assist-lisens"); ``name`` otherwise.
    names: Mapping[str, str] = field(default_factory=dict)
    # (price list, currency) -> unit price per billing period: ("standard", "NOK") -> 149.
    prices: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)

    def price(self, price_list: str = "standard", currency: str = "NOK") -> Decimal | None:
        """The unit price in ``price_list`` and ``currency``; None when the list has none."""
        return self.prices.get((price_list, currency.upper()))


def load_catalogue(path: Path | str | None = None) -> list[Product]:
    """The products in ``path`` (default: the ``catalogue.yaml`` beside this module)."""
    source, data = read_yaml(path or CATALOGUE_FILE)
    return parse_catalogue(data, source=source)


def parse_catalogue(data: Any, *, source: str = CATALOGUE_FILE.name) -> list[Product]:
    _, fields = document(source, data, required=("products",))
    seen: dict[str, str] = {}
    products = []
    for entry in fields["products"].items():
        product = _product(entry)
        if product.code in seen:
            entry.at("code", product.code).fail(
                f"'{product.code}' is already used by {seen[product.code]}"
            )
        seen[product.code] = entry.path
        products.append(product)
    return products


def _product(entry: Entry) -> Product:
    fields = entry.fields(
        required=("code", "name", "billing_period", "prices"),
        optional=("licence", "billing_interval_months", "names"),
    )
    code = fields["code"].text(max_length=40)
    if not CODE.fullmatch(code):
        fields["code"].fail(f"'{code}' must be capitals, digits, '-' or '_' (such as ASSIST-PLUS)")
    period = fields["billing_period"].choice(APP_BILLING_PERIODS)
    interval = None
    if "billing_interval_months" in fields:
        if period != "every_n_months":
            fields["billing_interval_months"].fail("only for billing every N months")
        interval = fields["billing_interval_months"].integer(minimum=1)
    elif period == "every_n_months":
        entry.at("billing_interval_months", None).fail("is required for every N months")
    licence = fields["licence"].boolean() if "licence" in fields else False
    # Licences are counted on recurring lines (routing); a one-off licence would never count.
    if licence and period == "one_off":
        fields["licence"].fail("a licence must be billed periodically, not one-off")
    return Product(
        code=code,
        name=fields["name"].text(max_length=200),
        billing_period=period,
        licence=licence,
        billing_interval_months=interval,
        names=_names(fields["names"]) if "names" in fields else {},
        prices=_prices(fields["prices"]),
    )


def _names(entry: Entry) -> dict[str, str]:
    if not isinstance(entry.value, Mapping) or not entry.value:
        entry.fail("must map languages (such as nb) to the product's name in them")
    names = {}
    for language, name in entry.value.items():
        name_entry = entry.at(str(language), name)
        if language not in LANGUAGES:
            name_entry.fail(f"unknown language {language!r}; use one of: {', '.join(LANGUAGES)}")
        names[str(language)] = name_entry.text(max_length=200)
    return names


def _prices(entry: Entry) -> dict[tuple[str, str], Decimal]:
    if not isinstance(entry.value, Mapping) or not entry.value:
        entry.fail("must map price lists (such as standard) to prices per currency")
    prices: dict[tuple[str, str], Decimal] = {}
    for price_list, currencies in entry.value.items():
        list_entry = entry.at(str(price_list), currencies)
        if not isinstance(price_list, str) or not price_list.strip() or len(price_list) > 40:
            list_entry.fail("a price list needs a name of at most 40 characters")
        if not isinstance(currencies, Mapping) or not currencies:
            list_entry.fail("must map currencies (such as NOK) to prices")
        for currency, amount in currencies.items():
            amount_entry = list_entry.at(str(currency), amount)
            if not isinstance(currency, str) or not CURRENCY.fullmatch(currency):
                amount_entry.fail(f"'{currency}' is not a currency code such as NOK")
            prices[(price_list, currency)] = amount_entry.number(minimum=0)
    return prices
