"""Signing by link (SPEC S1-S2): sales ops send a proposal for signature, resend or
withdraw a party's link and see who has opened, signed or declined; the person holding a
link (no account) opens it, identifies, and signs or declines. The public steps take the
link's token and the browser's session secret (a cookie of the public pages); they never
trust anything else the browser says.

Mail and SMS leave after the transaction that made the link or code has committed: a
message never carries a link the database does not know. A message that fails is
reported, and "Resend" makes a new link.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.notify.mail import build_message, mail_settings, make_mailer
from avtale.notify.sms import Sms, normalise_phone, sms_sender, sms_settings
from avtale.repository import signing
from avtale.repository.models import AccessLink, Document, Proposal, Signatory
from avtale.repository.signing import EMAIL_CODE as EMAIL_CODE
from avtale.repository.signing import EMAIL_CODE_LABEL
from avtale.repository.signing import Refused as Refused
from avtale.repository.validation import ValidationError
from avtale.services import lookups
from avtale.services.database import Database
from avtale.services.documents import document_bytes
from avtale.services.unit_of_work import EDIT, READ, Outcome, System, reading, write
from avtale.settings import Settings
from avtale.signing.tokens import digest, secret_key

PORTAL_URL_ENV = "AVTALE_PORTAL_URL"
DEFAULT_PORTAL_URL = "http://127.0.0.1:8502"
LINK_HOLDER = System("signing-link")
MESSAGE_DOMAIN = "avtale.signing"


def portal_url(environ: Mapping[str, str] | None = None) -> str:
    """Where the public pages are reached from outside: links in mail and SMS point here."""
    env = os.environ if environ is None else environ
    return (env.get(PORTAL_URL_ENV) or "").strip().rstrip("/") or DEFAULT_PORTAL_URL


def now() -> datetime:
    return datetime.now(UTC)


def methods(settings: Settings) -> dict[str, str]:
    """The ways a proposal can ask its signatories to identify: key -> label."""
    found = {EMAIL_CODE: EMAIL_CODE_LABEL}
    found |= {p.key: p.label for p in settings.signing.identity_providers}
    return found


# --- sales ops ------------------------------------------------------------------------


def party_problems(db: Database, settings: Settings, number: str) -> list[str]:
    """What keeps the proposal's parties from getting their links (an e-mail missing)."""
    with reading(db) as session:
        return signing.party_problems(lookups.proposal(session, number), settings.seller)


def send_for_signature(
    db: Database, actor: str, settings: Settings, number: str, method: str = EMAIL_CODE
) -> Outcome:
    """Mark the proposal sent and mail (and text) each party a personal signing link."""
    key = secret_key(settings.paths)

    def work(session: Session) -> Outcome:
        proposal = lookups.proposal(session, number)
        made = signing.send_for_signature(
            session,
            actor,
            proposal,
            key=key,
            seller=settings.seller,
            settings=settings.signing,
            zone=settings.timezone,
            now=now(),
            method=method,
        )
        return Outcome(target=number, detail={"links": [(s.id, t) for s, t in made]})

    made = write(db, actor, EDIT, work)
    if not made.ok:
        return made
    problems = deliver_links(db, settings, made.detail["links"])
    parties = len(made.detail["links"])
    message = f"{number} is sent for signature to {parties} parties."
    return Outcome(message=_with_problems(message, problems), target=number)


def resend(db: Database, actor: str, settings: Settings, signatory_id: int) -> Outcome:
    """A new link for a party who has not signed yet; the old link stops working."""
    key = secret_key(settings.paths)

    def work(session: Session) -> Outcome:
        signatory = _signatory(session, signatory_id)
        token = signing.resend(
            session,
            actor,
            signatory,
            key=key,
            settings=settings.signing,
            zone=settings.timezone,
            now=now(),
        )
        return Outcome(detail={"links": [(signatory.id, token)], "name": signatory.name})

    made = write(db, actor, EDIT, work)
    if not made.ok:
        return made
    problems = deliver_links(db, settings, made.detail["links"])
    message = f"A new link went to {made.detail['name']}; the old one no longer works."
    return Outcome(message=_with_problems(message, problems))


def revoke(db: Database, actor: str, signatory_id: int) -> Outcome:
    """Withdraw a party's link (resend gives them a new one)."""

    def work(session: Session) -> Outcome:
        signatory = _signatory(session, signatory_id)
        count = signing.revoke(session, actor, signatory, f"withdrawn by {actor}", now())
        if not count:
            return Outcome(errors={"signatory": f"{signatory.name} has no link to withdraw"})
        return Outcome(message=f"{signatory.name}'s link no longer works.")

    return write(db, actor, EDIT, work)


