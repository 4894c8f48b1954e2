"""VAT on invoices: the rule of a Nordic seller to business customers, for every pair of
seller and buyer country; the rule file checked when loaded; and real invoice PDFs."""

from __future__ import annotations

import subprocess
from datetime import date
from decimal import Decimal
from itertools import product
from pathlib import Path

import pytest

from avtale.repository import generation, library
from avtale.repository.db import session_scope
from avtale.repository.documents import document_path
from avtale.repository.service import ValidationError, create_contract, create_customer
from avtale.rules.loading import RuleError
from avtale.rules.vat import VAT_FILE, load_vat_rules, vat_for
from avtale.settings import Paths
from tests.conftest import Database

COUNTRIES = ("NO", "SE", "DK", "FI", "DE", "NL")
STANDARD = {"NO": "25", "SE": "25", "DK": "25", "FI": "25.5", "DE": "19", "NL": "21"}
EU = {"SE", "DK", "FI", "DE", "NL"}  # Norway is not in the EU
ARTICLE = "Article 196, Council Directive 2006/112/EC"
ON = date(2026, 3, 1)


def expected(seller: str, buyer: str) -> tuple[Decimal, str, str]:
    if seller == buyer:
        return Decimal(STANDARD[seller]), "S", ""
    note = f"Reverse charge – {ARTICLE}" if {seller, buyer} <= EU else "Reverse charge"
    return Decimal(0), "AE", note


@pytest.mark.parametrize(("seller", "buyer"), list(product(COUNTRIES, COUNTRIES)))
def test_vat_of_every_seller_and_buyer_pair(seller: str, buyer: str) -> None:
    treatment = vat_for(seller, buyer, ON)
    assert (treatment.rate, treatment.category, treatment.note) == expected(seller, buyer)


@pytest.mark.parametrize(
    ("seller", "buyer", "language", "note"),
    [
        ("NO", "DK", "da", "Omvendt betalingspligt / Reverse charge"),
        ("NO", "SE", "nb", "Omvendt avgiftsplikt / Reverse charge"),
        ("SE", "FI", "sv", f"Omvänd skattskyldighet / Reverse charge – {ARTICLE}"),
        (
            "NL",
            "DE",
            "de",
            f"Steuerschuldnerschaft des Leistungsempfängers / Reverse charge – {ARTICLE}",
        ),
        ("DE", "NL", "nl", f"Btw verlegd / Reverse charge – {ARTICLE}"),
        ("DK", "NO", "en", "Reverse charge"),
        ("DK", "NO", "fi", "Reverse charge"),  # no wording of its own: English
    ],
)
def test_the_reverse_charge_note_is_in_the_invoice_language_and_english(
    seller: str, buyer: str, language: str, note: str
) -> None:
    assert vat_for(seller, buyer, ON, language=language).note == note


def test_a_rate_that_changed_applies_from_its_date() -> None:
    # Finland: 24 % until 31 August 2024, 25.5 % from 1 September.
    assert vat_for("FI", "FI", date(2024, 8, 31)).rate == Decimal("24")
    assert vat_for("FI", "FI", date(2024, 9, 1)).rate == Decimal("25.5")


def test_a_seller_country_without_a_rate_is_refused() -> None:
    with pytest.raises(RuleError, match="has no rate for US"):
        vat_for("US", "NO", ON)


NO_RATE = '  "NO": 25\n'


@pytest.mark.parametrize(
    ("find", "replacement", "message"),
    [
        # The bug of the old file: YAML read NO: 25 as False: 25.
        (NO_RATE, "  NO: 25\n", 'standard_rates.False: must be a quoted country code such as "NO"'),
        (
            NO_RATE,
            '  "no": 25\n',
            "standard_rates.no: must be a two-letter country code in capitals",
        ),
        (NO_RATE, '  "NO": many\n', "standard_rates.NO: must be a number"),
        (NO_RATE, '  "NO": 125\n', "standard_rates.NO: must be 100 or less"),
        ("version: 2\n", "version: 2\nreduced: {}\n", "unknown key 'reduced'"),
        ('"LV", ', "NO, ", r"eu_members\[\d+\]: must be a quoted country code"),
        ("  en: Reverse charge\n", "", "reverse_charge: must give the words per language"),
    ],
)
def test_the_rule_file_is_checked_when_loaded(
    tmp_path: Path, find: str, replacement: str, message: str
) -> None:
    path = tmp_path / "vat.yaml"
    text = VAT_FILE.read_text(encoding="utf-8")
    assert find in text
    path.write_text(text.replace(find, replacement), encoding="utf-8")
    with pytest.raises(RuleError, match=message) as refused:
        load_vat_rules(path)
    assert refused.value.source == "vat.yaml"


