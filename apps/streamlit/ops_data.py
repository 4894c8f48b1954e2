"""Every read of the operational database (customers, contracts, users) the pages make.

data.py reads the published warehouse; this module reads the app's own database, so
the two never mix. Cached functions take the database URL and its ``version()`` as
plain arguments: every write adds an audit row, so a write anywhere (this session,
another user, a script) changes the version and misses the cache. They return plain
values and DataFrames, never ORM objects, and call no UI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, selectinload

from avtale.dates import today as business_today
from avtale.repository import auth, service
from avtale.repository.db import database_url, make_engine, migrate, session_scope
from avtale.repository.documents import documents_dir
from avtale.repository.library import install_defaults
from avtale.repository.models import (
    AuditLog,
    Contract,
    ContractVersion,
    Customer,
    Document,
    User,
)
from avtale.repository.terms import (
    LINE_FIELDS,
    TERM_FIELDS,
    TERMINATION_FIELDS,
    line_mrr,
    values_of,
)
from avtale.settings import paths

TTL = 300  # seconds; the version key already misses on every write, the ttl bounds memory

Version = tuple[int, int]


@st.cache_resource
def _engine(url: str) -> Engine:
    # One engine (and pool) per database for the whole server; the first page that
    # needs the database brings its schema up to date and installs the built-in templates,
    # clauses and catalogue into a database that has none.
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        install_defaults(session)
    return engine


def database() -> str:
    return database_url(paths())


def engine() -> Engine:
    return _engine(database())


def version(url: str) -> Version:
    """Changes with every committed write: the number of audit rows and the newest id.

    The count covers a transaction that commits after a later-numbered one (PostgreSQL),
    which the newest id alone would miss.
    """
    with session_scope(_engine(url), readonly=True) as session:
        count, newest = session.execute(
            select(func.count(AuditLog.id), func.coalesce(func.max(AuditLog.id), 0))
        ).one()
    return int(count), int(newest)


def current() -> tuple[str, Version]:
    """The database URL and its version, for the cached reads below."""
    url = database()
    return url, version(url)


def _read(url: str) -> Any:
    return session_scope(_engine(url), readonly=True)


# --- users --------------------------------------------------------------------------


@st.cache_data(ttl=TTL)
def has_users(url: str, version: Version) -> bool:
    with _read(url) as session:
        return session.scalar(select(func.count(User.id))) > 0


def user(url: str, username: str) -> dict[str, Any] | None:
    """The user's role and whether they are active. Not cached: who may do what must not
    hang on every change going through the audit log (a fix made straight in the database
    counts too), and one lookup by a unique name is cheap."""
    with _read(url) as session:
        row = session.scalar(select(User).where(User.username == username))
        if row is None:
            return None
        return {"username": row.username, "role": row.role, "active": row.active}


@st.cache_data(ttl=TTL)
def users(url: str, version: Version) -> pd.DataFrame:
    with _read(url) as session:
        rows = session.scalars(select(User).order_by(User.username))
        return pd.DataFrame(
            [
                {
                    "username": row.username,
                    "role": row.role,
                    "active": row.active,
                    "created_at": row.created_at,
                }
                for row in rows
            ],
            columns=["username", "role", "active", "created_at"],
        )


@st.cache_data(ttl=TTL)
def locked_users(url: str, version: Version) -> list[str]:
    """Users locked by failed logins (a lock is audited, so it changes the version)."""
    with _read(url) as session:
        return auth.locked_usernames(session)


# --- pickers and search -------------------------------------------------------------


@st.cache_data(ttl=TTL)
def customer_choices(url: str, version: Version, active_only: bool = False) -> dict[str, str]:
    """Customer number -> "Name (number)", by name."""
    with _read(url) as session:
        query = select(Customer).order_by(Customer.name, Customer.customer_number)
        if active_only:
            query = query.where(Customer.status == "active")
        return {
            row.customer_number: f"{row.name} ({row.customer_number})"
            for row in session.scalars(query)
        }


@st.cache_data(ttl=TTL)
def contract_choices(url: str, version: Version) -> dict[str, str]:
    """Contract number -> "number · customer", by number."""
    with _read(url) as session:
        rows = session.execute(
            select(Contract.contract_number, Customer.name)
            .join(Customer)
            .order_by(Contract.contract_number)
        )
        return {number: f"{number} · {name}" for number, name in rows}


@st.cache_data(ttl=TTL)
def search(url: str, version: Version, text: str) -> pd.DataFrame:
    """Hits of ``service.search``: kind, what it is, the field it matched, its number."""
    with _read(url) as session:
        hits = service.search(session, text)
        customers = _numbers(session, Customer, [h.id for h in hits if h.kind == "customer"])
        contracts = _numbers(session, Contract, [h.id for h in hits if h.kind == "contract"])
        rows = [
            {
                "kind": hit.kind,
                "label": hit.label,
                "matched_on": hit.matched_on.replace("_", " "),
                "number": (customers if hit.kind == "customer" else contracts)[hit.id],
            }
            for hit in hits
        ]
    return pd.DataFrame(rows, columns=["kind", "label", "matched_on", "number"])


def _numbers(session: Session, model: type[Customer] | type[Contract], ids: list[int]) -> dict:
    column = model.customer_number if model is Customer else model.contract_number
    return dict(session.execute(select(model.id, column).where(model.id.in_(ids))).all())


@st.cache_data(ttl=TTL)
def portfolio(
    url: str,
    version: Version,
    auto_renew: bool | None,
    min_notice_months: int | None,
    ends_before: date | None,
    status: str | None,
) -> pd.DataFrame:
    """One row per contract whose current terms match (``service.filter_contracts``)."""
    today = business_today()
    with _read(url) as session:
        versions = service.filter_contracts(
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
                "mrr": float(mrr_now(v.contract, today)),
            }
            for v in versions
        ]
    columns = [
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
    return pd.DataFrame(rows, columns=columns)


# --- MRR of one contract ------------------------------------------------------------


def contract_mrr(version: ContractVersion, on: date) -> Decimal:
    """The MRR of the version's lines active on ``on``, in the contract's currency.

    A draft is not in force. An auto-renewing contract that has not been terminated goes
    on past its end date at its latest price (SPEC IX M2), so lines ending with it count.
    """
    if version.contract.status == "draft":
        return Decimal(0)
    renews = version.auto_renew and version.terminated_date is None
    total = Decimal(0)
    for line in version.lines:
        ended = line.end_date is not None and line.end_date < on
        if ended and renews and line.end_date == version.end_date:
            ended = False
        if line.start_date <= on and not ended:
            total += line_mrr(line, on)
    return total


def mrr_now(contract: Contract, on: date) -> Decimal:
    """The MRR of the version in effect on ``on`` (a revision counts from its effective
    date, as in the marts); 0 before the first version takes effect."""
    try:
        return contract_mrr(service.current_version(contract, on), on)
    except LookupError:
        return Decimal(0)


# --- customer card ------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerCard:
    company: dict[str, Any]
    contacts: pd.DataFrame
    contracts: pd.DataFrame
    documents: pd.DataFrame
    timeline: pd.DataFrame


@st.cache_data(ttl=TTL)
def customer_card(url: str, version: Version, number: str) -> CustomerCard | None:
    today = business_today()
    with _read(url) as session:
        customer = session.scalar(
            select(Customer)
            .where(Customer.customer_number == number)
            .options(
                selectinload(Customer.contacts),
                selectinload(Customer.contracts)
                .selectinload(Contract.versions)
                .selectinload(ContractVersion.lines),
            )
        )
        if customer is None:
            return None
        company = {
            key: getattr(customer, key)
            for key in (
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
        }
        contacts = pd.DataFrame(
            [
                {
                    "name": c.name,
                    "title": c.title,
                    "email": c.email,
                    "phone": c.phone,
                    "may_sign": c.may_sign,
                }
                for c in customer.contacts
            ],
            columns=["name", "title", "email", "phone", "may_sign"],
        )
        contracts = pd.DataFrame(
            [_contract_row(contract, today) for contract in customer.contracts],
            columns=[
                "contract",
                "title",
                "status",
                "origin",
                "start_date",
                "end_date",
                "currency",
                "mrr",
            ],
        )
        documents = _documents(
            session,
            (Document.customer_id == customer.id)
            | Document.contract_id.in_([c.id for c in customer.contracts]),
        )
        timeline = _timeline(service.customer_timeline(session, customer))
    return CustomerCard(company, contacts, contracts, documents, timeline)


def _contract_row(contract: Contract, today: date) -> dict[str, Any]:
    latest = service.current_version(contract)
    return {
        "contract": contract.contract_number,
        "title": latest.title,
        "status": contract.status,
        "origin": contract.origin,
        "start_date": latest.start_date,
        "end_date": latest.end_date,
        "currency": latest.currency,
        "mrr": float(mrr_now(contract, today)),
    }


def _documents(session: Session, where: Any) -> pd.DataFrame:
    rows = session.scalars(
        select(Document)
        .where(where)
        .options(selectinload(Document.contract))
        .order_by(Document.uploaded_at, Document.id)
    )
    return pd.DataFrame(
        [
            {
                "id": d.id,
                "filename": d.filename,
                "kind": d.kind,
                "contract": d.contract.contract_number if d.contract else None,
                "size_bytes": d.size_bytes,
                "sha256": d.sha256,
                "content_type": d.content_type,
                "stored_path": d.stored_path,
                "uploaded_by": d.uploaded_by,
                "uploaded_at": d.uploaded_at,
            }
            for d in rows
        ],
        columns=[
            "id",
            "filename",
            "kind",
            "contract",
            "size_bytes",
            "sha256",
            "content_type",
            "stored_path",
            "uploaded_by",
            "uploaded_at",
        ],
    )


ACTIONS = {
    "customer.create": "Customer created",
    "customer.update": "Company data changed",
    "customer.terminate": "Customer terminated",
    "customer.archive": "Customer archived",
    "customer.restore": "Customer restored",
    "contact.create": "Contact added",
    "contract.create": "Contract created",
    "contract.revise": "Contract revised",
    "contract.terminate": "Contract terminated",
    "asset.create": "Installed asset added",
    "document.store": "Document stored",
}
# Bookkeeping columns that change with every write and tell the reader nothing.
QUIET = {"updated_at", "created_at", "id"}


def describe(entry: AuditLog) -> str:
    """One line saying what the write changed, from its before and after."""
    before, after = entry.before or {}, entry.after or {}
    if entry.entity == "contract":
        new = after.get("version") or {}
        return (
            f"{after.get('contract_number', '')} version {new.get('version_no', '?')}: "
            f"{new.get('reason', '')}"
        )
    if entry.action == "customer.terminate":
        return str(after.get("termination_reason") or "")
    if entry.entity == "customer" and before:
        changed = [
            f"{key}: {before.get(key) or '–'} → {after.get(key) or '–'}"
            for key in after
            if key not in QUIET and before.get(key) != after.get(key)
        ]
        return "; ".join(changed)
    for key in ("name", "serial_number", "filename"):
        if key in after:
            return str(after[key])
    return ""


def _timeline(entries: list[AuditLog]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "at": entry.at,
                "actor": entry.actor,
                "what": ACTIONS.get(entry.action, entry.action),
                "details": describe(entry),
            }
            for entry in reversed(entries)  # newest first: what happened lately matters most
        ],
        columns=["at", "actor", "what", "details"],
    )


# --- contract page ------------------------------------------------------------------


@dataclass(frozen=True)
class ContractView:
    header: dict[str, Any]
    terms: dict[str, Any]  # the current version's TERM_FIELDS and termination fields
    lines: pd.DataFrame
    assets: pd.DataFrame
    documents: pd.DataFrame
    versions: pd.DataFrame
    timeline: pd.DataFrame
    version_numbers: list[int] = field(default_factory=list)


LINE_COLUMNS = ["line_no", *LINE_FIELDS]


@st.cache_data(ttl=TTL)
def contract_view(url: str, version: Version, number: str) -> ContractView | None:
    today = business_today()
    with _read(url) as session:
        contract = _contract(session, number)
        if contract is None:
            return None
        latest = service.current_version(contract)
        header = {
            "contract_number": contract.contract_number,
            "customer_number": contract.customer.customer_number,
            "customer": contract.customer.name,
            "status": contract.status,
            "origin": contract.origin,
            "version_no": latest.version_no,
            "effective_date": latest.effective_date,
            "mrr": float(mrr_now(contract, today)),
        }
        terms = {key: getattr(latest, key) for key in TERM_FIELDS}
        terms |= {key: getattr(latest, key) for key in TERMINATION_FIELDS}
        lines = pd.DataFrame(
            [
                {"line_no": line.line_no, **values_of(line), "mrr": float(line_mrr(line, today))}
                for line in latest.lines
            ],
            columns=[*LINE_COLUMNS, "mrr"],
        )
        assets = pd.DataFrame(
            [
                {"serial_number": a.serial_number, "model": a.model, "location": a.location}
                for a in contract.assets
            ],
            columns=["serial_number", "model", "location"],
        )
        documents = _documents(session, Document.contract_id == contract.id)
        versions = pd.DataFrame(
            [
                {
                    "version_no": v.version_no,
                    "effective_date": v.effective_date,
                    "reason": v.reason,
                    "author": v.author,
                    "approver": v.approver,
                    "created_at": v.created_at,
                }
                for v in reversed(contract.versions)
            ],
            columns=["version_no", "effective_date", "reason", "author", "approver", "created_at"],
        )
        timeline = _timeline(service.audit_trail(session, "contract", contract.id))
        numbers = [v.version_no for v in contract.versions]
    return ContractView(header, terms, lines, assets, documents, versions, timeline, numbers)


def _contract(session: Session, number: str) -> Contract | None:
    return session.scalar(
        select(Contract)
        .where(Contract.contract_number == number)
        .options(
            selectinload(Contract.customer),
            selectinload(Contract.assets),
            selectinload(Contract.versions).selectinload(ContractVersion.lines),
        )
    )


@st.cache_data(ttl=TTL)
def comparison(url: str, version: Version, number: str, old: int, new: int) -> pd.DataFrame:
    """``service.compare_versions`` of two versions of one contract: field, old, new."""
    with _read(url) as session:
        contract = _contract(session, number)
        if contract is None:
            return pd.DataFrame(columns=["field", "old", "new"])
        by_number = {v.version_no: v for v in contract.versions}
        changes = service.compare_versions(by_number[old], by_number[new])
    return pd.DataFrame(
        [
            {"field": change.field, "old": _shown(change.old), "new": _shown(change.new)}
            for change in changes
        ],
        columns=["field", "old", "new"],
    )


def _shown(value: Any) -> str:
    # One text column holds dates, amounts and whole lines alike.
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return ", ".join(f"{key}={_shown(item)}" for key, item in value.items() if item is not None)
    return str(value)


def document_bytes(stored_path: str) -> bytes:
    """The stored file, read when the user asks to download it (not on every page run)."""
    return (documents_dir(paths()) / Path(stored_path)).read_bytes()
