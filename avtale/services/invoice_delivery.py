"""Sending what the register issued: every invoice and credit note not yet sent goes as an
e-invoice into the outgoing folder (for an access point to pick up) and, to a customer with
a billing e-mail, as a PDF by mail (SMTP or the outbox); then it is marked sent.

"Not yet sent" is the register's own record (``sent_at``), so a second run sends nothing
new. A document is marked once something reached its customer; one that reached nobody (no
Peppol address and no billing e-mail, or its mail refused) stays unsent and is reported,
and the next run tries it again. A run that dies between sending and marking sends that
one document again: its file is the same file, its mail has the same Message-ID.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from sqlalchemy import select

from avtale.notify.mail import Mailer, MailServerUnavailable, build_message
from avtale.repository.models import CustomerBilling, Invoice
from avtale.services import documents, invoices, portal
from avtale.services.database import Database
from avtale.services.unit_of_work import reading
from avtale.settings import Paths, load_settings

MESSAGE_DOMAIN = "avtale.invoices"


class NoPdf(Exception):
    """The document's PDF could not be made (no invoice template, say)."""


@dataclass(frozen=True)
class Unsent:
    number: str
    kind: str
    customer: str
    email: str | None  # the customer's billing e-mail, if it gave one


@dataclass
class DeliveryReport:
    einvoices: list[str] = field(default_factory=list)
    emailed: list[str] = field(default_factory=list)
    not_sent: dict[str, str] = field(default_factory=dict)  # number -> why nothing went
    mail_failed: dict[str, str] = field(default_factory=dict)  # number -> why its mail did not go
    stopped: str | None = None  # the mail server went away: the rest waits for the next run

    def lines(self) -> list[str]:
        lines = [
            f"e-invoices left for the access point: {len(self.einvoices)}",
            f"invoices e-mailed: {len(self.emailed)}",
        ]
        lines += [f"not sent {number}: {why}" for number, why in self.not_sent.items()]
        lines += [f"not e-mailed {number}: {why}" for number, why in self.mail_failed.items()]
        if self.stopped:
            lines.append(f"stopped: the mail server is unreachable ({self.stopped})")
        return lines


def unsent(db: Database) -> list[Unsent]:
    """The documents not yet sent, oldest first, with where their customers want mail."""
    with reading(db) as session:
        rows = session.execute(
            select(Invoice.number, Invoice.kind, Invoice.buyer, CustomerBilling.email)
            .outerjoin(CustomerBilling, CustomerBilling.customer_id == Invoice.customer_id)
            .where(Invoice.sent_at.is_(None))
            .order_by(Invoice.id)
        )
        return [Unsent(row.number, row.kind, row.buyer["name"], row.email) for row in rows]


def deliver_unsent(
    db: Database,
    paths: Paths,
    mailer: Mailer,
    actor: str = invoices.RUN_ACTOR,
    log: Callable[[str], None] = lambda _message: None,
) -> DeliveryReport:
    """Send every document not yet sent (see the module's notes), one at a time; the PDFs
    of a long run are laid out ahead, in a pool of processes (``invoices.InvoicePdfs``)."""
    report = DeliveryReport()
    outgoing = invoices.outgoing_dir(paths)
    documents = unsent(db)
    mailed = [document.number for document in documents if document.email]
    with invoices.InvoicePdfs(db, actor, paths, mailed, log=log) as pdfs:
        for document in documents:
            channels = []
            export = invoices.export_ubl(db, outgoing, numbers=[document.number])
            if export.written:
                channels.append("peppol")
                report.einvoices.append(document.number)
            if document.email:
                try:
                    _mail(db, paths, mailer, document, pdfs)
                except (MailServerUnavailable, OSError) as problem:
                    report.stopped = f"{problem.__class__.__name__}: {problem}"
                except NoPdf as problem:
                    report.mail_failed[document.number] = f"no PDF: {problem}"
                except Exception as problem:  # a refused message: the others may still go
                    refused = f"{problem.__class__.__name__}: {problem}"
                    report.mail_failed[document.number] = refused
                else:
                    channels.append("email")
                    report.emailed.append(document.number)
            if channels:
                invoices.mark_sent(db, actor, [document.number], "+".join(channels))
            elif not report.stopped:
                why = [*export.skipped.values(), *([] if document.email else ["no billing e-mail"])]
                report.not_sent[document.number] = "; ".join(why) or "mail refused"
                log(f"{document.number}: not sent: {report.not_sent[document.number]}")
            if report.stopped:
                break
    return report


def message_id(number: str) -> str:
    """The same document always gets the same Message-ID, so a copy sent twice after a
    crash can be recognised."""
    return f"<invoice.{re.sub(r'[^a-z0-9.-]', '-', number.lower())}@{MESSAGE_DOMAIN}>"


def _mail(
    db: Database, paths: Paths, mailer: Mailer, document: Unsent, pdfs: invoices.InvoicePdfs
) -> str:
    made = pdfs.make(document.number)
    if not made.ok:
        raise NoPdf("; ".join(made.errors.values()))
    pdf = documents.document_bytes(paths, made.detail["stored_path"])
    link = portal.link_for_invoice(db, load_settings(paths), document.number)
    message = _message(mailer, document, link)
    message.add_attachment(
        pdf, maintype="application", subtype="pdf", filename=made.detail["filename"]
    )
    assert document.email is not None
    return mailer.send(message)


def _message(mailer: Mailer, document: Unsent, link: str | None) -> EmailMessage:
    """The mail of one document, with the recipient's portal link when they are a contact."""
    what = "Credit note" if document.kind == "credit_note" else "Invoice"
    assert document.email is not None
    return build_message(
        message_id=message_id(document.number),
        subject=f"{what} {document.number}",
        body=(
            f"Hello {document.customer},\n\n"
            f"{what} {document.number} is attached as a PDF. It is also sent as an "
            "e-invoice to your Peppol address where you have one: pay only one of them."
        ),
        to=document.email,
        sender=mailer.settings.sender,
        link=link,
        headers={"X-Avtale-Invoice": document.number},
    )
