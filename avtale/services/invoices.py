"""Invoices (SPEC D5): the PDF of what a contract bills in a month, and the months one may
be made for."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from avtale.dates import add_months
from avtale.dates import today as business_today
from avtale.repository import generation
from avtale.repository.validation import ValidationError
from avtale.services import lookups
from avtale.services.database import Database
from avtale.services.unit_of_work import EDIT, Outcome, write
from avtale.settings import Paths

# How far back an invoice may be made, in months.
MONTHS_BACK = 60


def invoice_months(start: date | None, end: date | None) -> list[date]:
    """First days of the months an invoice may be made for: from the contract's start to
    its end, or a year from now for one that runs on; at most the last five years."""
    today = business_today()
    first = add_months(today.replace(day=1), -MONTHS_BACK)
    if start is not None:
        first = max(first, start.replace(day=1))
    last = (end or add_months(today, 12)).replace(day=1)
    months = []
    while first <= last:
        months.append(first)
        first = add_months(first, 1)
    return months


def this_month(months: list[date]) -> int | None:
    """The index of the current month in ``months``, else of the last one."""
    now = business_today().replace(day=1)
    if now in months:
        return months.index(now)
    return len(months) - 1 if months else None


def make_invoice(
    db: Database, actor: str, paths: Paths, contract_number: str, month: date | None
) -> Outcome:
    """The invoice PDF of contract ``contract_number`` for the month starting ``month``."""

    def work(session: Session) -> Outcome:
        if month is None:
            raise ValidationError({"period_start": "choose a month"})
        document = generation.generate_invoice(
            session, actor, paths, lookups.contract(session, contract_number), period_start=month
        )
        return Outcome(
            message=f"Invoice {document.filename} made (SHA-256 {document.sha256[:12]}…).",
            target=contract_number,
            detail={"stored_path": document.stored_path, "filename": document.filename},
        )

    return write(db, actor, EDIT, work)
