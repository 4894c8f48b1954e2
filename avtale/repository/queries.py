"""Reads for the customer card, the contract page and the portfolio search (SPEC R1, R3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import ColumnElement, String, cast, exists, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased, joinedload
from sqlalchemy.sql.functions import GenericFunction

from avtale.repository.models import (
    AuditLog,
    Contact,
    Contract,
    ContractLine,
    ContractVersion,
    Customer,
    Document,
    InstalledAsset,
)

SEARCH_LIMIT = 50


class fold(GenericFunction[str]):
    """Lower case for matching. SQLite's lower() knows only ASCII, so Ø, Å and Ä would not
    match ø, å and ä there; ``db.make_engine`` gives SQLite a Unicode ``avtale_lower``."""

    type = String()
    inherit_cache = True


@compiles(fold, "sqlite")
def _fold_sqlite(element: fold, compiler: Any, **kw: Any) -> str:
    return f"avtale_lower({compiler.process(element.clauses, **kw)})"


@compiles(fold)
def _fold_default(element: fold, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@dataclass(frozen=True)
class SearchHit:
    """A customer or contract that matched, and the field it matched on."""

    kind: Literal["customer", "contract"]
    id: int
    customer_id: int
    label: str
    matched_on: str


def is_current() -> ColumnElement[bool]:
    """True for the newest version of each contract."""
    later = aliased(ContractVersion)
    return ~exists().where(
        later.contract_id == ContractVersion.contract_id,
        later.version_no > ContractVersion.version_no,
    )


def _contains(column: Any, term: str) -> ColumnElement[bool]:
    return fold(column).contains(term.lower(), autoescape=True)


def search(session: Session, text: str, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
    """Customers by name, number, org number or owner; contracts by number, title, owner or
    a product of their current version. Case does not matter; org numbers match with or
    without spaces, dots and dashes. Customers first, each hit once."""
    term = text.strip()
    if not term:
        return []
    digits = re.sub(r"[\s.-]", "", term)
    bare_org = func.replace(
        func.replace(func.replace(Customer.org_number, " ", ""), "-", ""), ".", ""
    )
    customer_fields = {
        "name": _contains(Customer.name, term),
        "customer_number": _contains(Customer.customer_number, term),
        "org_number": bare_org.contains(digits, autoescape=True),
        "owner": _contains(Customer.owner, term),
    }
    contract_fields = {
        "contract_number": _contains(Contract.contract_number, term),
        "title": _contains(ContractVersion.title, term),
        "owner": _contains(ContractVersion.owner, term),
        "product": exists().where(
            ContractLine.version_id == ContractVersion.id, _contains(ContractLine.product, term)
        ),
    }
    hits: dict[tuple[str, int], SearchHit] = {}
    # One small query per field says which field matched; the first field found wins.
    for field, condition in customer_fields.items():
        for customer in session.scalars(
            select(Customer).where(condition).order_by(Customer.name).limit(limit)
        ):
            hits.setdefault(
                ("customer", customer.id),
                SearchHit("customer", customer.id, customer.id, customer.name, field),
            )
    for field, condition in contract_fields.items():
        rows = session.execute(
            select(Contract, Customer.name)
            .join(Customer)
            .join(ContractVersion)
            .where(is_current(), condition)
            .order_by(Contract.contract_number)
            .limit(limit)
        )
        for contract, customer_name in rows:
            label = f"{contract.contract_number} · {customer_name}"
            hits.setdefault(
                ("contract", contract.id),
                SearchHit("contract", contract.id, contract.customer_id, label, field),
            )
    return list(hits.values())[:limit]


def filter_contracts(
    session: Session,
    auto_renew: bool | None = None,
    min_notice_months: int | None = None,
    ends_before: date | None = None,
    status: str | None = None,
) -> list[ContractVersion]:
    """The current version of every contract whose terms match, by contract number.

    ``ends_before`` is strict and leaves out contracts without an end date; a contract
    without a notice period has none (it never meets ``min_notice_months``).
    """
    query = (
        select(ContractVersion)
        .join(Contract)
        .where(is_current())
        .options(joinedload(ContractVersion.contract).joinedload(Contract.customer))
        .order_by(Contract.contract_number)
    )
    if auto_renew is not None:
        query = query.where(ContractVersion.auto_renew.is_(auto_renew))
    if min_notice_months is not None:
        query = query.where(ContractVersion.notice_months >= min_notice_months)
    if ends_before is not None:
        query = query.where(ContractVersion.end_date < ends_before)
    if status is not None:
        query = query.where(Contract.status == status)
    return list(session.scalars(query))


def audit_trail(session: Session, entity: str, entity_id: object) -> list[AuditLog]:
    """Every logged write on one row, oldest first."""
    return list(
        session.scalars(
            select(AuditLog)
            .where(AuditLog.entity == entity, AuditLog.entity_id == str(entity_id))
            .order_by(AuditLog.at, AuditLog.id)
        )
    )


def customer_timeline(session: Session, customer: Customer) -> list[AuditLog]:
    """Everything logged on the customer, its contacts, contracts, assets and documents."""

    def ids(column: Any, *where: ColumnElement[bool]) -> Any:
        return select(cast(column, String)).where(*where)

    contract_ids = select(Contract.id).where(Contract.customer_id == customer.id)
    belongs = or_(
        (AuditLog.entity == "customer") & (AuditLog.entity_id == str(customer.id)),
        (AuditLog.entity == "contact")
        & AuditLog.entity_id.in_(ids(Contact.id, Contact.customer_id == customer.id)),
        (AuditLog.entity == "contract")
        & AuditLog.entity_id.in_(ids(Contract.id, Contract.customer_id == customer.id)),
        (AuditLog.entity == "installed_asset")
        & AuditLog.entity_id.in_(
            ids(InstalledAsset.id, InstalledAsset.contract_id.in_(contract_ids))
        ),
        (AuditLog.entity == "document")
        & AuditLog.entity_id.in_(
            ids(
                Document.id,
                or_(
                    Document.customer_id == customer.id,
                    Document.contract_id.in_(contract_ids),
                ),
            )
        ),
    )
    return list(session.scalars(select(AuditLog).where(belongs).order_by(AuditLog.at, AuditLog.id)))
