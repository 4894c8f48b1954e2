"""What leaves the register as files: the e-invoices (Peppol BIS Billing 3.0 UBL, one file
per invoice and credit note) and the accounting export (journal CSV or SIE 4) of a month.

Both are made from the documents as issued (``register.stored_document``), so a file made
again is the same file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from avtale.billing.accounting import (
    AccountMapping,
    Payment,
    SieCompany,
    Voucher,
    journal_csv,
    sie4,
    vouchers,
)
from avtale.billing.model import BillingError, Party, Period, money
from avtale.billing.register import stored_document
from avtale.billing.ubl import to_ubl
from avtale.repository.models import BankPayment, Customer, Invoice, PaymentAllocation
from avtale.settings import PRIVATE_FILE


@dataclass
class UblExport:
    written: list[Path] = field(default_factory=list)
    # Number -> why it has no e-invoice (a buyer without a Peppol address, say).
    skipped: dict[str, str] = field(default_factory=dict)


def write_file(path: Path, content: bytes) -> None:
    """``content`` at ``path`` whole or not at all: a reader (an access point polling the
    folder) never sees half a file."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(content)
        os.chmod(temporary, PRIVATE_FILE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export_ubl(
    session: Session,
    out_dir: Path,
    since: date | None = None,
    numbers: Collection[str] | None = None,
) -> UblExport:
    """One ``<number>.xml`` in ``out_dir`` per document issued on or after ``since`` (and,
    given ``numbers``, among them)."""
    query = select(Invoice).options(selectinload(Invoice.lines)).order_by(Invoice.id)
    if since is not None:
        query = query.where(Invoice.issue_date >= since)
    if numbers is not None:
        query = query.where(Invoice.number.in_(list(numbers)))
    export = UblExport()
    for invoice in session.scalars(query):
        try:
            content = to_ubl(stored_document(session, invoice))
        except BillingError as problem:
            export.skipped[invoice.number] = str(problem)
            continue
        path = out_dir / f"{invoice.number}.xml"
        write_file(path, content)
        export.written.append(path)
    return export


def month_period(month: str) -> Period:
    """``YYYY-MM`` as the period of that month's days; ValueError for anything else."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ValueError(f"{month!r} is not a month such as 2026-03") from None
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return Period(first, date.fromordinal(following.toordinal() - 1))


def journal_vouchers(session: Session, mapping: AccountMapping, period: Period) -> list[Voucher]:
    """The vouchers of ``period``: documents issued in it, payments booked in it (in the
    books' currency at the rate of the invoice they pay)."""
    documents = [
        stored_document(session, invoice)
        for invoice in session.scalars(
            select(Invoice)
            .where(Invoice.issue_date >= period.start, Invoice.issue_date <= period.end)
            .options(selectinload(Invoice.lines))
            .order_by(Invoice.id)
        )
    ]
    rows = session.execute(
        select(PaymentAllocation, BankPayment.booking_date, Invoice, Customer.customer_number)
        .join(BankPayment, PaymentAllocation.payment_id == BankPayment.id)
        .join(Invoice, PaymentAllocation.invoice_id == Invoice.id)
        .join(Customer, Invoice.customer_id == Customer.id)
        .where(BankPayment.booking_date >= period.start, BankPayment.booking_date <= period.end)
        .order_by(BankPayment.booking_date, PaymentAllocation.id)
    )
    payments = [
        Payment(booked, _in_books(allocation.amount, invoice, mapping), invoice.number, customer)
        for allocation, booked, invoice, customer in rows
    ]
    return vouchers(documents, mapping, period, payments)


def _in_books(amount: Decimal, invoice: Invoice, mapping: AccountMapping) -> Decimal:
    if invoice.currency == mapping.currency:
        return money(Decimal(amount))
    if invoice.accounting_currency != mapping.currency or invoice.accounting_rate is None:
        raise BillingError(f"{invoice.number} is in {invoice.currency} and has no rate to book it")
    return money(Decimal(amount) * Decimal(invoice.accounting_rate))


def journal_file(
    booked: list[Voucher], mapping: AccountMapping, seller: Party, period: Period, *,
    sie: bool, generated: date,
) -> bytes:  # fmt: skip
    """The journal as CSV (UTF-8), or as SIE 4 for the calendar year of ``period``."""
    if not sie:
        return journal_csv(booked).encode("utf-8")
    year = Period(date(period.start.year, 1, 1), date(period.start.year, 12, 31))
    company = SieCompany(seller.name, seller.org_number, year)
    return sie4(booked, mapping, company, generated=generated)
