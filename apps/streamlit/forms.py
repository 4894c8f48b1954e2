"""Form submissions: widget values in, one audited transaction, an ``Outcome`` out.

Each function re-reads the acting user from the database and checks the role may do
the action before anything is written: a page hides what a role may not do, but a
session can outlive a role change or a deactivation. Validation problems come back as
``Outcome.errors`` (field -> message), never as exceptions, so the page can show each
next to its field. No Streamlit here: a page calls these and shows the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from avtale.repository import auth, customers, service
from avtale.repository.contracts import validate_contract
from avtale.repository.db import session_scope
from avtale.repository.documents import (
    check_upload,
    register_counterparty_paper,
    registered_papers,
    store_document,
)
from avtale.repository.models import Contract, Customer, User
from avtale.settings import Paths

# Errors about the form as a whole rather than one field.
FORM = "form"
# What may already exist (a customer, a registered file): shown as a warning with a link.
DUPLICATE = "duplicate"
EDIT = "edit_agreements"
MANAGE_USERS = "manage_users"


@dataclass(frozen=True)
class Outcome:
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    # The number of the customer or contract written, to link to or open.
    target: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def refused(message: str) -> Outcome:
    return Outcome(errors={FORM: message})


def _write(
    engine: Engine, actor: str, permission: str, work: Callable[[Session], Outcome]
) -> Outcome:
    """Run ``work`` in one transaction if the actor may; any ValidationError rolls it all
    back and comes back as the outcome's errors."""
    try:
        with session_scope(engine) as session:
            user = session.scalar(select(User).where(User.username == actor))
            if user is None or not user.active:
                raise service.ValidationError({FORM: "your account is not active: log in again"})
            if not auth.can(user.role, permission):
                raise service.ValidationError({FORM: f"your role ({user.role}) may not do this"})
            return work(session)
    except service.ValidationError as invalid:
        return Outcome(errors=invalid.errors)


def _customer(session: Session, number: str | None) -> Customer:
    customer = _find_customer(session, number)
    if customer is None:
        raise service.ValidationError({"customer": "choose a customer"})
    return customer


def _contract(session: Session, number: str | None) -> Contract:
    contract = session.scalar(select(Contract).where(Contract.contract_number == number))
    if contract is None:
        raise service.ValidationError({"contract": "was not found"})
    return contract


# --- widget values to service input --------------------------------------------------


def plain(value: Any) -> Any:
    """A table cell as the service takes it: blanks as None, timestamps as dates."""
    if value is None or (not isinstance(value, list | dict) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.date()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def rows(frame: pd.DataFrame | None, significant: tuple[str, ...]) -> list[dict[str, Any]]:
    """The table's rows as dicts, leaving out rows with nothing in the significant columns
    (an added row the user never filled in)."""
    if frame is None:
        return []
    records = [
        {key: plain(value) for key, value in row.items()} for row in frame.to_dict("records")
    ]
    return [
        record
        for record in records
        if any(record.get(key) not in (None, "") for key in significant)
    ]


def custom_terms(frame: pd.DataFrame | None) -> dict[str, Any]:
    """The name/value table as a dict; ``ValidationError`` when a value has no name."""
    terms: dict[str, Any] = {}
    for row in rows(frame, ("name", "value")):
        name = (row.get("name") or "").strip()
        if not name:
            raise service.ValidationError({"custom_terms": "every custom term needs a name"})
        terms[name] = row.get("value")
    return terms


def same(a: Any, b: Any) -> bool:
    """Equal as the user means it: 2.5 == Decimal("2.5000"), "" == None."""
    a, b = plain(a), plain(b)
    a = None if a == "" else a
    b = None if b == "" else b
    numeric = (int, float, Decimal)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool):
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except InvalidOperation:
            return False
    return a == b


# --- login and users ----------------------------------------------------------------


def log_in(engine: Engine, username: str, password: str, client: str) -> Outcome:
    """The user's name and role in ``detail`` when the password is right; refused, with
    ``auth.log_in``'s reason, when it is wrong or the name or ``client`` must wait."""
    if not (username or "").strip() or not password:
        return refused("enter your username and password")
    # Not read-only: a login counts failures and may upgrade an outdated password hash.
    with session_scope(engine) as session:
        login = auth.log_in(session, username, password, client)
        if login.user is None:
            return refused(login.refusal or auth.WRONG)
        return Outcome(
            message=f"Logged in as {login.user.username}.",
            detail={"username": login.user.username, "role": login.user.role},
        )


def create_user(engine: Engine, actor: str, username: str, password: str, role: str) -> Outcome:
    def work(session: Session) -> Outcome:
        user = auth.create_user(session, actor, username, password, role)
        return Outcome(message=f"User {user.username} ({user.role}) created.")

    return _write(engine, actor, MANAGE_USERS, work)


def _user(session: Session, username: str | None) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise service.ValidationError({"user": "choose a user"})
    return user


ACCESS = {"keep": None, "deactivate": False, "reactivate": True}


