"""Payments into the register: a bank statement (camt.053 XML or the CSV format of
``camt053``) imported once, each incoming payment matched to the invoices it pays.

Matching, in this order (docs/billing.md):

1. **By payment reference**: every KID or OCR the payer quoted that is an invoice's.
2. **By invoice number**: exactly one invoice whose number is in the payment's message or
   end-to-end id.
3. **By amount**: exactly one invoice with that much open, in that currency, of a customer
   whose name the payer's is or contains.

A payment pays at most what is open on the invoices it matched, oldest first; an invoice is
``paid`` only when nothing is open (``status``). What is left over (no match, a payment in
another currency, more than was owed) goes to the queue (``UnmatchedPayment``) for someone
to resolve: Avtale does not decide itself whether an over-payment is refunded or kept as
the customer's credit.

A payment is imported once: its key is the statement account, the bank's own reference of
the transaction (camt.053 ``AcctSvcrRef``) and how many transactions before it on the same
statement had the same reference, so the same statement imported twice, or a transaction
on two overlapping statements, adds nothing. A CSV file has no bank reference: there every
field of the row stands in for it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from avtale.billing.camt053 import (
    BankPayment,
    StatementError,
    incoming,
    parse_camt053,
    parse_payment_csv,
)
from avtale.billing.status import open_amount
from avtale.repository.audit import record, snapshot
from avtale.repository.models import BankPayment as PaymentRow
from avtale.repository.models import Customer, Invoice, PaymentAllocation, UnmatchedPayment

INVOICE_NUMBER_TOKEN = re.compile(r"[A-Za-z]*\d+")


def read_statement(data: bytes) -> list[BankPayment]:
    """The transactions of a camt.053 document or a payment CSV, told apart by content."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return parse_camt053(data)
    if not data.strip():
        raise StatementError("the file is empty")
    return parse_payment_csv(data)


def import_keys(payments: Iterable[BankPayment]) -> list[str]:
    """Each payment's import key (see the module's notes), in order."""
    seen: Counter[tuple[str, ...]] = Counter()
    keys = []
    for payment in payments:
        if payment.bank_reference:
            identity: tuple[str, ...] = (payment.account, payment.bank_reference)
        else:
            identity = (
                payment.account,
                payment.booking_date.isoformat(),
                str(payment.amount),
                payment.currency,
                ",".join(payment.references),
                payment.end_to_end_id,
                payment.debtor_name,
                payment.remittance_text,
            )
        seen[identity] += 1
        text = "\x1f".join((*identity, str(seen[identity])))
        keys.append(hashlib.sha256(text.encode("utf-8")).hexdigest())
    return keys


@dataclass
class ImportReport:
    statement: str
    transactions: int = 0  # on the statement, in and out
    not_incoming: int = 0  # debits, returned payments, entries not booked
    already: int = 0  # imported before
    imported: int = 0
    paid_invoices: list[str] = field(default_factory=list)  # now fully paid
    partly_paid: list[str] = field(default_factory=list)  # paid in part, still open
    queued: int = 0  # payments with an amount in the queue

    def lines(self) -> list[str]:
        return [
            f"{self.statement}: {self.transactions} transactions, {self.imported} payments "
            f"imported, {self.already} imported before, {self.not_incoming} not incoming",
            f"paid in full: {len(self.paid_invoices)}; paid in part: {len(self.partly_paid)}; "
            f"to the queue: {self.queued}",
        ]


def import_statement(
    session: Session, actor: str, name: str, payments: list[BankPayment]
) -> ImportReport:
    """Import and match the incoming payments of one statement in the caller's transaction."""
    report = ImportReport(name, transactions=len(payments))
    received = incoming(payments)
    report.not_incoming = len(payments) - len(received)
    keys = import_keys(received)
    known = set(
        session.scalars(select(PaymentRow.import_key).where(PaymentRow.import_key.in_(keys)))
    )
    for payment, key in zip(received, keys, strict=True):
        if key in known:
            report.already += 1
            continue
        known.add(key)
        row = PaymentRow(
            import_key=key,
            statement=name[:255],
            imported_by=actor,
            booking_date=payment.booking_date,
            value_date=payment.value_date,
            amount=payment.amount,
            currency=payment.currency,
            payer=payment.debtor_name[:200] or None,
            creditor_references=list(payment.references),
            text=payment.remittance_text or None,
            end_to_end_id=payment.end_to_end_id[:100] or None,
            account=payment.account[:50] or None,
            bank_reference=payment.bank_reference[:100] or None,
        )
        session.add(row)
        session.flush()
        _settle(session, actor, row, report)
        report.imported += 1
    return report


def _settle(session: Session, actor: str, row: PaymentRow, report: ImportReport) -> None:
    invoices, matched_by = _matches(session, row)
    left = Decimal(row.amount)
    allocations = []
    reason = "no invoice matches its reference, message or amount"
    for invoice in invoices:
        if invoice.currency != row.currency:
            reason = f"paid in {row.currency}, invoice {invoice.number} is in {invoice.currency}"
            continue
        owed = open_amount(session, invoice)
        if owed <= 0:
            reason = f"invoice {invoice.number} has nothing left to pay"
            continue
        paid = min(left, owed)
        allocation = PaymentAllocation(
            payment_id=row.id,
            invoice_id=invoice.id,
            amount=paid,
            matched_by=matched_by,
            created_by=actor,
        )
        session.add(allocation)
        allocations.append(allocation)
        left -= paid
        (report.paid_invoices if paid == owed else report.partly_paid).append(invoice.number)
        reason = f"more than was owed on {invoice.number}"
        if not left:
            break
    queued = None
    if left > 0:
        queued = UnmatchedPayment(payment_id=row.id, amount=left, reason=reason)
        session.add(queued)
        report.queued += 1
    session.flush()
    after = snapshot(row) | {
        "allocations": [snapshot(item, exclude=("id", "payment_id")) for item in allocations],
        "queued": snapshot(queued, exclude=("id", "payment_id")) if queued else None,
    }
    record(session, actor, "payment.import", "bank_payment", row.id, None, after)


def _matches(session: Session, row: PaymentRow) -> tuple[list[Invoice], str]:
    references = [str(item) for item in row.creditor_references or []]
    if references:
        found = _invoices(session, Invoice.payment_reference.in_(references))
        if found:
            return found, "reference"
    message = " ".join(filter(None, (row.text, row.end_to_end_id, *references)))
    tokens = {token.upper() for token in INVOICE_NUMBER_TOKEN.findall(message)}
    if tokens:
        found = _invoices(session, func.upper(Invoice.number).in_(tokens))
        if len(found) == 1:
            return found, "invoice_number"
    return _by_amount(session, row), "amount"


def _invoices(session: Session, condition: object) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice)
            .where(condition, Invoice.kind == "invoice")  # type: ignore[arg-type]
            .order_by(Invoice.issue_date, Invoice.id)
        )
    )


def _by_amount(session: Session, row: PaymentRow) -> list[Invoice]:
    payer = (row.payer or "").casefold().strip()
    if not payer:
        return []
    candidates = session.execute(
        select(Invoice, Customer.name)
        .join(Customer, Invoice.customer_id == Customer.id)
        .where(
            Invoice.kind == "invoice",
            Invoice.currency == row.currency,
            Invoice.total >= row.amount,
        )
    ).all()
    found = [
        invoice
        for invoice, name in candidates
        if (payer in name.casefold() or name.casefold() in payer)
        and open_amount(session, invoice) == row.amount
    ]
    return found if len(found) == 1 else []
