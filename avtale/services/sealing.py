"""The last signature (SPEC S2-S3): the PDF the parties signed gets an audit page (who,
when, how they identified, from which IP and browser, the document's SHA-256) and a PAdES
seal with the company's certificate; the sealed file is archived on the contract the
proposal becomes, and every party gets a copy by mail.

The seal's key and certificate: ``AVTALE_SEAL_KEY`` and ``AVTALE_SEAL_CERT`` (PEM files;
``AVTALE_SEAL_CHAIN`` adds intermediate certificates, separated by ``:``), or by default a
self-made demo certificate in ``$AVTALE_HOME/seal/``. ``AVTALE_TSA_URL`` names an RFC 3161
time-stamp server: the seal is then PAdES-B-T instead of B-B.

Sealing is slow next to a write (a PDF page and a signature), so it runs between two
transactions: the one that recorded the last signature and the one that archives the
sealed file and makes the contract. If the second never runs (a crash), the proposal stays
sent with every party signed, and "Seal and finish" on its page runs this again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from avtale.notify.mail import build_message, mail_settings, send_each
from avtale.repository import signing
from avtale.repository.audit import record
from avtale.repository.documents import store_document
from avtale.services import lookups, portal
from avtale.services.agreements import mail_notices
from avtale.services.database import Database
from avtale.services.documents import document_bytes
from avtale.services.signing import MESSAGE_DOMAIN, now
from avtale.services.unit_of_work import EDIT, Outcome, System, reading, write
from avtale.settings import Paths, Settings
from docgen import seal

SEALER = System("signing")


def seal_identity(
    paths: Paths, company: str, environ: Mapping[str, str] | None = None
) -> seal.SealIdentity:
    """The configured seal, or the data folder's demo seal (made on first use)."""
    env = os.environ if environ is None else environ
    key, cert = env.get("AVTALE_SEAL_KEY"), env.get("AVTALE_SEAL_CERT")
    if key and cert:
        chain = tuple(Path(p) for p in (env.get("AVTALE_SEAL_CHAIN") or "").split(":") if p)
        return seal.SealIdentity(key_path=Path(key), cert_path=Path(cert), chain_paths=chain)
    return seal.make_demo_identity(paths.home / "seal", company)


def finish_signing(db: Database, settings: Settings, number: str) -> Outcome:
    """Seal the signed PDF and make the contract; safe to run again (it then does nothing)."""
    with reading(db) as session:
        proposal = lookups.proposal(session, number)
        if proposal.status != "sent" or not signing.all_signed(session, proposal):
            return Outcome(errors={"proposal": f"{number} is {proposal.status}; nothing to seal"})
        round_ = signing.current_round(session, proposal)
        original = round_[0].document
        stored, filename, expected = original.stored_path, original.filename, original.sha256
        trail = _trail(settings, proposal.number, filename, expected, round_)
        recipients = [(s.id, s.name, s.email, s.side) for s in round_]
        customer_id = proposal.customer_id
    data = document_bytes(settings.paths, stored)
    if hashlib.sha256(data).hexdigest() != expected:
        return Outcome(errors={"document": f"the stored {filename} is not the file that was sent"})
    timestamp_url = os.environ.get("AVTALE_TSA_URL") or None
    sealed = seal.seal_pdf(
        seal.append_pages(data, seal.audit_page_pdf(trail)),
        seal_identity(settings.paths, settings.seller.name),
        reason=f"Agreement {number}, signed by every party",
        location=settings.seller.city,
        timestamp_url=timestamp_url,
    )
    sealed_sha = hashlib.sha256(sealed).hexdigest()

    def work(session: Session) -> Outcome:
        proposal = lookups.proposal(session, number)
        document = store_document(
            session,
            SEALER,
            settings.paths,
            filename=f"{number}-signed.pdf",
            data=sealed,
            kind="signed",
            customer=proposal.customer,
        )
        document.proposal = proposal
        document.source = {
            "original_sha256": expected,
            "seal": "PAdES-B-T" if timestamp_url else "PAdES-B-B",
        }
        version = signing.finish(session, SEALER, proposal, document, settings.timezone)
        contract = version.contract.contract_number
        detail = {"sha256_before": expected, "sha256_after": sealed_sha, "contract": contract}
        record(session, SEALER, "signing.seal", "document", document.id, None, detail)
        return Outcome(
            message=f"{number} is signed by every party: {contract} version {version.version_no}.",
            target=contract,
            detail={"stored_path": document.stored_path, "version_id": version.id},
        )

    finished = write(db, SEALER, EDIT, work)
    if not finished.ok:
        return finished
    links = {
        email: portal.link_for_address(db, settings, customer_id, email)
        for _id, _name, email, side in recipients
        if side == "customer"
    }
    problems = _mail_copies(settings, number, f"{number}-signed.pdf", sealed, recipients, links)
    notices = mail_notices(db, settings.paths, finished.detail["version_id"])
    if problems or notices:
        message = finished.message
        if problems:
            message += " The signed copy did not reach: " + "; ".join(problems)
        message = " ".join([message, *notices])
        return Outcome(message=message, target=finished.target, detail=finished.detail)
    return finished


def _trail(settings: Settings, number: str, filename: str, sha256: str, round_: list[Any]) -> Any:
    parties = [
        seal.AuditParty(
            name=s.name,
            side=s.side,
            email=s.email,
            method=(s.identity or {}).get("label", s.method),
            attributes={k: str(v) for k, v in ((s.identity or {}).get("attributes") or {}).items()},
            events=tuple(
                seal.AuditEvent(
                    what=e["what"],
                    at=datetime.fromisoformat(e["at"]),
                    ip=e.get("ip"),
                    user_agent=e.get("user_agent"),
                )
                for e in s.events
            ),
        )
        for s in round_
    ]
    return seal.AuditTrail(
        title=f"Agreement {number}",
        seller=settings.seller.name,
        original_filename=filename,
        original_sha256=sha256,
        parties=tuple(parties),
        sealed_at=now(),
    )


def _mail_copies(
    settings: Settings,
    number: str,
    filename: str,
    pdf: bytes,
    recipients: list[Any],
    links: dict[str, str | None],
) -> list[str]:
    """Every party gets the sealed copy, a customer's contact with their portal link; the
    same Message-ID each time, so a retry after a crash does not send a second one through
    the outbox."""
    mail = mail_settings(settings.paths)
    messages = []
    names = {}
    for signatory_id, name, email, _side in recipients:
        message = build_message(
            message_id=f"<signed.{signatory_id}@{MESSAGE_DOMAIN}>",
            subject=f"Signed: agreement {number}",
            body=(
                f"Hello {name},\n\nEvery party has signed agreement {number}. The signed "
                "copy is attached: it carries an electronic seal and an audit page, and "
                "any PDF reader shows whether it is intact."
            ),
            to=email,
            sender=mail.sender,
            link=links.get(email),  # the customer's portal, where the copy stays
        )
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
        messages.append(message)
        names[message["Message-ID"]] = name
    return [
        f"{names[message['Message-ID']]} ({problem.__class__.__name__}: {problem})"
        for message, problem in send_each(mail, messages)
    ]
