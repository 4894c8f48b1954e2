"""Customers: create (warning of one that may exist already), edit, add a contact,
terminate, archive and restore; the pickers and the customer card."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from avtale.dates import today as business_today
from avtale.repository import customers as repository
from avtale.repository.models import Contract, ContractVersion, Customer, Document
from avtale.repository.queries import customer_timeline
from avtale.services import lookups
from avtale.services.contracts import CONTRACT_ROW_COLUMNS, contract_row
from avtale.services.database import Database
from avtale.services.documents import documents_table
from avtale.services.timeline import timeline
from avtale.services.unit_of_work import DUPLICATE, EDIT, Outcome, reading, write

COMPANY_FIELDS = (
    "customer_number",
    "name",
    "org_number",
    "country",
    "owner",
    "industry",
    "status",
    "termination_reason",
    "termination_circumstances",
    "created_at",
)


# --- reads --------------------------------------------------------------------------


def customer_choices(db: Database, active_only: bool = False) -> dict[str, str]:
    """Customer number -> "Name (number)", by name."""
    with reading(db) as session:
        query = select(Customer).order_by(Customer.name, Customer.customer_number)
        if active_only:
            query = query.where(Customer.status == "active")
        return {
            row.customer_number: f"{row.name} ({row.customer_number})"
            for row in session.scalars(query)
        }


ASSET_COLUMNS = ["serial_number", "model", "location", "contract"]


@dataclass(frozen=True)
class CustomerCard:
    company: dict[str, Any]
    contacts: pd.DataFrame
    contracts: pd.DataFrame
    documents: pd.DataFrame
    timeline: pd.DataFrame
    # The installed assets added by hand on its contracts (the registers' are in the marts).
    assets: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ASSET_COLUMNS))
    # Its id in the marts: ``app:<number>``, or the CRM customer it took over.
    warehouse_id: str = ""


def customer_card(db: Database, number: str) -> CustomerCard | None:
    today = business_today()
    with reading(db) as session:
        customer = session.scalar(
            select(Customer)
            .where(Customer.customer_number == number)
            .options(
                selectinload(Customer.contacts),
                selectinload(Customer.contracts)
                .selectinload(Contract.versions)
                .selectinload(ContractVersion.lines),
                selectinload(Customer.contracts).selectinload(Contract.assets),
            )
        )
        if customer is None:
            return None
        company = {key: getattr(customer, key) for key in COMPANY_FIELDS}
        contacts = pd.DataFrame(
            [
                {
                    "id": c.id,
                    "name": c.name,
                    "title": c.title,
                    "email": c.email,
                    "phone": c.phone,
                    "may_sign": c.may_sign,
                }
                for c in customer.contacts
            ],
            columns=["id", "name", "title", "email", "phone", "may_sign"],
        )
        contracts = pd.DataFrame(
            [contract_row(contract, today) for contract in customer.contracts],
            columns=CONTRACT_ROW_COLUMNS,
        )
        documents = documents_table(
            session,
            (Document.customer_id == customer.id)
            | Document.contract_id.in_([c.id for c in customer.contracts]),
        )
        history = timeline(customer_timeline(session, customer))
        assets = pd.DataFrame(
            [
                {
                    "serial_number": asset.serial_number,
                    "model": asset.model,
                    "location": asset.location,
                    "contract": contract.contract_number,
                }
                for contract in customer.contracts
                for asset in contract.assets
            ],
            columns=ASSET_COLUMNS,
        )
        warehouse_id = customer.source_ref or f"app:{customer.customer_number}"
    return CustomerCard(company, contacts, contracts, documents, history, assets, warehouse_id)


# --- writes -------------------------------------------------------------------------


def create_customer(
    db: Database, actor: str, values: Mapping[str, Any], confirmed: bool = False
) -> Outcome:
    """A new customer; one that may exist already (same organisation number, or name and
    country) is not made until the user ``confirmed`` it: the outcome names the customers
    it may be, in ``detail["duplicate_of"]`` (customer number, name, status, why)."""

    def work(session: Session) -> Outcome:
        similar = repository.duplicates(session, values)
        if similar and not confirmed:
            first = similar[0]
            return Outcome(
                errors={
                    DUPLICATE: f"{first.customer_number} {first.name} has the same "
                    f"{first.reason}: open it, or confirm this is another company"
                },
                detail={"duplicate_of": [asdict(duplicate) for duplicate in similar]},
            )
        customer = repository.create_customer(session, actor, values)
        return Outcome(
            message=f"Customer {customer.name} ({customer.customer_number}) created.",
            target=customer.customer_number,
        )

    return write(db, actor, EDIT, work)


def update_customer(db: Database, actor: str, number: str, values: Mapping[str, Any]) -> Outcome:
    def work(session: Session) -> Outcome:
        customer = repository.update_customer(
            session, actor, lookups.customer(session, number), values
        )
        return Outcome(message="Company data saved.", target=customer.customer_number)

    return write(db, actor, EDIT, work)


def add_contact(db: Database, actor: str, number: str, values: Mapping[str, Any]) -> Outcome:
    def work(session: Session) -> Outcome:
        contact = repository.add_contact(session, actor, lookups.customer(session, number), values)
        return Outcome(message=f"Contact {contact.name} added.", target=number)

    return write(db, actor, EDIT, work)


def terminate_customer(
    db: Database, actor: str, number: str, reason: str, circumstances: str
) -> Outcome:
    def work(session: Session) -> Outcome:
        customer = lookups.customer(session, number)
        repository.terminate_customer(session, actor, customer, reason, circumstances)
        return Outcome(message=f"{customer.name} is terminated.", target=number)

    return write(db, actor, EDIT, work)


def archive_customer(db: Database, actor: str, number: str) -> Outcome:
    def work(session: Session) -> Outcome:
        customer = repository.archive_customer(session, actor, lookups.customer(session, number))
        return Outcome(message=f"{customer.name} is archived.", target=number)

    return write(db, actor, EDIT, work)


def restore_customer(db: Database, actor: str, number: str) -> Outcome:
    def work(session: Session) -> Outcome:
        customer = repository.restore_customer(session, actor, lookups.customer(session, number))
        return Outcome(message=f"{customer.name} is active again.", target=number)

    return write(db, actor, EDIT, work)