def update_user_access(
    engine: Engine, actor: str, username: str | None, role: str | None, access: str
) -> Outcome:
    """A new role and/or access switched off or on ("keep", "deactivate", "reactivate")."""

    def work(session: Session) -> Outcome:
        target = _user(session, username)
        active = ACCESS[access]
        if role in (None, target.role) and active in (None, target.active):
            raise service.ValidationError({FORM: "nothing to change: pick a new role or access"})
        user = auth.update_user(session, actor, target, role=role, active=active)
        state = "active" if user.active else "deactivated"
        return Outcome(message=f"{user.username} is now {user.role}, {state}.")

    return _write(engine, actor, MANAGE_USERS, work)


def unlock_user(engine: Engine, actor: str, username: str | None) -> Outcome:
    """Let a user locked by failed logins try again."""

    def work(session: Session) -> Outcome:
        user = _user(session, username)
        if not auth.unlock(session, actor, user):
            raise service.ValidationError({"user": f"{user.username} is not locked"})
        return Outcome(message=f"{user.username} is unlocked and may log in again.")

    return _write(engine, actor, MANAGE_USERS, work)


def reset_password(engine: Engine, actor: str, username: str, password: str) -> Outcome:
    def work(session: Session) -> Outcome:
        user = auth.set_password(session, actor, _user(session, username), password)
        return Outcome(message=f"Password of {user.username} reset.")

    return _write(engine, actor, MANAGE_USERS, work)


# --- customers ----------------------------------------------------------------------


def create_customer(
    engine: Engine, actor: str, values: Mapping[str, Any], confirmed: bool = False
) -> Outcome:
    """A new customer; one that may exist already (same organisation number, or name and
    country) is not made until the user ``confirmed`` it: the outcome names the customers
    it may be, in ``detail["duplicate_of"]`` (customer number, name, status, why)."""

    def work(session: Session) -> Outcome:
        similar = customers.duplicates(session, values)
        if similar and not confirmed:
            first = similar[0]
            return Outcome(
                errors={
                    DUPLICATE: f"{first.customer_number} {first.name} has the same "
                    f"{first.reason}: open it, or confirm this is another company"
                },
                detail={"duplicate_of": [asdict(duplicate) for duplicate in similar]},
            )
        customer = service.create_customer(session, actor, values)
        return Outcome(
            message=f"Customer {customer.name} ({customer.customer_number}) created.",
            target=customer.customer_number,
        )

    return _write(engine, actor, EDIT, work)


def update_customer(engine: Engine, actor: str, number: str, values: Mapping[str, Any]) -> Outcome:
    def work(session: Session) -> Outcome:
        customer = service.update_customer(session, actor, _customer(session, number), values)
        return Outcome(message="Company data saved.", target=customer.customer_number)

    return _write(engine, actor, EDIT, work)


def add_contact(engine: Engine, actor: str, number: str, values: Mapping[str, Any]) -> Outcome:
    def work(session: Session) -> Outcome:
        contact = service.add_contact(session, actor, _customer(session, number), values)
        return Outcome(message=f"Contact {contact.name} added.", target=number)

    return _write(engine, actor, EDIT, work)


def terminate_customer(
    engine: Engine, actor: str, number: str, reason: str, circumstances: str
) -> Outcome:
    def work(session: Session) -> Outcome:
        customer = _customer(session, number)
        service.terminate_customer(session, actor, customer, reason, circumstances)
        return Outcome(message=f"{customer.name} is terminated.", target=number)

    return _write(engine, actor, EDIT, work)


def archive_customer(engine: Engine, actor: str, number: str) -> Outcome:
    def work(session: Session) -> Outcome:
        customer = service.archive_customer(session, actor, _customer(session, number))
        return Outcome(message=f"{customer.name} is archived.", target=number)

    return _write(engine, actor, EDIT, work)


def restore_customer(engine: Engine, actor: str, number: str) -> Outcome:
    def work(session: Session) -> Outcome:
        customer = service.restore_customer(session, actor, _customer(session, number))
        return Outcome(message=f"{customer.name} is active again.", target=number)

    return _write(engine, actor, EDIT, work)


# --- contracts ----------------------------------------------------------------------

LINE_SIGNIFICANT = ("product", "unit_price")


def _terms(terms: Mapping[str, Any], table: pd.DataFrame | None) -> dict[str, Any]:
    return {**terms, "custom_terms": custom_terms(table)}


def _new_lines(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    # Lines of a new contract are numbered by the service; the column is for revisions.
    return [
        {key: value for key, value in row.items() if key != "line_no"}
        for row in rows(frame, LINE_SIGNIFICANT)
    ]


def create_contract(
    engine: Engine,
    actor: str,
    customer_number: str | None,
    terms: Mapping[str, Any],
    custom: pd.DataFrame | None,
    lines: pd.DataFrame | None,
) -> Outcome:
    def work(session: Session) -> Outcome:
        given_terms, given_lines = _terms(terms, custom), _new_lines(lines)
        customer = _find_customer(session, customer_number)
        if customer is None:
            raise service.ValidationError(_contract_errors(session, None, given_terms, given_lines))
        version = service.create_contract(session, actor, customer, given_terms, given_lines)
        number = version.contract.contract_number
        return Outcome(message=f"Contract {number} created for {customer.name}.", target=number)

    return _write(engine, actor, EDIT, work)


def _find_customer(session: Session, number: str | None) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.customer_number == number))


