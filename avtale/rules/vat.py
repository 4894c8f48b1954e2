"""The VAT an invoice charges (SPEC VI B1): ``vat_for(seller country, buyer country, day)``.

All customers are businesses (B2B) buying services, so the rule is the one a Nordic
seller follows for business customers: a customer in the seller's country pays the
seller country's standard rate (category S); a customer in another country of the EU/EEA
pays no VAT and accounts for it itself (reverse charge, category AE); a customer outside
the EU/EEA (or any customer of a seller outside it) pays no VAT either, as an export
(category G). The invoice must say which, in words. Categories are named as Peppol BIS
Billing 3.0 names them. Rates, EU and EEA membership and the wording are data:
``avtale/config/vat.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from avtale.rules.loading import CONFIG_DIR, Entry, RuleError, document, read_yaml

VAT_FILE = CONFIG_DIR / "vat.yaml"
STANDARD = "S"
REVERSE_CHARGE = "AE"
EXPORT = "G"
# The EEA beyond the EU, and the words of an export, for a vat.yaml written before they
# were there: the shipped file states both.
DEFAULT_EEA_MEMBERS = frozenset({"IS", "LI", "NO"})
DEFAULT_EXPORT_WORDING = {"en": "Export outside the EEA"}
COUNTRY_CODE = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True)
class VatTreatment:
    rate: Decimal  # percent
    category: str  # STANDARD, REVERSE_CHARGE or EXPORT
    note: str  # what the invoice must print; empty for the standard rate


@dataclass(frozen=True)
class VatRules:
    # Country -> (first day, rate) in date order.
    rates: dict[str, tuple[tuple[date, Decimal], ...]]
    eu_members: frozenset[str]
    # Document language -> the words for reverse charge ("en" is always there).
    reverse_charge: dict[str, str]
    eu_reference: str
    version: int
    # The EEA countries outside the EU: with the EU, where reverse charge applies.
    eea_members: frozenset[str] = DEFAULT_EEA_MEMBERS
    # Document language -> the words for an export outside the EU/EEA ("en" is there).
    export: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_EXPORT_WORDING))

    @property
    def single_market(self) -> frozenset[str]:
        """The EU and EEA countries: between two of them a business buyer reverse-charges."""
        return self.eu_members | self.eea_members

    def standard_rate(self, country: str, on: date) -> Decimal:
        history = self.rates.get(country)
        if history is None:
            raise RuleError("vat.yaml", "standard_rates", f"has no rate for {country}")
        in_force = [rate for start, rate in history if start <= on]
        if not in_force:
            raise RuleError("vat.yaml", f"standard_rates.{country}", f"has no rate on {on}")
        return in_force[-1]


def country_code(entry: Entry) -> str:
    """A two-letter country code; a bare NO, which YAML reads as false, is named as such."""
    if isinstance(entry.value, bool):
        entry.fail('must be a quoted country code such as "NO" (YAML reads a bare NO as false)')
    if not isinstance(entry.value, str) or not COUNTRY_CODE.fullmatch(entry.value):
        entry.fail("must be a two-letter country code in capitals, such as NO")
    return entry.value


def _history(entry: Entry) -> tuple[tuple[date, Decimal], ...]:
    if not isinstance(entry.value, list):
        return ((date.min, entry.number(minimum=0, maximum=100)),)
    history = []
    for item in entry.items():
        fields = item.fields(required=("from", "rate"))
        if not isinstance(fields["from"].value, date):
            fields["from"].fail("must be a date (YYYY-MM-DD)")
        history.append((fields["from"].value, fields["rate"].number(minimum=0, maximum=100)))
    if [start for start, _ in history] != sorted({start for start, _ in history}):
        entry.fail("dates must be in order, each once")
    return tuple(history)


def load_vat_rules(path: Path | str = VAT_FILE) -> VatRules:
    """The rules in ``path``; a mistake raises ``RuleError`` naming the file and entry."""
    source, content = read_yaml(path)
    version, fields = document(
        source,
        content,
        required=("standard_rates", "eu_members", "reverse_charge", "eu_reference"),
        optional=("eea_members", "export"),
    )
    rates_entry = fields["standard_rates"]
    if not isinstance(rates_entry.value, dict) or not rates_entry.value:
        rates_entry.fail("must map country codes to rates")
    rates = {}
    for key, value in rates_entry.value.items():
        code = country_code(rates_entry.at(str(key), key))
        rates[code] = _history(rates_entry.at(code, value))
    members = frozenset(country_code(item) for item in fields["eu_members"].items())
    eea = DEFAULT_EEA_MEMBERS
    if "eea_members" in fields:
        eea = frozenset(country_code(item) for item in fields["eea_members"].items())
    export = DEFAULT_EXPORT_WORDING
    if "export" in fields:
        export = _wording(fields["export"])
    return VatRules(
        rates,
        members,
        _wording(fields["reverse_charge"]),
        fields["eu_reference"].text(),
        version,
        eea,
        dict(export),
    )


def _wording(entry: Entry) -> dict[str, str]:
    if not isinstance(entry.value, dict) or "en" not in entry.value:
        entry.fail("must give the words per language, English (en) among them")
    return {str(key): entry.at(str(key), value).text() for key, value in entry.value.items()}


def _note(wording: dict[str, str], language: str) -> str:
    """The words in the invoice's language, then in English (the English alone when the
    language has none of its own)."""
    words = [wording["en"]]
    if language != "en" and language in wording:
        words.insert(0, wording[language])
    return " / ".join(words)


@cache
def _default_rules() -> VatRules:
    return load_vat_rules()


def vat_for(
    seller_country: str,
    buyer_country: str,
    on: date,
    *,
    language: str = "en",
    rules: VatRules | None = None,
) -> VatTreatment:
    """The VAT of an invoice from a seller in ``seller_country`` to a business in
    ``buyer_country`` dated ``on``, its note in the invoice's ``language``."""
    rules = rules or _default_rules()
    if seller_country == buyer_country:
        return VatTreatment(rules.standard_rate(seller_country, on), STANDARD, "")
    rules.standard_rate(seller_country, on)  # a seller's country must be known to invoice
    if not {seller_country, buyer_country} <= rules.single_market:
        return VatTreatment(Decimal(0), EXPORT, _note(rules.export, language))
    note = _note(rules.reverse_charge, language)
    if {seller_country, buyer_country} <= rules.eu_members:
        note += f" – {rules.eu_reference}"
    return VatTreatment(Decimal(0), REVERSE_CHARGE, note)
