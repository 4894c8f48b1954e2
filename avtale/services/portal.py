"""The customer portal (SPEC P1-P2): sales ops send a contact a personal link and set what
each contract allows; the link's holder (no account) sees the customer's contracts with
their terms and next dates, signed documents, invoices and whether they are paid, and
changes licences or cancels as the contract allows. See ``avtale.repository.portal``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from avtale.dates import today as business_today
from avtale.notify.mail import build_message, mail_settings, make_mailer
from avtale.repository import portal
from avtale.repository.audit import record, snapshot
from avtale.repository.contracts import current_version
from avtale.repository.models import PORTAL_ACCESS as PORTAL_ACCESS
from avtale.repository.models import (
    Contact,
    CustomerBilling,
    Document,
    Invoice,
    Product,
    Proposal,
)
from avtale.repository.signing import Refused
from avtale.repository.validation import ValidationError
from avtale.services import invoices, lookups
from avtale.services.database import Database
from avtale.services.documents import document_bytes
from avtale.services.signing import LINK_HOLDER, MESSAGE_DOMAIN, now, portal_url, public_step
from avtale.services.unit_of_work import EDIT, Outcome, System, reading, write
from avtale.settings import Settings
from avtale.signing.tokens import secret_key

# Who makes an invoice's PDF when a portal user asks for one that was not made yet.
PORTAL = System("portal")
ACCESS_LABELS = {
    "restricted": "Read only",
    "upgrade": "Upgrade only",
    "upgrade_downgrade": "Upgrade and downgrade",
}


# --- sales ops ------------------------------------------------------------------------


def send_link(db: Database, actor: str, settings: Settings, contact_id: int) -> Outcome:
    """Mail a contact a personal portal link (their earlier one stops working)."""
    key = secret_key(settings.paths)

    def work(session: Session) -> Outcome:
        contact = session.get(Contact, contact_id)
        if contact is None:
            raise ValidationError({"contact": "was not found"})
        token = portal.new_link(
            session, actor, contact, key, settings.signing.portal_link_days, now()
        )
        detail = {"token": token, "name": contact.name, "email": contact.email}
        return Outcome(detail=detail | {"customer": contact.customer.name})

    made = write(db, actor, EDIT, work)
    if not made.ok:
        return made
    problem = mail_link(settings, made.detail)
    if problem:
        return Outcome(errors={"mail": problem})
    return Outcome(message=f"A portal link went to {made.detail['name']} ({made.detail['email']}).")


def link_for_invoice(db: Database, settings: Settings, number: str) -> str | None:
    """A personal portal link for whoever gets invoice ``number`` by mail, when the billing
    address is one of the customer's contacts (their earlier link stops working)."""
    with reading(db) as session:
        row = session.execute(
            select(Invoice.customer_id, CustomerBilling.email)
            .join(CustomerBilling, CustomerBilling.customer_id == Invoice.customer_id)
            .where(Invoice.number == number)
        ).first()
    return link_for_address(db, settings, row.customer_id, row.email) if row else None


def link_for_address(
    db: Database, settings: Settings, customer_id: int, email: str | None
) -> str | None:
    """A new portal link for the customer's contact with this e-mail address, if there is one."""
    key = secret_key(settings.paths)
    address = (email or "").strip().lower()

    def work(session: Session) -> Outcome:
        contact = session.scalar(
            select(Contact)
            .where(Contact.customer_id == customer_id, func.lower(Contact.email) == address)
            .order_by(Contact.id)
            .limit(1)
        )
        if not address or contact is None:
            return Outcome()
        token = portal.new_link(
            session, PORTAL, contact, key, settings.signing.portal_link_days, now()
        )
        return Outcome(detail={"url": f"{portal_url()}/portal/{token}"})

    return write(db, PORTAL, EDIT, work).detail.get("url")


