"""Audited writes on customers and their contacts (SPEC R1, R6, X4)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from avtale.repository import orgnumbers
from avtale.repository.audit import record, snapshot
from avtale.repository.models import Contact, Customer
from avtale.repository.validation import Field, clean, raise_if, require_actor

CUSTOMER_FIELDS = {
    "customer_number": Field("text", max_length=40),
    "name": Field("text", required=True),
    "org_number": Field("text", max_length=40),
    "country": Field("country"),
    "owner": Field("text", max_length=100),
    "industry": Field("text", max_length=100),
}
# The customer number is the key other systems know the customer by: set once.
EDITABLE_CUSTOMER_FIELDS = {
    key: spec for key, spec in CUSTOMER_FIELDS.items() if key != "customer_number"
}

CONTACT_FIELDS = {
    "name": Field("text", required=True),
    "email": Field("email", max_length=254),
    "phone": Field("text", max_length=40),
    "title": Field("text", max_length=100),
    "may_sign": Field("bool"),
}

REASON_FIELDS = {
    "reason": Field("text", required=True),
    "circumstances": Field("text", max_length=10_000),
}

CUSTOMER_NUMBER_FORMAT = "CU-{:06d}"


def create_customer(session: Session, actor: str, data: Mapping[str, Any]) -> Customer:
    """A new active customer; without a customer number it gets the next ``CU-000123``.

    A customer that may already exist is not refused here: ``duplicates`` finds it, and
    the form asks the user to confirm before calling this.
    """
    actor = require_actor(actor)
    errors: dict[str, str] = {}
    values = clean(data, CUSTOMER_FIELDS, errors)
    _check_org_number(values, errors)
    number = values.pop("customer_number")
    if number and session.scalar(select(Customer.id).where(Customer.customer_number == number)):
        errors["customer_number"] = f"{number} is already used by another customer"
    raise_if(errors)

    # The number derives from the id, which exists only after the insert: a unique
    # placeholder covers the moment between, inside this transaction.
    customer = Customer(customer_number=number or f"new-{uuid.uuid4().hex}", **values)
    session.add(customer)
    session.flush()
    if not number:
        customer.customer_number = CUSTOMER_NUMBER_FORMAT.format(customer.id)
        session.flush()
    record(session, actor, "customer.create", "customer", customer.id, None, snapshot(customer))
    return customer


def update_customer(
    session: Session, actor: str, customer: Customer, changes: Mapping[str, Any]
) -> Customer:
    """Change company data; the status changes only by terminate, archive and restore."""
    actor = require_actor(actor)
    errors: dict[str, str] = {}
    values = clean(changes, EDITABLE_CUSTOMER_FIELDS, errors, partial=True)
    if {"org_number", "country"} & values.keys():
        _check_org_number(
            {key: values.get(key, getattr(customer, key)) for key in ("org_number", "country")},
            errors,
        )
    raise_if(errors)
    if all(getattr(customer, key) == value for key, value in values.items()):
        raise_if({"changes": "nothing to change"})
    before = snapshot(customer)
    for key, value in values.items():
        setattr(customer, key, value)
    session.flush()
    record(session, actor, "customer.update", "customer", customer.id, before, snapshot(customer))
    return customer


def _check_org_number(values: Mapping[str, Any], errors: dict[str, str]) -> None:
    """A Norwegian, Swedish, Danish or Finnish organisation number must pass its check
    digits; the country decides the rule."""
    if values.get("org_number") and "country" not in errors and "org_number" not in errors:
        problem = orgnumbers.check(values.get("country"), values["org_number"])
        if problem:
            errors["org_number"] = problem


@dataclass(frozen=True)
class Duplicate:
    """A customer that a new one may be: same organisation number, or same name and country."""

    customer_number: str
    name: str
    status: str
    reason: str


def duplicates(session: Session, data: Mapping[str, Any]) -> list[Duplicate]:
    """The customers ``data`` (as a form gives it) may duplicate: the same organisation
    number however it is written, or the same name (trimmed, any case) in the same country."""
    country = (data.get("country") or "").strip().upper() or None
    org = orgnumbers.compact(country, str(data.get("org_number") or ""))
    name = (data.get("name") or "").strip().casefold()
    found: dict[str, Duplicate] = {}
    if org:
        # Registers print digits in groups: narrow by the digits, then compare exactly.
        digits = "".join(character for character in org if character.isdigit())
        candidates = session.scalars(
            select(Customer)
            .where(Customer.org_number.is_not(None))
            .where(_bare(Customer.org_number).contains(digits[-6:], autoescape=True))
        )
        for customer in candidates:
            assert customer.org_number is not None
            if orgnumbers.compact(customer.country or country, customer.org_number) == org:
                found[customer.customer_number] = _duplicate(customer, "organisation number")
    if name and country:
        for customer in session.scalars(select(Customer).where(Customer.country == country)):
            if customer.name.strip().casefold() == name:
                found.setdefault(customer.customer_number, _duplicate(customer, "name and country"))
    return sorted(found.values(), key=lambda duplicate: duplicate.customer_number)


def _bare(column: Any) -> Any:
    return func.replace(func.replace(func.replace(column, " ", ""), "-", ""), ".", "")


def _duplicate(customer: Customer, reason: str) -> Duplicate:
    return Duplicate(customer.customer_number, customer.name, customer.status, reason)


def terminate_customer(
    session: Session,
    actor: str,
    customer: Customer,
    reason: str,
    circumstances: str | None = None,
) -> Customer:
    """Mark the customer terminated with a reason for churn analysis (R6).

    Its contracts are left as they are: each ends through ``terminate_contract`` with its
    own date.
    """
    actor = require_actor(actor)
    errors: dict[str, str] = {}
    values = clean({"reason": reason, "circumstances": circumstances}, REASON_FIELDS, errors)
    if customer.status == "terminated":
        errors["status"] = "the customer is already terminated"
    raise_if(errors)
    return _set_status(
        session,
        actor,
        customer,
        "customer.terminate",
        status="terminated",
        termination_reason=values["reason"],
        termination_circumstances=values["circumstances"],
    )


def archive_customer(session: Session, actor: str, customer: Customer) -> Customer:
    """Hide the customer from daily lists; a termination reason, if any, is kept."""
    actor = require_actor(actor)
    if customer.status == "archived":
        raise_if({"status": "the customer is already archived"})
    return _set_status(session, actor, customer, "customer.archive", status="archived")


def restore_customer(session: Session, actor: str, customer: Customer) -> Customer:
    """An archived or terminated customer becomes active again; the old reason stays in the log."""
    actor = require_actor(actor)
    if customer.status == "active":
        raise_if({"status": "the customer is already active"})
    return _set_status(
        session,
        actor,
        customer,
        "customer.restore",
        status="active",
        termination_reason=None,
        termination_circumstances=None,
    )


def _set_status(
    session: Session, actor: str, customer: Customer, action: str, **values: Any
) -> Customer:
    before = snapshot(customer)
    for key, value in values.items():
        setattr(customer, key, value)
    session.flush()
    record(session, actor, action, "customer", customer.id, before, snapshot(customer))
    return customer


def add_contact(
    session: Session, actor: str, customer: Customer, data: Mapping[str, Any]
) -> Contact:
    """A contact person of the customer; ``may_sign`` marks who can sign agreements."""
    actor = require_actor(actor)
    errors: dict[str, str] = {}
    values = clean(data, CONTACT_FIELDS, errors)
    raise_if(errors)
    values["may_sign"] = bool(values["may_sign"])
    contact = Contact(customer=customer, **values)
    session.add(contact)
    session.flush()
    record(session, actor, "contact.create", "contact", contact.id, None, snapshot(contact))
    return contact
