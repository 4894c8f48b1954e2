"""Contracts entered in Avtale: create (on a form, or on the customer's own paper), revise (a
new version), terminate, add an installed asset; the contract page and its version
comparison; what a contract is worth on a day."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from avtale.dates import today as business_today
from avtale.repository import contracts as repository
from avtale.repository.documents import (
    check_upload,
    register_counterparty_paper,
    registered_papers,
)
from avtale.repository.limits import planning_rates
from avtale.repository.models import Contract, ContractVersion, Customer, Document
from avtale.repository.queries import audit_trail
from avtale.repository.terms import LINE_FIELDS, TERM_FIELDS, TERMINATION_FIELDS, values_of
from avtale.repository.validation import ValidationError
from avtale.services import inputs, lookups
from avtale.services.database import Database
from avtale.services.documents import documents_table
from avtale.services.timeline import timeline
from avtale.services.unit_of_work import DUPLICATE, EDIT, FORM, Outcome, reading, write
from avtale.settings import Paths
from avtale.valuation import line_mrr, version_mrr_on

# The terms a form asks for (custom terms have their own table).
TERM_NAMES = tuple(name for name in TERM_FIELDS if name != "custom_terms")
# A line row with nothing in these columns is a row added and never filled in.
LINE_SIGNIFICANT = ("product", "unit_price")
LINE_COLUMNS = ["line_no", *LINE_FIELDS]


def currencies() -> list[str]:
    """The currencies a contract may have: those with a planning rate."""
    return list(planning_rates())


# --- what a contract is worth --------------------------------------------------------


def mrr_on(contract: Contract, day: date) -> Decimal:
    """The MRR on ``day`` of the version in effect that day (a revision counts from its
    effective date, as in the marts), in the contract's currency; 0 for a draft, which is
    not in force, and before the first version takes effect."""
    if contract.status == "draft":
        return Decimal(0)
    try:
        version = repository.current_version(contract, day)
    except LookupError:
        return Decimal(0)
    return version_mrr_on(version, day)


def contract_row(contract: Contract, today: date) -> dict[str, Any]:
    """The contract as one row of a list: number, title, status, origin, dates, MRR today."""
    latest = repository.current_version(contract)
    return {
        "contract": contract.contract_number,
        "title": latest.title,
        "status": contract.status,
        "origin": contract.origin,
        "start_date": latest.start_date,
        "end_date": latest.end_date,
        "currency": latest.currency,
        "mrr": float(mrr_on(contract, today)),
    }


CONTRACT_ROW_COLUMNS = [
    "contract",
    "title",
    "status",
    "origin",
    "start_date",
    "end_date",
    "currency",
    "mrr",
]


# --- reads --------------------------------------------------------------------------


def contract_choices(db: Database) -> dict[str, str]:
    """Contract number -> "number · customer", by number."""
    with reading(db) as session:
        rows = session.execute(
            select(Contract.contract_number, Customer.name)
            .join(Customer)
            .order_by(Contract.contract_number)
        )
        return {number: f"{number} · {name}" for number, name in rows}


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


def contract_view(db: Database, number: str) -> ContractView | None:
    today = business_today()
    with reading(db) as session:
        contract = _loaded(session, number)
        if contract is None:
            return None
        latest = repository.current_version(contract)
        header = {
            "contract_number": contract.contract_number,
            "customer_number": contract.customer.customer_number,
            "customer": contract.customer.name,
            "status": contract.status,
            "origin": contract.origin,
            "source_ref": contract.source_ref,
            "adopted_on": contract.adopted_on,
            "portal_access": contract.portal_access,
            "version_no": latest.version_no,
            "effective_date": latest.effective_date,
            "mrr": float(mrr_on(contract, today)),
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
        documents = documents_table(session, Document.contract_id == contract.id)
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
        history = timeline(audit_trail(session, "contract", contract.id))
        numbers = [v.version_no for v in contract.versions]
    return ContractView(header, terms, lines, assets, documents, versions, history, numbers)


def _loaded(session: Session, number: str) -> Contract | None:
    return session.scalar(
        select(Contract)
        .where(Contract.contract_number == number)
        .options(
            selectinload(Contract.customer),
            selectinload(Contract.assets),
            selectinload(Contract.versions).selectinload(ContractVersion.lines),
        )
    )


def comparison(db: Database, number: str, old: int, new: int) -> pd.DataFrame:
    """What changed between two versions of one contract: field, old, new (as text)."""
    with reading(db) as session:
        contract = _loaded(session, number)
        if contract is None:
            return pd.DataFrame(columns=["field", "old", "new"])
        by_number = {v.version_no: v for v in contract.versions}
        changes = repository.compare_versions(by_number[old], by_number[new])
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


# --- writes -------------------------------------------------------------------------


def new_lines(rows: Sequence[inputs.Row] | None) -> list[dict[str, Any]]:
    """The filled-in lines of a new contract (numbered by the repository: the line_no
    column is for revisions)."""
    return [
        {key: value for key, value in row.items() if key != "line_no"}
        for row in inputs.filled(rows, LINE_SIGNIFICANT)
    ]


def contract_errors(
    session: Session,
    customer: Customer | None,
    terms: Mapping[str, Any],
    lines: list[dict[str, Any]],
    origin: str = "app",
) -> dict[str, str]:
    """Every problem of the terms and lines, even with no customer chosen yet, so the user
    sees them all at once rather than one round trip per field."""
    errors = {} if customer is not None else {"customer": "choose a customer"}
    # A stand-in that is never added to the session: the rules only ask its status/owner.
    stand_in = customer or Customer(status="active", owner=None)
    try:
        repository.validate_contract(session, stand_in, terms, lines, origin=origin)
    except ValidationError as invalid:
        errors |= invalid.errors
    return errors


def create_contract(
    db: Database,
    actor: str,
    customer_number: str | None,
    terms: Mapping[str, Any],
    custom_terms: Sequence[inputs.Row] | None,
    lines: Sequence[inputs.Row] | None,
) -> Outcome:
    """A new contract: the terms, the custom terms as name/value rows, the line rows."""

    def work(session: Session) -> Outcome:
        given_terms = {**terms, "custom_terms": inputs.custom_terms(custom_terms)}
        given_lines = new_lines(lines)
        customer = lookups.find_customer(session, customer_number)
        if customer is None:
            raise ValidationError(contract_errors(session, None, given_terms, given_lines))
        version = repository.create_contract(session, actor, customer, given_terms, given_lines)
        number = version.contract.contract_number
        return Outcome(message=f"Contract {number} created for {customer.name}.", target=number)

    return write(db, actor, EDIT, work)


def revise_contract(
    db: Database,
    actor: str,
    number: str,
    based_on: int,
    before: Mapping[str, Any],
    terms: Mapping[str, Any],
    old_custom: Sequence[inputs.Row] | None,
    custom: Sequence[inputs.Row] | None,
    old_lines: Sequence[inputs.Row] | None,
    lines: Sequence[inputs.Row] | None,
    effective_date: date | None,
    reason: str,
    approver: str,
) -> Outcome:
    """The next version with what the user changed from the version ``based_on`` the form
    showed: terms against ``before``, custom terms and lines against the rows the editors
    started from."""

    def work(session: Session) -> Outcome:
        contract = lookups.contract(session, number)
        latest = repository.current_version(contract)
        if latest.version_no != based_on:
            raise ValidationError(
                {
                    FORM: f"version {latest.version_no} was saved by {latest.author} while "
                    f"you edited version {based_on}: reload the page and make your change again"
                }
            )
        given = {**terms, "custom_terms": inputs.custom_terms(custom)}
        # Only what the user changed: an unchanged end date passed along would stop
        # the repository deriving a new one from a changed term.
        was = {**before, "custom_terms": inputs.custom_terms(old_custom)}
        changes = {
            key: value for key, value in given.items() if not inputs.same(value, was.get(key))
        }
        revised = inputs.filled(lines, LINE_SIGNIFICANT)
        unchanged = inputs.same_rows(inputs.filled(old_lines, LINE_SIGNIFICANT), revised)
        version = repository.revise_contract(
            session,
            actor,
            contract,
            changes,
            None if unchanged else revised,
            effective_date,
            reason,
            approver,
        )
        return Outcome(
            message=f"{number} version {version.version_no} saved, effective "
            f"{version.effective_date.isoformat()}.",
            target=number,
        )

    return write(db, actor, EDIT, work)


def terminate_contract(
    db: Database,
    actor: str,
    number: str,
    terminated_date: date | None,
    reason: str,
    circumstances: str,
) -> Outcome:
    def work(session: Session) -> Outcome:
        contract = lookups.contract(session, number)
        return terminated(session, actor, contract, terminated_date, reason, circumstances)

    return write(db, actor, EDIT, work)


def terminated(
    session: Session,
    actor: str,
    contract: Contract,
    terminated_date: date | None,
    reason: str,
    circumstances: str,
) -> Outcome:
    """Terminate ``contract`` inside the caller's transaction (also after adopting it)."""
    version = repository.terminate_contract(
        session, actor, contract, terminated_date, reason, circumstances
    )
    assert version.terminated_date is not None
    number = contract.contract_number
    return Outcome(
        message=f"{number} terminated; its last day is {version.terminated_date.isoformat()}.",
        target=number,
    )