@dataclass(frozen=True)
class SigningReminders:
    reminded: list[str]
    problems: list[str]

    def lines(self) -> list[str]:
        lines = [f"signing reminders: {len(self.reminded)} parties asked again to sign"]
        return lines + [f"not delivered: {problem}" for problem in self.problems]


def remind_signatories(
    db: Database, settings: Settings, at: datetime | None = None
) -> SigningReminders:
    """Once per party, a new link to each who has not signed when their link runs out
    within ``remind_days_before`` days (the old link stops working). Parties whose link
    sales ops withdrew, or whose link has expired, are left to sales ops."""
    at = at or now()
    horizon = at + timedelta(days=settings.signing.remind_days_before)
    key = secret_key(settings.paths)
    actor = System("signing-reminders")

    def work(session: Session) -> Outcome:
        due = []
        for signatory in session.scalars(
            select(Signatory)
            .join(Proposal, Signatory.proposal_id == Proposal.id)
            .where(
                Signatory.status == "waiting",
                Signatory.reminded_at.is_(None),
                Proposal.status == "sent",
                Signatory.proposal_revision == Proposal.revision,
            )
        ):
            expiries = [link.expires_at for link in signing.active_links(session, signatory)]
            if not expiries or not at < min(expiries) <= horizon:
                continue
            token = signing.resend(
                session,
                actor,
                signatory,
                key=key,
                settings=settings.signing,
                zone=settings.timezone,
                now=at,
                reason="a reminder with a new link was sent",
            )
            signatory.reminded_at = at
            due.append((signatory.id, token))
            names.append(signatory.name)
        return Outcome(detail={"links": due})

    names: list[str] = []
    links = write(db, actor, READ, work).detail["links"]
    return SigningReminders(names, deliver_links(db, settings, links, reminder=True))


SIGNATORY_COLUMNS = [
    "id",
    "revision",
    "party",
    "side",
    "email",
    "method",
    "status",
    "opened",
    "signed",
    "declined",
    "reason",
    "link expires",
    "link",
]


def signatories(db: Database, number: str) -> pd.DataFrame:
    """Everyone asked to sign the proposal: who opened, signed or declined, and when."""
    with reading(db) as session:
        proposal = lookups.proposal(session, number)
        rows = []
        for s in signing.signatories(session, proposal):
            links = signing.active_links(session, s)
            expires = max((link.expires_at for link in links), default=None)
            state = "active" if links and expires and expires > now() else "none"
            rows.append(
                {
                    "id": s.id,
                    "revision": s.proposal_revision,
                    "party": s.name,
                    "side": s.side,
                    "email": s.email,
                    "method": s.method,
                    # Asked to sign a revision since replaced: their link no longer works.
                    "status": "replaced"
                    if s.status == "waiting" and s.proposal_revision != proposal.revision
                    else s.status,
                    "opened": s.opened_at,
                    "signed": s.signed_at,
                    "declined": s.declined_at,
                    "reason": s.decline_reason,
                    "link expires": expires,
                    "link": state
                    if s.status == "waiting" and s.proposal_revision == proposal.revision
                    else "-",
                }
            )
    return pd.DataFrame(rows, columns=SIGNATORY_COLUMNS)


def _signatory(session: Session, signatory_id: int) -> Signatory:
    found = session.get(Signatory, signatory_id)
    if found is None:
        raise ValidationError({"signatory": "was not found"})
    return found


def _with_problems(message: str, problems: list[str]) -> str:
    if not problems:
        return message
    return message + " Not delivered: " + "; ".join(problems) + ". Use Resend once fixed."


# --- delivering links -------------------------------------------------------------------


@dataclass(frozen=True)
class _Addressed:
    signatory_id: int
    name: str
    email: str
    phone: str | None
    proposal: str
    customer: str
    seller: str
    expires_at: datetime


def deliver_links(
    db: Database, settings: Settings, links: list[tuple[int, str]], *, reminder: bool = False
) -> list[str]:
    """Mail each party its link, and text it where a mobile number is given; record what
    went. Returns what did not go."""
    addressed = _addresses(db, settings, [signatory_id for signatory_id, _ in links])
    mailer = make_mailer(mail_settings(settings.paths))
    texter = sms_sender(sms_settings(settings.paths))
    problems: list[str] = []
    went: dict[int, list[str]] = {}
    base = portal_url()
    try:
        for signatory_id, token in links:
            party = addressed[signatory_id]
            url = f"{base}/sign/{token}"
            went[signatory_id] = []
            try:
                mailer.send(_link_mail(party, url, mailer.settings.sender, reminder))
                went[signatory_id].append(f"e-mail to {party.email}")
            except Exception as problem:  # one refused address must not stop the others
                problems.append(f"mail to {party.name}: {problem.__class__.__name__}: {problem}")
            if party.phone:
                try:
                    to = normalise_phone(party.phone, settings.seller.country)
                    texter.send(Sms(_message_key("sms", signatory_id), to, _link_text(party, url)))
                    went[signatory_id].append(f"SMS to {to}")
                except Exception as problem:
                    problems.append(f"SMS to {party.name}: {problem}")
    finally:
        mailer.close()
    _record_delivery(db, went)
    return problems


