"""Finding customers and contracts entered in Avtale: one search box, and a filter on
contract terms (SPEC R1, R3)."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from avtale.dates import today as business_today
from avtale.repository import queries
from avtale.repository.models import Contract, ContractVersion, Customer
from avtale.services.contracts import mrr_on
from avtale.services.database import Database
from avtale.services.unit_of_work import reading

KINDS = ("customer", "contract")
HIT_COLUMNS = ["kind", "label", "matched_on", "number"]
PORTFOLIO_COLUMNS = [
    "contract",
    "customer",
    "title",
    "status",
    "start_date",
    "end_date",
    "notice_months",
    "auto_renew",
    "currency",
    "mrr",
]


def search(db: Database, text: str) -> pd.DataFrame:
    """What matches ``text``: kind (customer or contract), what it is, the field it
    matched on, its number."""
    with reading(db) as session:
        hits = queries.search(session, text)
        ids = {kind: [hit.id for hit in hits if hit.kind == kind] for kind in KINDS}
        numbers = {kind: _numbers(session, kind, ids[kind]) for kind in KINDS}
        rows = [
            {
                "kind": hit.kind,
                "label": hit.label,
                "matched_on": hit.matched_on.replace("_", " "),
                "number": numbers[hit.kind][hit.id],
            }
            for hit in hits
        ]
    return pd.DataFrame(rows, columns=HIT_COLUMNS)


def _numbers(session: Session, kind: str, ids: list[int]) -> dict[int, str]:
    query = (
        select(Customer.id, Customer.customer_number).where(Customer.id.in_(ids))
        if kind == "customer"
        else select(Contract.id, Contract.contract_number).where(Contract.id.in_(ids))
    )
    return {row_id: number for row_id, number in session.execute(query)}


def portfolio(
    db: Database,
    auto_renew: bool | None,
    min_notice_months: int | None,
    ends_before: date | None,
    status: str | None,
) -> pd.DataFrame:
    """One row per contract whose current terms match, with its MRR today."""
    today = business_today()
    with reading(db) as session:
        versions = queries.filter_contracts(
            session,
            auto_renew=auto_renew,
            min_notice_months=min_notice_months,
            ends_before=ends_before,
            status=status,
        )
        # Every version of these contracts in one query, for the one in effect today.
        session.scalars(
            select(Contract)
            .where(Contract.id.in_([v.contract_id for v in versions]))
            .options(selectinload(Contract.versions).selectinload(ContractVersion.lines))
        ).all()
        rows = [
            {
                "contract": v.contract.contract_number,
                "customer": v.contract.customer.name,
                "title": v.title,
                "status": v.contract.status,
                "start_date": v.start_date,
                "end_date": v.end_date,
                "notice_months": v.notice_months,
                "auto_renew": v.auto_renew,
                "currency": v.currency,
                "mrr": float(mrr_on(v.contract, today)),
            }
            for v in versions
        ]
    return pd.DataFrame(rows, columns=PORTFOLIO_COLUMNS)
