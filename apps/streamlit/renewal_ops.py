"""The Renewals queue (SPEC A3): its reads (cached like ops_data) and its one-click writes
(through avtale.repository.renewals, checked and audited like every form)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import ops_data
import pandas as pd
import streamlit as st
from forms import EDIT, Outcome, _contract, _write
from ops_data import TTL, Version
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from avtale.repository import renewals
from avtale.repository.models import Contract, ContractVersion, Customer, Renewal

HORIZON_DAYS = 60
RECENT_DAYS = 30

QUEUE_COLUMNS = ["contract", "customer", "term_end", "mrr", "currency", "renewal_term_months"]
RECENT_COLUMNS = ["contract", "customer", "term_end", "renewed_to", "decided_at"]


def _read(url: str) -> Any:
    return ops_data._read(url)


@st.cache_data(ttl=TTL)
def queue(url: str, version: Version, today: date) -> pd.DataFrame:
    """Manual renewals due within 60 days or overdue, by term end."""
    with _read(url) as session:
        due = renewals.due_renewals(session, today, HORIZON_DAYS)
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


@st.cache_data(ttl=TTL)
def recent_auto_renewals(url: str, version: Version, today: date) -> pd.DataFrame:
    """The renewals the daily job made in the last 30 days, newest first."""
    since = datetime.combine(today - timedelta(days=RECENT_DAYS), datetime.min.time(), UTC)
    with _read(url) as session:
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


def renew(engine: Engine, actor: str, number: str, term_end: date, today: date) -> Outcome:
    def work(session: Session) -> Outcome:
        contract = _contract(session, number)
        row = renewals.renew(session, actor, contract, today=today, term_end=term_end)
        version = session.get(ContractVersion, row.version_id) if row.version_id else None
        until = f" until {version.end_date.isoformat()}" if version and version.end_date else ""
        return Outcome(message=f"{number} renewed{until}", target=number)

    return _write(engine, actor, EDIT, work)


def renegotiate(engine: Engine, actor: str, number: str, term_end: date, today: date) -> Outcome:
    def work(session: Session) -> Outcome:
        contract = _contract(session, number)
        row = renewals.start_renewal_renegotiation(
            session, actor, contract, today, term_end=term_end
        )
        proposal = renewals.proposal_number(session, row)
        if proposal is None:
            return Outcome(errors={"contract": f"was already decided on ({row.decision})"})
        return Outcome(message=f"{proposal} renegotiates {number}", target=proposal)

    return _write(engine, actor, EDIT, work)


def let_expire(
    engine: Engine, actor: str, number: str, term_end: date, note: str, today: date
) -> Outcome:
    def work(session: Session) -> Outcome:
        contract = _contract(session, number)
        renewals.let_expire(session, actor, contract, note, today=today, term_end=term_end)
        return Outcome(message=f"{number} ends {term_end.isoformat()}", target=number)

    return _write(engine, actor, EDIT, work)