def add_asset(db: Database, actor: str, number: str, values: Mapping[str, Any]) -> Outcome:
    def work(session: Session) -> Outcome:
        asset = repository.add_installed_asset(
            session, actor, lookups.contract(session, number), values
        )
        return Outcome(message=f"Installed asset {asset.serial_number} added.", target=number)

    return write(db, actor, EDIT, work)


# --- counterparty paper -------------------------------------------------------------


def register_paper(
    db: Database,
    actor: str,
    paths: Paths,
    customer_number: str | None,
    terms: Mapping[str, Any],
    custom_terms: Sequence[inputs.Row] | None,
    lines: Sequence[inputs.Row] | None,
    upload: tuple[str, bytes] | None,
    confirmed: bool = False,
) -> Outcome:
    """A contract on the customer's own paper: the uploaded file (name, bytes) and the
    contract's terms. A file already registered on a contract is not registered again until
    the user ``confirmed`` it: the outcome names those contracts in
    ``detail["duplicate_of"]``."""

    def work(session: Session) -> Outcome:
        customer = lookups.find_customer(session, customer_number)
        given_terms = {**terms, "custom_terms": inputs.custom_terms(custom_terms)}
        given_lines = new_lines(lines)
        if customer is None or upload is None:
            raise ValidationError(
                _paper_errors(session, customer, given_terms, given_lines, upload)
            )
        filename, data = upload
        earlier = registered_papers(session, data)
        if earlier and not confirmed:
            numbers = ", ".join(contract.contract_number for contract in earlier)
            return Outcome(
                errors={
                    DUPLICATE: f"This file is already registered as contract {numbers} "
                    f"({earlier[0].customer.name}): open it, or confirm to register it again"
                },
                detail={"duplicate_of": [contract.contract_number for contract in earlier]},
            )
        version, document = register_counterparty_paper(
            session, actor, paths, customer, given_terms, given_lines, filename=filename, data=data
        )
        number = version.contract.contract_number
        return Outcome(
            message=f"Stored {document.filename} as contract {number} for {customer.name}.",
            target=number,
            detail={"sha256": document.sha256, "filename": document.filename},
        )

    return write(db, actor, EDIT, work)


def _paper_errors(
    session: Session,
    customer: Customer | None,
    terms: Mapping[str, Any],
    lines: list[dict[str, Any]],
    upload: tuple[str, bytes] | None,
) -> dict[str, str]:
    """Every problem of a paper missing its customer or file, so the user sees all at once."""
    errors = contract_errors(session, customer, terms, lines, "counterparty_paper")
    if upload is None:
        errors["file"] = "choose the PDF or Word (.docx) file the customer sent"
    else:
        try:
            check_upload(upload[1])
        except ValidationError as refused_file:
            errors |= refused_file.errors
    return errors
