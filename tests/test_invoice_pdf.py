"""The PDF of a register invoice (issue 13) says how to pay it and what it corrects: its
title by kind, the credit note's corrected invoice, the due date and payment terms, the
KID or OCR, the account with its BIC, the VAT per rate (EN 16931 BG-23) and unit prices
with the decimals they were billed at. Checked in the PDF's text (pdftotext)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

import docgen
from avtale.billing import pdf
from avtale.billing.stored import document_of
from avtale.repository import library
from avtale.repository.db import session_scope
from avtale.repository.documents import documents_dir
from avtale.repository.models import Contract, Invoice
from avtale.repository.service import terminate_contract
from avtale.services import invoices
from avtale.services.database import Database, close_database, database_at
from avtale.settings import Paths
from tests import invoice_fixtures as fx
from tests.conftest import Database as Backend

MAR1 = date(2026, 3, 1)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    home = Paths(tmp_path / "home").ensure()
    monkeypatch.setenv("AVTALE_HOME", str(home.home))
    return home


@pytest.fixture
def database(db: Backend) -> Iterator[Database]:
    with session_scope(db.engine) as session:
        library.install_defaults(session)
    opened = database_at(db.url)
    yield opened
    close_database(opened)


def text_of(pdf_bytes: bytes, tmp_path: Path) -> str:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf_bytes)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def register_pdf(database: Database, home: Paths, number: str, tmp_path: Path) -> str:
    made = invoices.invoice_pdf(database, invoices.RUN_ACTOR, home, number)
    assert made.ok, made.errors
    return text_of((documents_dir(home) / made.detail["stored_path"]).read_bytes(), tmp_path)


def stored(database: Database, number: str) -> Invoice:
    with session_scope(database.engine, readonly=True) as session:
        query = select(Invoice).options(selectinload(Invoice.lines))
        return session.scalars(query.where(Invoice.number == number)).one()


def test_an_invoice_says_when_where_and_with_what_reference_to_pay(
    database: Database, home: Paths, tmp_path: Path
) -> None:
    with session_scope(database.engine) as session:
        fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly()])
    invoices.run_invoices(database, home, MAR1, today=MAR1)
    invoice = stored(database, "F10001")
    assert (invoice.due_date, invoice.payment_reference) == (date(2026, 3, 15), "000100016")
    text = register_pdf(database, home, "F10001", tmp_path)
    assert "Faktura" in text and "Kreditnota" not in text and "Krediterer" not in text
    assert "14 dager netto. Forfallsdato: 15. mars 2026." in text
    assert "Betalingsreferanse (KID) 000100016" in " ".join(text.split())
    assert "8601 11 17947" in text and "DNBANOKK" in text
    # One VAT row: category S at 25 % on the 3 000,00 billed (January to March).
    assert [line.split() for line in text.splitlines() if line.strip().startswith("S ")] == [
        ["S", "25", "%", "3", "000,00", "kr", "750,00", "kr"]
    ]


def test_a_credit_note_is_titled_so_and_names_the_invoice_it_corrects(
    database: Database, home: Paths, tmp_path: Path
) -> None:
    with session_scope(database.engine) as session:
        fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly()])
    invoices.run_invoices(database, home, MAR1, today=MAR1)
    with session_scope(database.engine) as session:
        contract = session.scalars(select(Contract)).one()
        terminate_contract(session, fx.ACTOR, contract, date(2026, 3, 15), "Moved to a rival")
    day = date(2026, 3, 20)
    assert invoices.run_invoices(database, home, day, today=day).credit_notes == ["K10001"]
    text = register_pdf(database, home, "K10001", tmp_path)
    assert "Kreditnota" in text and "Faktura\n" not in text
    assert "Krediterer faktura F10001" in text
    # The re-charged 15 of 31 days at the 4 decimals the line was stored with, not 48,39.
    assert "48,3871 kr" in text
    # A credit note is not paid: no reference, terms, due date or instruction to pay.
    assert "KID" not in text and "Forfallsdato" not in text and "netto" not in text


def test_a_mixed_rate_invoice_shows_the_vat_of_each_rate(
    database: Database, home: Paths, tmp_path: Path
) -> None:
    """The register bills one rate per buyer and day, so the second rate is made by hand on
    a stored invoice's set-up line (never saved)."""
    with session_scope(database.engine) as session:
        fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly(), fx.setup_fee()])
    invoices.run_invoices(database, home, MAR1, today=MAR1)
    invoice = stored(database, "F10001")
    setup = next(row for row in invoice.lines if row.billing_period in (None, "one_off"))
    setup.vat_rate = Decimal(15)
    context = pdf.invoice_context(home, invoice, document_of(invoice), "AVT-1")
    template = next(item for item in docgen.builtin_templates() if item.key == "invoice")
    text = text_of(docgen.generate(template, context, fmt="pdf").content, tmp_path)
    rows = [line.split() for line in text.splitlines() if line.strip().startswith("S ")]
    assert rows == [
        ["S", "25", "%", "3", "000,00", "kr", "750,00", "kr"],
        ["S", "15", "%", "5", "000,00", "kr", "750,00", "kr"],
    ]


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("nb", "48.3871", "NOK", "48,3871\xa0kr"),
        ("nb", "100.0000", "NOK", "100,00\xa0kr"),  # trailing zeros: the currency's 2 places
        ("en", "0.125", "GBP", "£0.125"),
        ("de", "1234.56789", "EUR", "1.234,5679\xa0€"),  # a fifth decimal is rounded half up
        ("sv", "19.5", "SEK", "19,50\xa0kr"),
    ],
)
def test_unit_prices_keep_up_to_four_decimals(
    language: str, amount: str, currency: str, expected: str
) -> None:
    assert docgen.Formatter(language).money(amount, currency, 4) == expected
