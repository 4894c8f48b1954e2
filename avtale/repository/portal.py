"""The customer portal (SPEC P1-P2, seed 003), as operations on a caller's session: a
contact's personal portal link, and what its holder may do to the customer's contracts as
each contract's access level allows (``restricted``: read only; ``upgrade``: more
licences; ``upgrade_downgrade``: more or fewer) and cancel at the next allowed date.

A licence change is a renegotiation proposal, routed like any other once signed; a
cancellation ends the contract on its next allowed last day with the chosen reason, which
the marts count among the churn reasons. The audit log's actor is the link.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.dates import add_months
from avtale.repository.agreements import start_renegotiation, update_proposal
from avtale.repository.audit import record, snapshot
from avtale.repository.contracts import current_version, terminate_contract
from avtale.repository.models import AccessLink, Contact, Contract, ContractVersion, Proposal
from avtale.repository.signing import LINK, Refused, link_for
from avtale.repository.terms import term_end
from avtale.repository.validation import ValidationError, raise_if, require_actor
from avtale.signing.tokens import digest, new_token

CIRCUMSTANCES = "Cancelled by the customer in the portal"


def actor_of(link: AccessLink) -> str:
    """Who the audit log names for what a portal link's holder did: the link itself."""
    return f"portal-link:{link.id}"


def new_link(
    session: Session, actor: str, contact: Contact, key: bytes, days: int, now: datetime
) -> str:
    """A personal portal link for ``contact``; the contact's earlier links stop working."""
    actor = require_actor(actor)
    if not contact.email:
        raise ValidationError({"contact": f"{contact.name} has no e-mail address"})
    for old in session.scalars(
        select(AccessLink).where(
            AccessLink.contact_id == contact.id, AccessLink.revoked_at.is_(None)
        )
    ):
        old.revoked_at = now
        old.revoked_reason = "a new portal link was sent"
    token = new_token()
    link = AccessLink(
        purpose="portal",
        token_hash=digest(key, LINK, token),
        contact=contact,
        expires_at=now + timedelta(days=days),
        created_by=actor,
    )
    session.add(link)
    session.flush()
    record(session, actor, "portal.link", "access_link", link.id, None, {"contact": contact.id})
    return token


def holder(session: Session, key: bytes, token: str, now: datetime) -> tuple[AccessLink, Contact]:
    """The portal link and its contact, refused (``Refused``) when it cannot be used."""
    link = link_for(session, key, token, "portal", now)
    assert link.contact is not None
    return link, link.contact


def own_contract(contact: Contact, number: str) -> Contract:
    """One of the contact's customer's contracts; nothing else is reachable by number."""
    for contract in contact.customer.contracts:
        if contract.contract_number == number:
            return contract
    raise Refused("There is no such contract on this portal.")


def cancellation_date(version: ContractVersion, today: date) -> date:
    """The next last day a contract can end on if notice is given today.

    With a term (an end date): the end of the first term whose notice deadline is still
    ahead, rolling auto-renewal terms forward; the notice deadline of a term ending on e
    is the day before (e + 1 day) - notice months, as ``int_deadlines_terms_dated`` has
    it. Without an end date: the last day of the month in which the notice runs out.
    """
    notice = version.notice_months or 0
    if version.end_date is None:
        runs_out = add_months(today, notice)
        return add_months(runs_out.replace(day=1), 1) - timedelta(days=1)
    end = version.end_date
    renewal = version.renewal_term_months or version.term_months
    while True:
        deadline = add_months(end + timedelta(days=1), -notice) - timedelta(days=1)
        if today <= deadline or not version.auto_renew or not renewal:
            return end
        end = term_end(end + timedelta(days=1), renewal)


def cancel(
    session: Session,
    link: AccessLink,
    contract: Contract,
    reason: str,
    reasons: tuple[str, ...],
    today: date,
) -> ContractVersion:
    """End the contract on its next allowed date with one of the configured reasons."""
    if reason not in reasons:
        raise ValidationError({"reason": "choose one of the reasons listed"})
    if contract.status == "terminated":
        raise ValidationError({"contract": "is already cancelled"})
    last_day = cancellation_date(current_version(contract), today)
    return terminate_contract(session, actor_of(link), contract, last_day, reason, CIRCUMSTANCES)


def change_licences(
    session: Session,
    link: AccessLink,
    contract: Contract,
    quantities: Mapping[int, str],
    licence_products: set[str],
    today: date,
) -> Proposal:
    """A renegotiation with the licence lines' new quantities, for sales ops to send; what
    the contract's access level does not allow is refused, line by line."""
    access = contract.portal_access
    if access == "restricted":
        raise Refused("Changes to this contract go through your account manager.")
    version = current_version(contract)
    lines = {line.line_no: line for line in version.lines}
    errors: dict[str, str] = {}
    wanted: dict[int, Decimal] = {}
    for line_no, text in quantities.items():
        line = lines.get(line_no)
        if line is None or line.product not in licence_products:
            errors[f"line_{line_no}"] = "is not a licence line of this contract"
            continue
        try:
            quantity = Decimal(str(text).strip())
        except InvalidOperation:
            errors[f"line_{line_no}"] = "must be a whole number"
            continue
        if quantity != quantity.to_integral_value() or quantity < 0 or quantity > 100_000:
            errors[f"line_{line_no}"] = "must be a whole number from 0 to 100000"
        elif quantity < line.quantity and access != "upgrade_downgrade":
            errors[f"line_{line_no}"] = "can only go up on this contract"
        elif quantity != line.quantity:
            wanted[line_no] = quantity
    if not errors and not wanted:
        errors["quantities"] = "nothing changed"
    remaining = [
        wanted.get(line.line_no, line.quantity)
        for line in version.lines
        if line.product in licence_products
    ]
    if not errors and not any(remaining):
        # No licences at all is a cancellation, which has its own dates and reason.
        errors["quantities"] = "no licences at all is a cancellation: cancel the contract instead"
    raise_if(errors)
    actor = actor_of(link)
    proposal = start_renegotiation(session, actor, contract, today=today)
    new_lines = [
        {**line, "quantity": str(wanted[line["line_no"]])} if line["line_no"] in wanted else line
        for line in proposal.lines
    ]
    update_proposal(session, actor, proposal, lines=new_lines)
    before = snapshot(proposal)
    proposal.free_text = "Asked for in the customer portal by " + (
        link.contact.name if link.contact else "?"
    )
    record(
        session,
        actor,
        "portal.change_licences",
        "proposal",
        proposal.id,
        before,
        snapshot(proposal),
    )
    return proposal


def update_contact(
    session: Session, link: AccessLink, contact: Contact, phone: str, title: str
) -> None:
    """The contact's own phone and title (the e-mail is the link's address: sales ops change it)."""
    errors = {}
    if len(phone.strip()) > 40:
        errors["phone"] = "must be at most 40 characters"
    if len(title.strip()) > 100:
        errors["title"] = "must be at most 100 characters"
    raise_if(errors)
    before = snapshot(contact)
    contact.phone = phone.strip() or None
    contact.title = title.strip() or None
    record(
        session, actor_of(link), "portal.contact", "contact", contact.id, before, snapshot(contact)
    )
