"""Audited writes on customers and their contacts (SPEC R1, R6, X4)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

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
    """A new active customer; without a customer number it gets the next ``CU-000123``."""
    actor = require_actor(actor)
    errors: dict[str, str] = {}
    values = clean(data, CUSTOMER_FIELDS, errors)
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
    raise_if(errors)
    if all(getattr(customer, key) == value for key, value in values.items()):
        raise_if({"changes": "nothing to change"})
    before = snapshot(customer)
    for key, value in values.items():
        setattr(customer, key, value)
    session.flush()
    record(session, actor, "customer.update", "customer", customer.id, before, snapshot(customer))
    return customer


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
