"""Bank statements in: camt.053 files written by hand after the ISO 20022 schema (versions
.02 and .08, in tests/data/billing), and the CSV payment format."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from avtale.billing.camt053 import (
    BankPayment,
    Direction,
    StatementError,
    incoming,
    parse_camt053,
    parse_payment_csv,
)
from avtale.billing.references import KidMethod, is_valid_kid, is_valid_ocr

DATA = Path(__file__).parent / "data" / "billing"
V02 = (DATA / "camt053_v02.xml").read_bytes()
V08 = (DATA / "camt053_v08.xml").read_bytes()


def summary(payment: BankPayment) -> tuple[object, ...]:
    return (
        payment.amount,
        payment.direction.value,
        payment.reversal,
        payment.status,
        payment.references,
        payment.debtor_name,
    )


def test_a_version_02_statement_gives_one_record_per_transaction() -> None:
    payments = parse_camt053(V02)
    assert [summary(payment) for payment in payments] == [
        (Decimal("1250.00"), "CRDT", False, "BOOK", ("1004210017",), "Fjordkraft Kunde AS"),
        (Decimal("2500.00"), "CRDT", False, "BOOK", ("100431006-",), "Bergen Bryggeri AS"),
        (Decimal("1000.00"), "CRDT", False, "BOOK", ("1004410039",), "Nordlys Kunde AS"),
        (Decimal("375.50"), "CRDT", False, "BOOK", (), "Tromsø Kunde AS"),
        (Decimal("500.00"), "DBIT", False, "BOOK", (), ""),
        (Decimal("1250.00"), "DBIT", True, "BOOK", ("1004210017",), "Fjordkraft Kunde AS"),
    ]
    first = payments[0]
    assert (first.booking_date, first.value_date) == (date(2026, 3, 10), date(2026, 3, 10))
    assert (first.currency, first.account) == ("NOK", "NO9386011117947")
    assert (first.end_to_end_id, first.debtor_account) == ("E2E-FJORD-0310", "15032080119")
    assert first.bank_reference == "50100000001-1"
    assert payments[1].value_date == date(2026, 3, 11)  # the entry's, for each transaction
    assert payments[3].remittance_text == "Faktura 2026-1007 rest etter kreditnota"
    # The references are the KIDs the invoices carried.
    assert is_valid_kid(payments[0].references[0], KidMethod.MOD10)
    assert is_valid_kid(payments[1].references[0], KidMethod.MOD11)


def test_a_version_08_statement_reads_the_newer_shapes() -> None:
    payments = parse_camt053(V08)
    assert [summary(payment) for payment in payments] == [
        (Decimal("1250.00"), "CRDT", False, "BOOK", ("10042100114",), "Mälardalen Kund AB"),
        (Decimal("3500.00"), "CRDT", False, "BOOK", ("10044100310", "10045100418"),
         "Göteborg Kund AB"),
        (Decimal("1000.00"), "CRDT", False, "BOOK", (), "Uppsala Kund AB"),
        (Decimal("300.00"), "CRDT", True, "BOOK", (), ""),
        (Decimal("99.00"), "DBIT", False, "BOOK", (), ""),
        (Decimal("800.00"), "CRDT", False, "PDNG", (), ""),
    ]  # fmt: skip
    first = payments[0]
    assert first.booking_date == date(2026, 3, 12)  # from a date-time
    assert (first.currency, first.account) == ("SEK", "SE4550000000058398257466")
    assert first.debtor_account == "SE3550000000054910000003"
    assert payments[3].remittance_text == "Returned payment to supplier: account closed"
    assert payments[4].remittance_text == "Bank fee"
    assert all(is_valid_ocr(ref, length_digit=True) for ref in payments[1].references)


def test_only_booked_credits_that_are_not_reversals_are_payments_to_match() -> None:
    assert [(p.amount, p.references) for p in incoming(parse_camt053(V02))] == [
        (Decimal("1250.00"), ("1004210017",)),
        (Decimal("2500.00"), ("100431006-",)),
        (Decimal("1000.00"), ("1004410039",)),
        (Decimal("375.50"), ()),
    ]
    # v08: the returned outgoing payment is money in, but not a customer paying.
    assert [p.amount for p in incoming(parse_camt053(V08))] == [
        Decimal("1250.00"),
        Decimal("3500.00"),
        Decimal("1000.00"),
    ]


def replaced(data: bytes, old: str, new: str) -> bytes:
    assert old.encode() in data
    return data.replace(old.encode(), new.encode(), 1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (V02[:-40], "not well-formed XML"),
        (b"", "not well-formed XML"),
        (replaced(V02, "xsd:camt.053.001.02", "xsd:camt.054.001.02"), "not a camt.053 bank statement"),
        (b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>",
         "not a camt.053 bank statement"),
        (replaced(V02, '<Amt Ccy="NOK">375.50</Amt>', '<Amt Ccy="NOK">375.00</Amt>'),
         "entry 2: its transactions add up to 3875.00, not 3875.50"),
        (replaced(V02, '<Amt Ccy="NOK">1250.00</Amt>', '<Amt Ccy="NOK">12,50</Amt>'),
         "entry 1: amount '12,50' is not a number"),
        (replaced(V02, "<Dt>2026-03-10</Dt>\n        </BookgDt>", "<Dt>10.03.2026</Dt></BookgDt>"),
         "entry 1: booking date '10.03.2026' is not a date"),
        (replaced(V08, "<CdtDbtInd>CRDT</CdtDbtInd>\n        <Sts>", "<CdtDbtInd>IN</CdtDbtInd><Sts>"),
         "'IN' is neither CRDT nor DBIT"),
        (replaced(V08, '<Amt Ccy="SEK">1000.00</Amt>', "<Foo/>"),
         "entry 2: a batch transaction has no amount of its own"),
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'/>",
         "has no statement"),
    ],
)  # fmt: skip
def test_a_statement_that_cannot_be_read_says_where(data: bytes, message: str) -> None:
    with pytest.raises(StatementError, match=message):
        parse_camt053(data)


def test_entities_are_not_expanded_from_outside(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    doctype = f'<!DOCTYPE Document [<!ENTITY leak SYSTEM "file://{secret}">]>\n<Document'
    data = replaced(V02, "<Document", doctype)
    data = replaced(data, "<Ustrd>Office supplies</Ustrd>", "<Ustrd>&leak;</Ustrd>")
    assert all("SECRET" not in payment.remittance_text for payment in parse_camt053(data))


CSV_SEMICOLON = (
    "\ufeffbooking_date;amount;currency;reference;payer;text;value_date\n"
    "2026-03-10;1 250,00;NOK;1004210017;Fjordkraft Kunde AS;;2026-03-11\n"
    "2026-03-10;-500,00;NOK;;;Office supplies;\n"
).encode()
CSV_COMMA = (
    b"amount,booking_date,currency,reference,end_to_end_id,account\n"
    b"375.5,2026-03-10,nok,,E2E-1,NO9386011117947\n"
)


def test_csv_payments_with_semicolons_and_decimal_commas() -> None:
    first, second = parse_payment_csv(CSV_SEMICOLON)
    assert (first.amount, first.direction, first.references, first.debtor_name) == (
        Decimal("1250.00"),
        Direction.CREDIT,
        ("1004210017",),
        "Fjordkraft Kunde AS",
    )
    assert (first.booking_date, first.value_date) == (date(2026, 3, 10), date(2026, 3, 11))
    assert (second.amount, second.direction, second.is_incoming) == (
        Decimal("500.00"),
        Direction.DEBIT,
        False,
    )
    assert second.remittance_text == "Office supplies"


def test_csv_payments_with_commas_in_any_column_order() -> None:
    (payment,) = parse_payment_csv(CSV_COMMA)
    assert (payment.amount, payment.currency, payment.end_to_end_id, payment.account) == (
        Decimal("375.5"),
        "NOK",
        "E2E-1",
        "NO9386011117947",
    )
    assert payment.is_incoming and payment.value_date is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"booking_date,amount\n2026-03-10,1\n", "has no column currency"),
        (b"booking_date,amount,currency,kid\n", "unknown column kid"),
        (b"booking_date,amount,currency\n2026-03-10,1.250.00,NOK\n",
         "row 2: amount '1.250.00' is not a number"),
        (b"booking_date,amount,currency\n2026-03-10,1,NOK\n2026-03-10,1,kroner\n",
         "row 3: 'kroner' is not a currency code"),
        (b"booking_date,amount,currency\n10.03.2026,1,NOK\n",
         "row 2: booking date '10.03.2026' is not a date"),
        (b"booking_date,amount,currency\n2026-03-10,NaN,NOK\n", "row 2: amount 'NaN'"),
        ("booking_date,amount,currency\n".encode("utf-16"), "not UTF-8"),
    ],
)  # fmt: skip
def test_a_csv_that_cannot_be_read_says_where(data: bytes, message: str) -> None:
    with pytest.raises(StatementError, match=message):
        parse_payment_csv(data)