def _addresses(db: Database, settings: Settings, ids: list[int]) -> dict[int, _Addressed]:
    with reading(db) as session:
        found = {}
        for signatory in session.scalars(select(Signatory).where(Signatory.id.in_(ids))):
            links = signing.active_links(session, signatory)
            found[signatory.id] = _Addressed(
                signatory_id=signatory.id,
                name=signatory.name,
                email=signatory.email,
                phone=signatory.phone,
                proposal=signatory.proposal.number,
                customer=signatory.proposal.customer.name,
                seller=settings.seller.name,
                expires_at=max(link.expires_at for link in links),
            )
        return found


def _message_key(kind: str, signatory_id: int) -> str:
    return f"{kind}.{signatory_id}.{uuid.uuid4().hex[:12]}"


def _link_mail(party: _Addressed, url: str, sender: str, reminder: bool = False) -> Any:
    until = party.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    subject = f"Please sign: agreement {party.proposal} between {party.customer} and {party.seller}"
    return build_message(
        message_id=f"<{_message_key('sign', party.signatory_id)}@{MESSAGE_DOMAIN}>",
        subject=("Reminder: " if reminder else "") + subject,
        body=(
            f"Hello {party.name},\n\n"
            f"{party.seller} asks you to read and sign agreement {party.proposal} "
            f"with {party.customer}.\n\n"
            f"Open your personal link below. It works until {until} and only for you: "
            "do not forward it.\n\n"
            f"{url}"
        ),
        to=party.email,
        sender=sender,
        link=url,
        headers={"X-Avtale-Proposal": party.proposal},
    )


def _link_text(party: _Addressed, url: str) -> str:
    return f"{party.seller}: please sign agreement {party.proposal}. Your personal link: {url}"


def _record_delivery(db: Database, went: dict[int, list[str]]) -> None:
    def work(session: Session) -> Outcome:
        at = now()
        for signatory_id, channels in went.items():
            signatory = session.get(Signatory, signatory_id)
            if signatory is not None and channels:
                signing.event(signatory, "link sent", at, channels=channels)
        return Outcome()

    write(db, System("signing"), READ, work)


# --- the person holding a link ------------------------------------------------------------


@dataclass(frozen=True)
class SigningView:
    """What the public signing page shows its party, and nothing more."""

    signatory_id: int
    name: str
    email: str
    status: str  # waiting, signed, declined, withdrawn
    method: str
    method_label: str
    proposal: str
    customer: str
    seller: str
    filename: str
    sha256: str
    expires_at: datetime
    identified: bool
    code_pending: bool
    parties: list[tuple[str, str, str]]  # name, side, status
    sealed: bool  # the sealed copy is ready to download


def open_link(
    db: Database, settings: Settings, token: str, browser: str, ip: str | None, agent: str | None
) -> SigningView:
    """The page behind a link, recording that it was opened (raises ``Refused``)."""
    key = secret_key(settings.paths)

    def work(session: Session) -> Outcome:
        at = now()
        signatory = signing.signatory_for(session, key, token, at)
        signing.open_link(signatory, key, browser, at, ip, agent)
        return Outcome(detail={"view": _view(session, settings, signatory, token, key, at)})

    return public_step(db, work).detail["view"]


def _view(
    session: Session, settings: Settings, s: Signatory, token: str, key: bytes, at: datetime
) -> SigningView:
    link = session.scalar(
        select(AccessLink).where(AccessLink.token_hash == digest(key, signing.LINK, token))
    )
    assert link is not None
    proposal = s.proposal
    return SigningView(
        signatory_id=s.id,
        name=s.name,
        email=s.email,
        status=s.status,
        method=s.method,
        method_label=methods(settings).get(s.method, s.method),
        proposal=proposal.number,
        customer=proposal.customer.name,
        seller=settings.seller.name,
        filename=s.document.filename,
        sha256=s.document.sha256,
        expires_at=link.expires_at,
        identified=s.identified_at is not None and s.status == "waiting",
        code_pending=s.code_hash is not None and (s.code_expires_at or at) > at,
        parties=[(p.name, p.side, p.status) for p in signing.current_round(session, proposal)],
        sealed=sealed_document(session, proposal.number) is not None,
    )