def _contract_errors(
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
        validate_contract(session, stand_in, terms, lines, origin=origin)
    except service.ValidationError as invalid:
        errors |= invalid.errors
    return errors


def register_paper(
    engine: Engine,
    actor: str,
    paths: Paths,
    customer_number: str | None,
    terms: Mapping[str, Any],
    custom: pd.DataFrame | None,
    lines: pd.DataFrame | None,
    upload: tuple[str, bytes] | None,
    confirmed: bool = False,
) -> Outcome:
    """A counterparty paper: the uploaded file (name, bytes) and the contract's terms. A
    file already registered on a contract is not registered again until the user
    ``confirmed`` it: the outcome names those contracts in ``detail["duplicate_of"]``."""

    def work(session: Session) -> Outcome:
        customer = _find_customer(session, customer_number)
        given_terms, given_lines = _terms(terms, custom), _new_lines(lines)
        if customer is None or upload is None:
            raise service.ValidationError(
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

    return _write(engine, actor, EDIT, work)


def _paper_errors(
    session: Session,
    customer: Customer | None,
    terms: Mapping[str, Any],
    lines: list[dict[str, Any]],
    upload: tuple[str, bytes] | None,
) -> dict[str, str]:
    """Every problem of a paper missing its customer or file, so the user sees all at once."""
    errors = _contract_errors(session, customer, terms, lines, "counterparty_paper")
    if upload is None:
        errors["file"] = "choose the PDF or Word (.docx) file the customer sent"
    else:
        try:
            check_upload(upload[1])
        except service.ValidationError as refused_file:
            errors |= refused_file.errors
    return errors


def revise_contract(
    engine: Engine,
    actor: str,
    number: str,
    based_on: int,
    before: Mapping[str, Any],
    terms: Mapping[str, Any],
    old_custom: pd.DataFrame,
    custom: pd.DataFrame | None,
    old_lines: pd.DataFrame,
    lines: pd.DataFrame | None,
    effective_date: date | None,
    reason: str,
    approver: str,
) -> Outcome:
    """The next version with what the user changed from the version ``based_on`` the form
    showed: terms against ``before``, custom terms and lines against the tables the
    editors started from."""

    def work(session: Session) -> Outcome:
        contract = _contract(session, number)
        latest = service.current_version(contract)
        if latest.version_no != based_on:
            raise service.ValidationError(
                {
                    FORM: f"version {latest.version_no} was saved by {latest.author} while "
                    f"you edited version {based_on}: reload the page and make your change again"
                }
            )
        given = _terms(terms, custom)
        # Only what the user changed: an unchanged end date passed along would stop
        # the service deriving a new one from a changed term.
        was = {**before, "custom_terms": custom_terms(old_custom)}
        changes = {key: value for key, value in given.items() if not same(value, was.get(key))}
        new_lines = rows(lines, LINE_SIGNIFICANT)
        unchanged = _same_rows(rows(old_lines, LINE_SIGNIFICANT), new_lines)
        version = service.revise_contract(
            session,
            actor,
            contract,
            changes,
            None if unchanged else new_lines,
            effective_date,
            reason,
            approver,
        )
        return Outcome(
            message=f"{number} version {version.version_no} saved, effective "
            f"{version.effective_date.isoformat()}.",
            target=number,
        )

    return _write(engine, actor, EDIT, work)


def _same_rows(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> bool:
    return len(old) == len(new) and all(
        all(same(a.get(key), b.get(key)) for key in a.keys() | b.keys())
        for a, b in zip(old, new, strict=True)
    )


def terminate_contract(
    engine: Engine,
    actor: str,
    number: str,
    terminated_date: date | None,
    reason: str,
    circumstances: str,
) -> Outcome:
    def work(session: Session) -> Outcome:
        version = service.terminate_contract(
            session, actor, _contract(session, number), terminated_date, reason, circumstances
        )
        assert version.terminated_date is not None
        return Outcome(
            message=f"{number} terminated; its last day is {version.terminated_date.isoformat()}.",
            target=number,
        )

    return _write(engine, actor, EDIT, work)


def add_asset(engine: Engine, actor: str, number: str, values: Mapping[str, Any]) -> Outcome:
    def work(session: Session) -> Outcome:
        asset = service.add_installed_asset(session, actor, _contract(session, number), values)
        return Outcome(message=f"Installed asset {asset.serial_number} added.", target=number)

    return _write(engine, actor, EDIT, work)


def attach(
    engine: Engine, actor: str, paths: Paths, number: str, upload: tuple[str, bytes] | None
) -> Outcome:
    def work(session: Session) -> Outcome:
        filename, data = upload or ("", b"")
        document = store_document(
            session,
            actor,
            paths,
            filename=filename or "upload",
            data=data,
            contract=_contract(session, number),
        )
        return Outcome(
            message=f"Attached {document.filename} (SHA-256 {document.sha256}).",
            target=number,
            detail={"sha256": document.sha256},
        )

    return _write(engine, actor, EDIT, work)