def mail_link(settings: Settings, made: dict[str, Any]) -> str | None:
    url = f"{portal_url()}/portal/{made['token']}"
    mailer = make_mailer(mail_settings(settings.paths))
    try:
        mailer.send(
            build_message(
                message_id=f"<portal.{uuid.uuid4().hex}@{MESSAGE_DOMAIN}>",
                subject=f"Your agreements with {settings.seller.name}",
                body=(
                    f"Hello {made['name']},\n\nYour personal page shows {made['customer']}'s "
                    f"agreements with {settings.seller.name}, signed documents and invoices. "
                    f"It works for {settings.signing.portal_link_days} days without a login; "
                    f"do not forward it.\n\n{url}"
                ),
                to=made["email"],
                sender=mailer.settings.sender,
                link=url,
            )
        )
    except Exception as problem:
        return f"the mail did not go: {problem.__class__.__name__}: {problem}"
    finally:
        mailer.close()
    return None


def set_access(db: Database, actor: str, contract_number: str, level: str) -> Outcome:
    """What the customer may change on this contract in the portal."""

    def work(session: Session) -> Outcome:
        contract = lookups.contract(session, contract_number)
        if level not in PORTAL_ACCESS:
            raise ValidationError({"portal_access": "choose one of the levels"})
        before = snapshot(contract)
        contract.portal_access = level
        record(
            session,
            actor,
            "contract.portal_access",
            "contract",
            contract.id,
            before,
            snapshot(contract),
        )
        return Outcome(message=f"Portal access of {contract_number}: {ACCESS_LABELS[level]}.")

    return write(db, actor, EDIT, work)


# --- the link's holder ------------------------------------------------------------------


@dataclass(frozen=True)
class PortalContract:
    number: str
    status: str
    access: str
    start_date: date
    end_date: date | None
    notice_months: int | None
    auto_renew: bool
    currency: str
    lines: list[dict[str, Any]]  # line_no, product, quantity, unit_price, licence
    cancellation_date: date | None
    open_proposal: str | None


@dataclass(frozen=True)
class PortalView:
    customer: str
    customer_number: str
    contact: str
    phone: str | None
    title: str | None
    seller: str
    contracts: list[PortalContract]
    documents: list[dict[str, Any]]  # id, filename, contract, uploaded_at, kind
    invoices: list[dict[str, Any]]
    reasons: tuple[str, ...]


def view(db: Database, settings: Settings, token: str) -> PortalView:
    """Everything the portal shows its holder (raises ``Refused``)."""
    key = secret_key(settings.paths)

    def work(session: Session) -> Outcome:
        link, contact = portal.holder(session, key, token, now())
        link.last_used_at = now()
        return Outcome(detail={"view": _view(session, settings, contact)})

    shown: PortalView = public_step(db, work).detail["view"]
    register = invoices.invoices_table(db, customer_number=shown.customer_number)
    return replace(shown, invoices=register.to_dict("records"))


def _view(session: Session, settings: Settings, contact: Contact) -> PortalView:
    customer = contact.customer
    today = business_today()
    licences = _licence_products(session)
    contracts = []
    for contract in customer.contracts:
        version = current_version(contract)
        open_one = next(
            (
                p.number
                for p in session.scalars(
                    select(Proposal).where(
                        Proposal.contract_id == contract.id,
                        Proposal.status.in_(("draft", "sent")),
                    )
                )
            ),
            None,
        )
        contracts.append(
            PortalContract(
                number=contract.contract_number,
                status=contract.status,
                access=contract.portal_access,
                start_date=version.start_date,
                end_date=version.end_date,
                notice_months=version.notice_months,
                auto_renew=bool(version.auto_renew),
                currency=version.currency,
                lines=[
                    {
                        "line_no": line.line_no,
                        "product": line.product,
                        "quantity": line.quantity,
                        "unit_price": line.unit_price,
                        "licence": line.product in licences,
                    }
                    for line in version.lines
                ],
                cancellation_date=(
                    portal.cancellation_date(version, today)
                    if contract.status != "terminated"
                    else None
                ),
                open_proposal=open_one,
            )
        )
    ids = [c.id for c in customer.contracts]
    documents = [
        {
            "id": d.id,
            "filename": d.filename,
            "contract": d.contract.contract_number if d.contract else None,
            "uploaded_at": d.uploaded_at,
            "kind": d.kind,
        }
        for d in session.scalars(
            select(Document)
            .where(
                Document.contract_id.in_(ids), Document.kind.in_(("signed", "counterparty_paper"))
            )
            .order_by(Document.id.desc())
        )
    ]
    return PortalView(
        customer=customer.name,
        customer_number=customer.customer_number,
        contact=contact.name,
        phone=contact.phone,
        title=contact.title,
        seller=settings.seller.name,
        contracts=contracts,
        documents=documents,
        invoices=[],
        reasons=settings.signing.cancellation_reasons,
    )


