"""The accounting export: the journal CSV of a period with hand-checked rows, and a SIE 4
file read back (code page 437, every voucher balanced, names intact)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from avtale.billing.accounting import (
    NORWEGIAN,
    SWEDISH,
    AccountingError,
    Payment,
    SieCompany,
    journal_csv,
    sie4,
    vouchers,
)
from avtale.billing.model import BillingDocument, Period
from tests import billing_samples as samples

MARCH = samples.MARCH
YEAR_2026 = Period(date(2026, 1, 1), date(2026, 12, 31))


def norwegian_books() -> list[BillingDocument]:
    return [
        samples.norwegian_domestic(),
        replace(samples.norway_to_denmark(), number="2026-1002", issue_date=date(2026, 3, 2)),
        samples.credit_note(),
        replace(samples.euro_invoice(), number="2026-1003", issue_date=date(2026, 3, 5)),
        replace(samples.norwegian_domestic(), number="2026-1004", issue_date=date(2026, 4, 1),
                due_date=date(2026, 4, 15)),
    ]  # fmt: skip


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_journal_of_a_period_books_invoices_credit_notes_and_payments() -> None:
    payment = Payment(date(2026, 3, 10), Decimal("1250.00"), "2026-1001", "10042")
    booked = vouchers(norwegian_books(), NORWEGIAN, MARCH, [payment])
    assert csv_rows(journal_csv(booked)) == [
        ["date", "account", "vat_code", "amount", "invoice", "customer"],
        # 1000 + 25 % VAT: the receivable is debited, revenue and VAT credited.
        ["2026-03-01", "1500", "", "1250.00", "2026-1001", "10042"],
        ["2026-03-01", "3000", "3", "-1000.00", "2026-1001", "10042"],
        ["2026-03-01", "2700", "3", "-250.00", "2026-1001", "10042"],
        # Reverse charge to Denmark: no VAT row, code 52 (export of services).
        ["2026-03-02", "1500", "", "1000.00", "2026-1002", "10043"],
        ["2026-03-02", "3100", "52", "-1000.00", "2026-1002", "10043"],
        # 629.30 EUR × 11.4523 = 7206.93; VAT 157.33 EUR → 1801.79, as the e-invoice says.
        ["2026-03-05", "1500", "", "9008.72", "2026-1003", "10042"],
        ["2026-03-05", "3000", "3", "-7206.93", "2026-1003", "10042"],
        ["2026-03-05", "2700", "3", "-1801.79", "2026-1003", "10042"],
        ["2026-03-10", "1920", "", "1250.00", "2026-1001", "10042"],
        ["2026-03-10", "1500", "", "-1250.00", "2026-1001", "10042"],
        # The credit note of half a month: every sign turned.
        ["2026-03-20", "1500", "", "-625.00", "2026-5001", "10042"],
        ["2026-03-20", "3000", "3", "500.00", "2026-5001", "10042"],
        ["2026-03-20", "2700", "3", "125.00", "2026-5001", "10042"],
    ]
    for voucher in booked:
        assert sum(row.amount for row in voucher.rows) == 0, voucher.text


def test_a_customer_name_cannot_become_a_spreadsheet_formula() -> None:
    buyer = replace(samples.NO_BUYER, party_id="=HYPERLINK(1)")
    document = replace(samples.norwegian_domestic(), buyer=buyer)
    rows = csv_rows(journal_csv(vouchers([document], NORWEGIAN, MARCH)))
    assert {row[5] for row in rows[1:]} == {"'=HYPERLINK(1)"}


def test_what_cannot_be_booked_is_named() -> None:
    with pytest.raises(AccountingError, match="no account is mapped for VAT S 15 %"):
        fifteen = (samples.subscription(samples.standard("15")),)
        vouchers([replace(samples.swedish_domestic(), lines=fifteen)], SWEDISH, MARCH)
    euro = replace(samples.euro_invoice(), accounting_currency=None)
    with pytest.raises(AccountingError, match="2026-1001 is in EUR: it needs its rate to NOK"):
        vouchers([euro], NORWEGIAN, MARCH)


SIE_TOKEN = re.compile(r'"((?:\\.|[^"\\])*)"|(\{[^}]*\})|(\S+)')


def sie_tokens(line: str) -> list[str]:
    # A field is a quoted text (\" inside), an object list in braces, or a bare word.
    return [
        bare or braces or quoted.replace('\\"', '"')
        for quoted, braces, bare in SIE_TOKEN.findall(line)
    ]


def read_sie(data: bytes) -> tuple[list[list[str]], list[tuple[list[str], list[list[str]]]]]:
    """The records outside vouchers, and each voucher's #VER with its #TRANS rows."""
    text = data.decode("cp437")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    records: list[list[str]] = []
    found: list[tuple[list[str], list[list[str]]]] = []
    for line in text.split("\r\n")[:-1]:
        tokens = sie_tokens(line.strip())
        if tokens[0] == "#VER":
            found.append((tokens, []))
        elif tokens[0] == "#TRANS":
            found[-1][1].append(tokens)
        elif tokens[0] not in ("{", "}"):
            records.append(tokens)
    return records, found