def request_code(
    db: Database, settings: Settings, token: str, browser: str, ip: str | None, agent: str | None
) -> str:
    """Mail the party a one-time code; the message to show (raises ``Refused``)."""
    key = secret_key(settings.paths)

    def work(session: Session) -> Outcome:
        signatory = signing.signatory_for(session, key, token, now())
        if signatory.method != EMAIL_CODE:
            raise Refused("This agreement is signed with " + methods(settings)[signatory.method])
        code = signing.issue_code(signatory, key, browser, settings.signing, now())
        return Outcome(detail={"code": code, "email": signatory.email, "id": signatory.id})

    made = public_step(db, work).detail
    mailer = make_mailer(mail_settings(settings.paths))
    try:
        mailer.send(
            build_message(
                message_id=f"<{_message_key('code', made['id'])}@{MESSAGE_DOMAIN}>",
                subject=f"Your signing code: {made['code']}",
                body=(
                    f"Your one-time code is {made['code']}.\n\n"
                    f"It holds for {settings.signing.code_minutes} minutes. If you did not "
                    "ask for it, ignore this message."
                ),
                to=made["email"],
                sender=mailer.settings.sender,
            )
        )
    finally:
        mailer.close()
    return f"We sent a code to {mask_email(made['email'])}."


def enter_code(
    db: Database,
    settings: Settings,
    token: str,
    browser: str,
    code: str,
    ip: str | None,
    agent: str | None,
) -> str | None:
    """None when the code is right (the party is identified), else what to tell them."""
    key = secret_key(settings.paths)

    def work(session: Session) -> Outcome:
        signatory = signing.signatory_for(session, key, token, now())
        problem = signing.verify_code(
            signatory, key, browser, code, settings.signing, now(), ip, agent
        )
        return Outcome(detail={"problem": problem})  # committed either way: tries count

    return public_step(db, work).detail["problem"]


def sign(
    db: Database,
    settings: Settings,
    token: str,
    browser: str,
    *,
    typed_name: str,
    consent: bool,
    ip: str | None,
    agent: str | None,
) -> Outcome:
    """The party signs; after the last signature the document is sealed and the contract made."""
    key = secret_key(settings.paths)

    def work(session: Session) -> Outcome:
        signatory = signing.signatory_for(session, key, token, now())
        last = signing.sign(
            session,
            signatory,
            key,
            browser,
            typed_name=typed_name,
            consent=consent,
            now=now(),
            ip=ip,
            agent=agent,
        )
        return Outcome(detail={"last": last, "proposal": signatory.proposal.number})

    signed = write(db, LINK_HOLDER, READ, work)
    if not signed.ok or not signed.detail["last"]:
        return signed
    from avtale.services.sealing import finish_signing  # sealing imports this module

    finished = finish_signing(db, settings, signed.detail["proposal"])
    return Outcome(errors=finished.errors, message=finished.message, detail=signed.detail)


def decline(
    db: Database,
    settings: Settings,
    token: str,
    browser: str,
    *,
    reason: str,
    ip: str | None,
    agent: str | None,
) -> Outcome:
    key = secret_key(settings.paths)

    def work(session: Session) -> Outcome:
        signatory = signing.signatory_for(session, key, token, now())
        signing.decline(
            session, signatory, key, browser, reason=reason, now=now(), ip=ip, agent=agent
        )
        return Outcome(message="You declined. The sender has been told your reason.")

    return write(db, LINK_HOLDER, READ, work)


def signing_document(db: Database, settings: Settings, token: str) -> tuple[str, bytes]:
    """The PDF the link's party is asked to sign, or the sealed copy once it exists."""
    key = secret_key(settings.paths)
    with reading(db) as session:
        signatory = signing.signatory_for(session, key, token, now(), touch=False)
        document = sealed_document(session, signatory.proposal.number) or signatory.document
        filename, stored = document.filename, document.stored_path
    return filename, document_bytes(settings.paths, stored)


def sealed_document(session: Session, number: str) -> Document | None:
    return session.scalar(
        select(Document)
        .join(Proposal, Document.proposal_id == Proposal.id)
        .where(Proposal.number == number, Document.kind == "signed")
        .order_by(Document.id.desc())
        .limit(1)
    )


def mask_email(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"


def public_step(db: Database, work: Callable[[Session], Outcome]) -> Outcome:
    """Run a public step in one transaction; a ``Refused`` rolls it back and reaches the
    caller as itself, and so does a problem with what was typed."""
    outcome = write(db, LINK_HOLDER, READ, work)
    if not outcome.ok:
        raise Refused("; ".join(outcome.errors.values()))
    return outcome