def _licence_products(session: Session) -> set[str]:
    return set(session.scalars(select(Product.name).where(Product.licence.is_(True))))


def _customer_number(db: Database, settings: Settings, token: str) -> str:
    key = secret_key(settings.paths)
    with reading(db) as session:
        _link, contact = portal.holder(session, key, token, now())
        return contact.customer.customer_number


def document(db: Database, settings: Settings, token: str, document_id: int) -> tuple[str, bytes]:
    """A signed document of one of the customer's contracts (nothing else, by any id)."""
    key = secret_key(settings.paths)
    with reading(db) as session:
        _link, contact = portal.holder(session, key, token, now())
        found = session.get(Document, document_id)
        ids = {c.id for c in contact.customer.contracts}
        if (
            found is None
            or found.contract_id not in ids
            or found.kind not in ("signed", "counterparty_paper")
        ):
            raise Refused("There is no such document on this portal.")
        filename, stored = found.filename, found.stored_path
    return filename, document_bytes(settings.paths, stored)


def invoice_pdf(db: Database, settings: Settings, token: str, number: str) -> tuple[str, bytes]:
    """The PDF of one of the customer's invoices."""
    customer = _customer_number(db, settings, token)
    mine = invoices.invoices_table(db, customer_number=customer)
    if number not in set(mine.number):
        raise Refused("There is no such invoice on this portal.")
    made = invoices.invoice_pdf(db, PORTAL, settings.paths, number)
    if not made.ok:
        raise Refused("The invoice PDF cannot be made just now; ask your contact.")
    return made.detail["filename"], document_bytes(settings.paths, made.detail["stored_path"])


def change_licences(
    db: Database, settings: Settings, token: str, contract_number: str, quantities: dict[int, str]
) -> Outcome:
    key = secret_key(settings.paths)

    def work(session: Session) -> Outcome:
        link, contact = portal.holder(session, key, token, now())
        contract = portal.own_contract(contact, contract_number)
        proposal = portal.change_licences(
            session, link, contract, quantities, _licence_products(session), business_today()
        )
        return Outcome(
            message=f"Your change is registered as {proposal.number}; you will get it to sign.",
            target=proposal.number,
        )

    return public_step_or_errors(db, work)


def cancel(
    db: Database, settings: Settings, token: str, contract_number: str, reason: str
) -> Outcome:
    key = secret_key(settings.paths)

    def work(session: Session) -> Outcome:
        link, contact = portal.holder(session, key, token, now())
        contract = portal.own_contract(contact, contract_number)
        version = portal.cancel(
            session, link, contract, reason, settings.signing.cancellation_reasons, business_today()
        )
        return Outcome(
            message=f"{contract_number} ends on {version.end_date}. We are sorry to see you go."
        )

    return public_step_or_errors(db, work)


def update_contact(db: Database, settings: Settings, token: str, phone: str, title: str) -> Outcome:
    key = secret_key(settings.paths)

    def work(session: Session) -> Outcome:
        link, contact = portal.holder(session, key, token, now())
        portal.update_contact(session, link, contact, phone, title)
        return Outcome(message="Your contact details are saved.")

    return public_step_or_errors(db, work)


def public_step_or_errors(db: Database, work: Callable[[Session], Outcome]) -> Outcome:
    """A portal action: refusals raise ``Refused``; problems with the input come back."""
    return write(db, LINK_HOLDER, EDIT, work)
