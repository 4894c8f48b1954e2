"""Where each issued document stands: paid, credited and open amounts, and its status.

Status is derived, never stored, so it is right on any day without a job to keep it so:

- ``credited``: credit notes that name the invoice add up to its total or more;
- ``paid``: payments and credit notes leave nothing open (a part payment is not enough);
- ``overdue``: something is open and the due date has passed (before ``today``);
- ``sent``: delivered to the customer (e-mail or e-invoice), not yet due;
- ``issued``: none of these.

A credit note is ``issued`` or ``sent``. A negative open amount (paid, then credited) is
what the customer has to its good.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from avtale.repository.models import Contract, Customer, Invoice, PaymentAllocation


class InvoiceStatus(StrEnum):
    ISSUED = "issued"
    SENT = "sent"
    PAID = "paid"
    OVERDUE = "overdue"
    CREDITED = "credited"


def status_of(
    *,
    kind: str,
    total: Decimal,
    paid: Decimal,
    credited: Decimal,
    due_date: date | None,
    sent: bool,
    today: date,
) -> InvoiceStatus:
    """The status of one document (see the module's notes)."""
    delivered = InvoiceStatus.SENT if sent else InvoiceStatus.ISSUED
    if kind != "invoice":
        return delivered
    if credited > 0 and credited >= total:
        return InvoiceStatus.CREDITED
    if total - paid - credited <= 0:
        return InvoiceStatus.PAID
    if due_date is not None and due_date < today:
        return InvoiceStatus.OVERDUE
    return delivered


# A document, its customer's number and name, its contract's number, paid and credited
# sums, and the number of the invoice it corrects.
_Row = tuple[Invoice, str, str, str | None, Any, Any, str | None]


@dataclass(frozen=True)
class InvoiceState:
    id: int
    number: str
    kind: str
    customer_number: str
    customer: str
    contract: str | None
    issue_date: date
    due_date: date | None
    currency: str
    total: Decimal
    paid: Decimal
    credited: Decimal
    sent_at: datetime | None
    status: InvoiceStatus
    corrects: str | None

    @property
    def open(self) -> Decimal:
        return self.total - self.paid - self.credited if self.kind == "invoice" else Decimal(0)


def invoice_states(
    session: Session,
    today: date,
    *,
    ids: Iterable[int] | None = None,
    customer_number: str | None = None,
    contract_number: str | None = None,
) -> list[InvoiceState]:
    """The documents (all, or those of the given ids, customer or contract), newest first."""
    paid_sums = (
        select(PaymentAllocation.invoice_id, func.sum(PaymentAllocation.amount).label("amount"))
        .group_by(PaymentAllocation.invoice_id)
        .subquery()
    )
    credit = aliased(Invoice)
    credit_sums = (
        select(credit.corrects_id.label("invoice_id"), func.sum(credit.total).label("amount"))
        .where(credit.kind == "credit_note")
        .group_by(credit.corrects_id)
        .subquery()
    )
    corrected = aliased(Invoice)
    query = (
        select(
            Invoice,
            Customer.customer_number,
            Customer.name,
            Contract.contract_number,
            func.coalesce(paid_sums.c.amount, 0),
            func.coalesce(credit_sums.c.amount, 0),
            corrected.number,
        )
        .join(Customer, Invoice.customer_id == Customer.id)
        .outerjoin(Contract, Invoice.contract_id == Contract.id)
        .outerjoin(paid_sums, paid_sums.c.invoice_id == Invoice.id)
        .outerjoin(credit_sums, credit_sums.c.invoice_id == Invoice.id)
        .outerjoin(corrected, Invoice.corrects_id == corrected.id)
    ).order_by(Invoice.issue_date.desc(), Invoice.id.desc())
    if ids is not None:
        query = query.where(Invoice.id.in_(list(ids)))
    if customer_number is not None:
        query = query.where(Customer.customer_number == customer_number)
    if contract_number is not None:
        query = query.where(Contract.contract_number == contract_number)
    states = []
    rows = cast(list[_Row], session.execute(query).all())
    for invoice, customer_no, name, contract, paid_sum, credited_sum, corrects in rows:
        paid, credited = Decimal(paid_sum), Decimal(credited_sum)
        states.append(
            InvoiceState(
                id=invoice.id,
                number=invoice.number,
                kind=invoice.kind,
                customer_number=customer_no,
                customer=name,
                contract=contract,
                issue_date=invoice.issue_date,
                due_date=invoice.due_date,
                currency=invoice.currency,
                total=Decimal(invoice.total),
                paid=paid,
                credited=credited,
                sent_at=invoice.sent_at,
                corrects=corrects,
                status=status_of(
                    kind=invoice.kind,
                    total=Decimal(invoice.total),
                    paid=paid,
                    credited=credited,
                    due_date=invoice.due_date,
                    sent=invoice.sent_at is not None,
                    today=today,
                ),
            )
        )
    return states


def open_amount(session: Session, invoice: Invoice) -> Decimal:
    """What is still owed on ``invoice``: its total less payments and credit notes."""
    paid = session.scalar(
        select(func.coalesce(func.sum(PaymentAllocation.amount), 0)).where(
            PaymentAllocation.invoice_id == invoice.id
        )
    )
    credited = session.scalar(
        select(func.coalesce(func.sum(Invoice.total), 0)).where(
            Invoice.corrects_id == invoice.id, Invoice.kind == "credit_note"
        )
    )
    return Decimal(invoice.total) - Decimal(paid or 0) - Decimal(credited or 0)