def test_the_shipped_rule_file_is_valid() -> None:
    rules = load_vat_rules()
    assert set(COUNTRIES) <= set(rules.rates) and "NO" not in rules.eu_members


# --- invoices -----------------------------------------------------------------------------

CURRENCY = {"NO": "NOK", "DK": "DKK", "SE": "SEK"}
ORG_NUMBERS = {"NO": "923609016", "DK": "24256790", "SE": "556016-0680"}


@pytest.fixture
def ready(db: Database) -> Database:
    with session_scope(db.engine) as session:
        library.install_defaults(session)
    return db


def seller_in(tmp_path: Path, country: str) -> Paths:
    home = Paths(tmp_path / "home").ensure()
    (home.home / "seller.yaml").write_text(
        f'name: Nordlys {country}\ncountry: "{country}"\nsignatory_name: Kari\n'
        "signatory_title: CEO\n",
        encoding="utf-8",
    )
    return home


def invoice_text(
    db: Database, home: Paths, buyer: str | None, language: str | None = "en"
) -> tuple[str, dict[str, str]]:
    """The text of a real invoice PDF for 10 × 100 a month to a customer in ``buyer``, in
    ``language`` (None: the customer's)."""
    with session_scope(db.engine) as session:
        customer = create_customer(
            session,
            "sally",
            {"name": "Kunde", "country": buyer, "org_number": ORG_NUMBERS.get(buyer or "")},
        )
        version = create_contract(
            session,
            "sally",
            customer,
            {"start_date": date(2026, 1, 1), "currency": CURRENCY.get(buyer or "", "NOK")},
            [{"product": "Assist", "quantity": 10, "unit_price": 100, "billing_period": "monthly"}],
        )
        document = generation.generate_invoice(
            session,
            "sally",
            home,
            version.contract,
            period_start=date(2026, 2, 1),
            language=language,
        )
        path, source = document_path(home, document), dict(document.source["vat"])
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return " ".join(text.split()), source


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("seller", "buyer", "language", "shown", "vat"),
    [
        # Net 1,000.00 each; amounts as the English locale writes them (NOK250.00).
        ("NO", "NO", "en", ["VAT 25% NOK250.00", "Amount due NOK1,250.00"], ("S", "25")),
        (
            "NO",
            "DK",
            "en",
            ["VAT DKK0.00", "Amount due DKK1,000.00", "Reverse charge"],
            ("AE", "0"),
        ),
        ("SE", "SE", "en", ["VAT 25% SEK250.00", "Amount due SEK1,250.00"], ("S", "25")),
        ("SE", "DK", "en", ["VAT DKK0.00", f"Reverse charge – {ARTICLE}"], ("AE", "0")),
        # In the customer's language (Danish), with the English words beside.
        (
            "NO",
            "DK",
            None,
            ["Moms 0,00 kr.", "Omvendt betalingspligt / Reverse charge"],
            ("AE", "0"),
        ),
    ],
)
def test_a_generated_invoice_charges_the_vat_of_its_seller_and_buyer(
    ready: Database,
    tmp_path: Path,
    seller: str,
    buyer: str,
    language: str | None,
    shown: list[str],
    vat: tuple[str, str],
) -> None:
    text, source = invoice_text(ready, seller_in(tmp_path, seller), buyer, language)
    for words in shown:
        assert words in text
    assert "Reverse charge" not in text if vat[0] == "S" else "VAT 25%" not in text
    assert (source["category"], source["rate"]) == vat


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_customer_without_a_country_cannot_be_invoiced(ready: Database, tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as refused:
        invoice_text(ready, seller_in(tmp_path, "NO"), None)
    assert list(refused.value.errors) == ["country"]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("seller_file", "message"),
    [
        ("name: Nordlys AS\n", "seller.yaml: country: is required"),
        ("name: Nordlys AS\ncountry: NO\n", "seller.yaml: country: must be a quoted country code"),
        (
            'name: Nordlys AS\ncountry: "US"\n',
            "seller.yaml: country: vat.yaml has no standard rate",
        ),
    ],
)
def test_the_seller_country_is_checked(
    ready: Database, tmp_path: Path, seller_file: str, message: str
) -> None:
    home = Paths(tmp_path / "home").ensure()
    (home.home / "seller.yaml").write_text(seller_file, encoding="utf-8")
    with pytest.raises(ValidationError) as refused:
        invoice_text(ready, home, "NO")
    assert refused.value.errors["vat"].startswith(message)
