"""Finding the record a form names, inside a service's transaction: a number that is not
there becomes a field error, never an exception the caller has to know about."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.repository.models import Contract, Customer, Proposal, User
from avtale.repository.validation import ValidationError


def find_customer(session: Session, number: str | None) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.customer_number == number))


def customer(session: Session, number: str | None) -> Customer:
    found = find_customer(session, number)
    if found is None:
        raise ValidationError({"customer": "choose a customer"})
    return found


def contract(session: Session, number: str | None) -> Contract:
    found = session.scalar(select(Contract).where(Contract.contract_number == number))
    if found is None:
        raise ValidationError({"contract": "was not found"})
    return found


def proposal(session: Session, number: str | None) -> Proposal:
    found = session.scalar(select(Proposal).where(Proposal.number == number))
    if found is None:
        raise ValidationError({"proposal": f"{number} was not found"})
    return found


def user(session: Session, username: str | None) -> User:
    """The user of this name (in any case: names are stored in lower case)."""
    if not (username or "").strip():
        raise ValidationError({"user": "choose a user"})
    name = (username or "").strip().lower()
    found = session.scalar(select(User).where(User.username == name))
    if found is None:
        raise ValidationError({"user": f"there is no user {name}"})
    return found
