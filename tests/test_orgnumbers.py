"""Organisation numbers checked by their check digits, as the registers issue them; and the
same check where a customer is created or edited, its message under ``org_number``."""

from __future__ import annotations

import pytest

from avtale.repository.customers import duplicates
from avtale.repository.db import session_scope
from avtale.repository.orgnumbers import check, compact
from avtale.repository.service import ValidationError, create_customer, update_customer
from tests.conftest import Database

# Real companies' numbers, each checked by hand against its register's rule as well.
VALID = [
    ("NO", "923609016"),  # Equinor ASA: 3·9+2·2+7·3+6·6+5·0+4·9+3·0+2·1 = 126, 11 - 126 % 11 = 6
    ("NO", "NO 984 851 006 MVA"),  # DNB Bank ASA, as invoices print it
    ("NO", "982463718"),  # Telenor ASA
    ("SE", "556016-0680"),  # Telefonaktiebolaget LM Ericsson: Luhn sum 30
    ("SE", "5560125790"),  # AB Volvo
    ("SE", "SE556016068001"),  # Ericsson's VAT number
    ("SE", "16556016-0680"),  # the 12-digit form
    ("DK", "24256790"),  # Novo Nordisk A/S: 2·2+7·4+6·2+5·5+4·6+3·7+2·9+1·0 = 132 = 12·11
    ("DK", "DK 61 05 64 16"),  # Carlsberg A/S
    ("DK", "13585628"),
    ("FI", "0112038-9"),  # Nokia Oyj: 57 % 11 = 2, 11 - 2 = 9
    ("FI", "1927400-1"),  # KONE Oyj
    ("FI", "FI20774740"),  # a VAT number: remainder 0, check digit 0
    ("FI", "112038-9"),  # written without its leading zero
    ("DE", "HRB 12345"),  # no check digit: any text
    ("NL", "anything at all"),
    (None, "12"),  # no country, no rule
]
INVALID = [
    ("NO", "923609017", "wrong check digit for a Norwegian"),
    ("NO", "912345678", "wrong check digit for a Norwegian"),  # remainder 1: never issued
    ("NO", "92360901", "must be 9 digits"),
    ("NO", "9236O9016", "must be 9 digits"),  # a letter O
    ("SE", "556016-0681", "wrong check digit for a Swedish"),
    ("SE", "556016068", "must be 10 digits"),
    ("DK", "24256791", "wrong check digit for a Danish CVR"),
    ("DK", "04256790", "not starting with 0"),
    ("DK", "2425679", "must be 8 digits"),
    ("FI", "0112038-8", "wrong check digit for a Finnish"),
    ("FI", "0737546-1", "wrong check digit for a Finnish"),  # 196 % 11 = 9: check digit 2
    ("FI", "0000110-0", "wrong check digit for a Finnish"),  # 4 + 8 = 12: remainder 1, never issued
    ("FI", "112038", "7 digits and a check digit"),
]


@pytest.mark.parametrize(("country", "number"), VALID)
def test_valid_numbers_pass(country: str | None, number: str) -> None:
    assert check(country, number) is None


@pytest.mark.parametrize(("country", "number", "reason"), INVALID)
def test_invalid_numbers_say_why(country: str, number: str, reason: str) -> None:
    problem = check(country, number)
    assert problem is not None and reason in problem


@pytest.mark.parametrize(
    ("country", "spellings"),
    [
        ("NO", ["923609016", "923 609 016", "NO 923 609 016 MVA", "no923609016mva"]),
        ("SE", ["5560160680", "556016-0680", "SE556016068001", "16556016-0680"]),
        ("DK", ["24256790", "DK 24 25 67 90", "24.25.67.90"]),
        ("FI", ["01120389", "0112038-9", "FI 0112038-9", "112038-9"]),
    ],
)
def test_every_spelling_compacts_to_one_number(country: str, spellings: list[str]) -> None:
    assert {compact(country, spelling) for spelling in spellings} == {spellings[0]}


def test_a_customer_is_checked_by_its_country_when_created_and_edited(db: Database) -> None:
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        create_customer(
            session, "sally", {"name": "Fjord AS", "org_number": "923 609 017", "country": "NO"}
        )
    assert refused.value.errors == {
        "org_number": "has a wrong check digit for a Norwegian organisation number"
    }
    with session_scope(db.engine) as session:
        # The same digits are no rule's business in Germany.
        customer = create_customer(
            session, "sally", {"name": "Fjord GmbH", "org_number": "923 609 017", "country": "DE"}
        )
        with pytest.raises(ValidationError) as moved:
            update_customer(session, "sally", customer, {"country": "NO"})
        assert "org_number" in moved.value.errors
        update_customer(session, "sally", customer, {"country": "NO", "org_number": "923609016"})
        assert (customer.country, customer.org_number) == ("NO", "923609016")


def test_a_customer_that_may_exist_is_found_however_its_number_is_written(db: Database) -> None:
    with session_scope(db.engine) as session:
        equinor = create_customer(
            session, "sally", {"name": "Equinor ASA", "org_number": "923 609 016", "country": "NO"}
        ).customer_number
        ericsson = create_customer(
            session, "sally", {"name": "Ericsson AB", "org_number": "556016-0680", "country": "SE"}
        ).customer_number

        def found(**data: str) -> list[tuple[str, str]]:
            return [(hit.customer_number, hit.reason) for hit in duplicates(session, data)]

        assert found(name="Statoil", org_number="NO 923609016 MVA", country="NO") == [
            (equinor, "organisation number")
        ]
        assert found(name="Ericsson", org_number="SE556016068001", country="SE") == [
            (ericsson, "organisation number")
        ]
        assert found(name=" equinor asa ", country="no") == [(equinor, "name and country")]
        assert found(name="Equinor ASA", country="DK") == []  # another country's company
        assert found(name="Equinor ASA") == []  # no country: a name alone is no match
        assert found(name="Fjord AS", org_number="923 609 024", country="NO") == []