def swedish_books() -> list[BillingDocument]:
    to_denmark = replace(
        samples.invoice(samples.SE_SELLER, samples.DK_BUYER,
                        [samples.subscription(samples.treatment(samples.SE_SELLER, samples.DK_BUYER))]),
        number="2026-1002",
        issue_date=date(2026, 3, 3),
    )  # fmt: skip
    credit = replace(
        samples.credit_note(),
        seller=samples.SE_SELLER,
        buyer=samples.SE_BUYER,
        currency="SEK",
        lines=(samples.subscription(samples.standard(), quantity=Decimal("0.5")),),
    )
    return [samples.swedish_domestic(), to_denmark, credit]


def test_a_sie_4_file_reads_back_balanced() -> None:
    company = SieCompany("Avtale Sverige AB", "5591234561", YEAR_2026)
    payment = Payment(date(2026, 3, 12), Decimal("1250.00"), "2026-1001", "10044")
    booked = vouchers(swedish_books(), SWEDISH, MARCH, [payment])
    data = sie4(booked, SWEDISH, company, generated=date(2026, 4, 2), program=("Avtale", "0.1.0"))
    records, found = read_sie(data)
    assert records[:9] == [
        ["#FLAGGA", "0"],
        ["#PROGRAM", "Avtale", "0.1.0"],
        ["#FORMAT", "PC8"],
        ["#GEN", "20260402"],
        ["#SIETYP", "4"],
        ["#ORGNR", "559123-4561"],
        ["#FNAMN", "Avtale Sverige AB"],
        ["#RAR", "0", "20260101", "20261231"],
        ["#VALUTA", "SEK"],
    ]
    assert records[9:] == [
        ["#KONTO", "1510", "Kundfordringar"],
        ["#KONTO", "1930", "Företagskonto"],
        ["#KONTO", "2611", "Utgående moms på försäljning inom Sverige, 25 %"],
        ["#KONTO", "3001", "Försäljning inom Sverige, 25 % moms"],
        ["#KONTO", "3308", "Försäljning tjänster till annat EU-land"],
    ]
    assert [ver[1:] for ver, _ in found] == [
        ["A", "1", "20260301", "Faktura 2026-1001 Mälardalen Kund AB"],
        # Ø is not in code page 437: it is written Ö.
        ["A", "2", "20260303", "Faktura 2026-1002 Öresund Kunde ApS"],
        ["A", "3", "20260312", "Inbetalning 2026-1001"],
        ["A", "4", "20260320", "Kreditfaktura 2026-5001 Mälardalen Kund AB"],
    ]
    assert [[row[1:] for row in rows] for _, rows in found] == [
        [["1510", "{}", "1250.00"], ["3001", "{}", "-1000.00"], ["2611", "{}", "-250.00"]],
        [["1510", "{}", "1000.00"], ["3308", "{}", "-1000.00"]],
        [["1930", "{}", "1250.00"], ["1510", "{}", "-1250.00"]],
        [["1510", "{}", "-625.00"], ["3001", "{}", "500.00"], ["2611", "{}", "125.00"]],
    ]
    for _, rows in found:
        assert sum(Decimal(row[3]) for row in rows) == 0
    assert "Företagskonto".encode("cp437") in data and b"\x94" in data  # ö in code page 437


def test_sie_text_is_quoted_and_kept_on_one_line() -> None:
    buyer = replace(samples.SE_BUYER, name='Kund "Ett" AB\\\nfilial')
    document = replace(samples.swedish_domestic(), buyer=buyer)
    company = SieCompany("Avtale Sverige AB", "5591234561", YEAR_2026)
    data = sie4(vouchers([document], SWEDISH, MARCH), SWEDISH, company, generated=date(2026, 4, 2))
    _, found = read_sie(data)
    assert found[0][0][4] == 'Faktura 2026-1001 Kund "Ett" AB/filial'


def test_a_voucher_outside_the_fiscal_year_is_refused() -> None:
    company = SieCompany(
        "Avtale Sverige AB", "5591234561", Period(date(2025, 1, 1), date(2025, 12, 31))
    )
    booked = vouchers([samples.swedish_domestic()], SWEDISH, MARCH)
    with pytest.raises(AccountingError, match="outside the fiscal year"):
        sie4(booked, SWEDISH, company, generated=date(2026, 4, 2))
