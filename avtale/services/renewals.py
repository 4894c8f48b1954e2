"""Renewals (SPEC A3): the queue of contracts that do not renew by themselves, each renewed,
renegotiated or let expire with one click; what the daily job renewed; the daily run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.repository import renewals
from avtale.repository.models import Contract, ContractVersion, Customer, Renewal
from avtale.repository.renewals import RenewalReport as RenewalReport
from avtale.services import lookups
from avtale.services.database import Database
from avtale.services.unit_of_work import EDIT, Outcome, reading, write

RECENT_DAYS = 30

QUEUE_COLUMNS = ["contract", "customer", "term_end", "mrr", "currency", "renewal_term_months"]
RECENT_COLUMNS = ["contract", "customer", "term_end", "renewed_to", "decided_at"]


# --- reads --------------------------------------------------------------------------


def horizon_days() -> int:
    """How many days before its term ends a manual renewal enters the queue
    (``horizon_days`` in renewals.yaml)."""
    return renewals.renewal_settings().horizon_days


def queue(db: Database, today: date) -> pd.DataFrame:
    """Manual renewals due within ``horizon_days()`` or overdue, by term end."""
    with reading(db) as session:
        due = renewals.due_renewals(session, today)
    return pd.DataFrame(
        [
            {
                "contract": item.contract_number,
                "customer": item.customer,
                "term_end": item.term_end,
                "mrr": float(item.mrr),
                "currency": item.currency,
                "renewal_term_months": item.renewal_term_months,
            }
            for item in due
            if item.kind == "manual"
        ],
        columns=QUEUE_COLUMNS,
    )


def recent_auto_renewals(db: Database, today: date) -> pd.DataFrame:
    """The renewals the daily job made in the last ``RECENT_DAYS`` days, newest first."""
    since = datetime.combine(today - timedelta(days=RECENT_DAYS), datetime.min.time(), UTC)
    with reading(db) as session:
        rows = session.execute(
            select(Contract.contract_number, Customer.name, Renewal, ContractVersion.end_date)
            .join(Contract, Renewal.contract_id == Contract.id)
            .join(Customer, Contract.customer_id == Customer.id)
            .outerjoin(ContractVersion, Renewal.version_id == ContractVersion.id)
            .where(Renewal.decision == "auto_renewed", Renewal.decided_at >= since)
            .order_by(Renewal.decided_at.desc(), Contract.contract_number)
        ).all()
        return pd.DataFrame(
            [
                {
                    "contract": number,
                    "customer": name,
                    "term_end": renewal.term_end,
                    "renewed_to": end,
                    "decided_at": renewal.decided_at,
                }
                for number, name, renewal, end in rows
            ],
            columns=RECENT_COLUMNS,
        )


# --- writes -------------------------------------------------------------------------


def renew(
    db: Database,
    actor: str,
    number: str,
    term_end: date,
    today: date,
    months: int | None = None,
) -> Outcome:
    """Renew for the contract's renewal term, or for ``months`` when it has none."""

    def work(session: Session) -> Outcome:
        contract = lookups.contract(session, number)
        return renewed(session, actor, contract, term_end, today, months)

    return write(db, actor, EDIT, work)


def renewed(
    session: Session,
    actor: str,
    contract: Contract,
    term_end: date | None,
    today: date,
    months: int | None = None,
) -> Outcome:
    """Renew ``contract`` inside the caller's transaction (also after adopting it); with no
    ``term_end``, the term running now."""
    row = renewals.renew(session, actor, contract, today=today, term_end=term_end, months=months)
    version = session.get(ContractVersion, row.version_id) if row.version_id else None
    until = f" until {version.end_date.isoformat()}" if version and version.end_date else ""
    return Outcome(
        message=f"{contract.contract_number} renewed{until}", target=contract.contract_number
    )


def renegotiate(db: Database, actor: str, number: str, term_end: date, today: date) -> Outcome:
    def work(session: Session) -> Outcome:
        contract = lookups.contract(session, number)
        row = renewals.start_renewal_renegotiation(
            session, actor, contract, today, term_end=term_end
        )
        proposal = renewals.proposal_number(session, row)
        if proposal is None:
            return Outcome(errors={"contract": f"was already decided on ({row.decision})"})
        return Outcome(message=f"{proposal} renegotiates {number}", target=proposal)

    return write(db, actor, EDIT, work)


def let_expire(
    db: Database, actor: str, number: str, term_end: date, note: str, today: date
) -> Outcome:
    def work(session: Session) -> Outcome:
        contract = lookups.contract(session, number)
        renewals.let_expire(session, actor, contract, note, today=today, term_end=term_end)
        return Outcome(message=f"{number} ends {term_end.isoformat()}", target=number)

    return write(db, actor, EDIT, work)


def run_auto_renewals(
    db: Database, today: date, log: Callable[[str], None] = lambda _message: None
) -> RenewalReport:
    """The daily run: every auto-renewing contract whose term has ended renews, each in its
    own transaction (one that fails leaves the others renewed)."""
    return renewals.run_auto_renewals(db.engine, today, log=log)
