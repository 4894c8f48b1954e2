"""Signing a proposal by link (SPEC S1-S3), as operations on a caller's session.

Sending a proposal asks each party to sign: every customer contact who may sign and the
seller's signatory get a ``Signatory`` row and a personal link (``AccessLink``, purpose
``sign``) that expires after the configured days and never after the signing deadline.
The party opens the link in a browser (which gets a session cookie; only its keyed hash
is kept), identifies (an e-mail one-time code, or an identity provider), and signs or
declines. Each step is an event with its time, IP and user agent: the audit page of the
sealed document is made from them. A new browser opening the link starts over: what
another browser proved does not carry over to it.

When every party has signed, the service seals the PDF and ``finish`` turns the proposal
into the contract (or its next version) exactly as a registered signature does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.repository.agreements import (
    final_pdfs,
    register_signature,
    send_problems,
    send_proposal,
)
from avtale.repository.audit import jsonable, record, snapshot
from avtale.repository.models import (
    AccessLink,
    ContractVersion,
    Document,
    Proposal,
    Signatory,
)
from avtale.repository.validation import ValidationError, raise_if, require_actor
from avtale.settings import Seller, SigningSettings
from avtale.signing.tokens import digest, matches, new_code, new_token

EMAIL_CODE = "email_code"
EMAIL_CODE_LABEL = "E-mail one-time code"
# A party must sign within this long of identifying, in the same browser.
IDENTIFIED_FOR = timedelta(minutes=30)
LINK, SESSION, CODE = "link", "session", "code"


class Refused(Exception):
    """A link or a step that cannot be used, with what to tell the person holding it."""

    def __init__(self, message: str, *, gone: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.gone = gone  # the link will never work again (HTTP 410), not just this step


@dataclass(frozen=True)
class Party:
    side: str
    name: str
    email: str | None
    phone: str | None
    contact_id: int | None = None


def parties(proposal: Proposal, seller: Seller) -> list[Party]:
    """Who signs: the customer's contacts who may sign, then the seller's signatory."""
    found = [
        Party("customer", c.name, c.email, c.phone, c.id)
        for c in proposal.customer.contacts
        if c.may_sign
    ]
    found.append(
        Party("seller", seller.signatory_name, seller.signatory_email, seller.signatory_phone)
    )
    return found


def party_problems(proposal: Proposal, seller: Seller) -> list[str]:
    problems = []
    if not any(c.may_sign for c in proposal.customer.contacts):
        problems.append("the customer has no contact who may sign")
    for party in parties(proposal, seller):
        if not party.email:
            where = "seller.yaml has no signatory_email" if party.side == "seller" else ""
            problems.append(where or f"{party.name} may sign but has no e-mail address")
    return problems


def link_expiry(proposal: Proposal, now: datetime, days: int, zone: ZoneInfo) -> datetime:
    """``days`` from now, but no later than the end of the signing deadline's day."""
    until = now + timedelta(days=days)
    if proposal.signing_deadline:
        end_of_deadline = datetime.combine(
            proposal.signing_deadline + timedelta(days=1), time(), zone
        )
        until = min(until, end_of_deadline)
    return until


def final_pdf(proposal: Proposal) -> Document | None:
    """The newest final PDF of the proposal's current revision: what the parties sign."""
    pdfs = final_pdfs(proposal)
    return pdfs[-1] if pdfs else None


def event(
    signatory: Signatory,
    what: str,
    now: datetime,
    ip: str | None = None,
    user_agent: str | None = None,
    **detail: Any,
) -> None:
    entry = {"what": what, "at": now.isoformat(), "ip": ip, "user_agent": user_agent}
    # A new list: the ORM sees a changed JSON column only when the value is replaced.
    signatory.events = [*signatory.events, entry | jsonable(detail)]


def _new_link(
    session: Session, key: bytes, actor: str, signatory: Signatory, expires_at: datetime
) -> str:
    token = new_token()
    session.add(
        AccessLink(
            purpose="sign",
            token_hash=digest(key, LINK, token),
            signatory=signatory,
            expires_at=expires_at,
            created_by=actor,
        )
    )
    return token


def send_for_signature(
    session: Session,
    actor: str,
    proposal: Proposal,
    *,
    key: bytes,
    seller: Seller,
    settings: SigningSettings,
    zone: ZoneInfo,
    now: datetime,
    method: str = EMAIL_CODE,
) -> list[tuple[Signatory, str]]:
    """Mark the proposal sent and make each party's signatory row and link; the links'
    tokens come back (to be mailed once the transaction commits) and are kept nowhere."""
    actor = require_actor(actor)
    problems = send_problems(proposal) + party_problems(proposal, seller)
    if method != EMAIL_CODE and settings.provider(method) is None:
        problems.append(f"no identity provider {method!r} is configured (signing.yaml)")
    if problems:
        raise ValidationError({"send": "; ".join(problems)})
    document = final_pdf(proposal)
    assert document is not None  # send_problems asks for it
    send_proposal(session, actor, proposal)
    expires_at = link_expiry(proposal, now, settings.link_days, zone)
    made = []
    for party in parties(proposal, seller):
        assert party.email is not None
        signatory = Signatory(
            proposal=proposal,
            proposal_revision=proposal.revision,
            document=document,
            side=party.side,
            contact_id=party.contact_id,
            name=party.name,
            email=party.email,
            phone=party.phone,
            method=method,
            created_by=actor,
            events=[],
            codes_sent=[],
        )
        session.add(signatory)
        event(signatory, "link made", now, expires_at=expires_at)
        made.append((signatory, _new_link(session, key, actor, signatory, expires_at)))
    session.flush()
    for signatory, _token in made:
        record(session, actor, "signing.ask", "signatory", signatory.id, None, snapshot(signatory))
    return made


def signatories(session: Session, proposal: Proposal) -> list[Signatory]:
    """Everyone asked to sign any revision of the proposal, newest request first."""
    return list(
        session.scalars(
            select(Signatory)
            .where(Signatory.proposal_id == proposal.id)
            .order_by(Signatory.id.desc())
        )
    )


def active_links(session: Session, signatory: Signatory) -> list[AccessLink]:
    return list(
        session.scalars(
            select(AccessLink).where(
                AccessLink.signatory_id == signatory.id, AccessLink.revoked_at.is_(None)
            )
        )
    )


def revoke(session: Session, actor: str, signatory: Signatory, reason: str, now: datetime) -> int:
    """Withdraw the party's links; they can be sent a new one."""
    actor = require_actor(actor)
    links = active_links(session, signatory)
    for link in links:
        link.revoked_at = now
        link.revoked_reason = reason
        record(session, actor, "signing.revoke", "access_link", link.id, None, {"reason": reason})
    if links:
        event(signatory, "link withdrawn", now, reason=reason)
    return len(links)


def resend(
    session: Session,
    actor: str,
    signatory: Signatory,
    *,
    key: bytes,
    settings: SigningSettings,
    zone: ZoneInfo,
    now: datetime,
    reason: str = "a new link was sent",
) -> str:
    """A new link for a party who has not signed; the old one stops working."""
    actor = require_actor(actor)
    proposal = signatory.proposal
    if signatory.status != "waiting" or proposal.status != "sent":
        raise ValidationError(
            {"signatory": f"{signatory.name} has {signatory.status}; nothing to resend"}
        )
    if proposal.revision != signatory.proposal_revision:
        raise ValidationError({"signatory": "the proposal has changed since this request"})
    if proposal.signing_deadline and proposal.signing_deadline < now.astimezone(zone).date():
        raise ValidationError({"signatory": "the signing deadline has passed"})
    revoke(session, actor, signatory, reason, now)
    expires_at = link_expiry(proposal, now, settings.link_days, zone)
    token = _new_link(session, key, actor, signatory, expires_at)
    event(signatory, "link made", now, expires_at=expires_at)
    session.flush()
    return token


# --- what the person holding a link does ---------------------------------------------


def link_for(session: Session, key: bytes, token: str, purpose: str, now: datetime) -> AccessLink:
    """The link a token opens, refused when it is unknown, withdrawn or expired."""
    link = session.scalar(
        select(AccessLink).where(AccessLink.token_hash == digest(key, LINK, token))
    )
    if link is None or link.purpose != purpose:
        raise Refused("This link is not valid. Check that you copied all of it.", gone=True)
    if link.revoked_at is not None:
        raise Refused("This link has been withdrawn. Ask the sender for a new one.", gone=True)
    if link.expires_at <= now:
        raise Refused("This link has expired. Ask the sender for a new one.", gone=True)
    return link


def signatory_for(
    session: Session, key: bytes, token: str, now: datetime, *, touch: bool = True
) -> Signatory:
    """The party a signing link is for; ``touch`` records the use (in a write)."""
    link = link_for(session, key, token, "sign", now)
    if touch:
        link.last_used_at = now
    signatory = link.signatory
    assert signatory is not None
    proposal = signatory.proposal
    if signatory.status == "waiting" and (
        proposal.status != "sent" or proposal.revision != signatory.proposal_revision
    ):
        raise Refused("This proposal has been withdrawn by the sender.", gone=True)
    return signatory


def open_link(
    signatory: Signatory, key: bytes, browser: str, now: datetime, ip: str | None, agent: str | None
) -> None:
    """The party opened the link in ``browser`` (its session secret). Another browser than
    the last one starts over: identification does not carry over between browsers."""
    if signatory.status != "waiting":
        return
    if signatory.opened_at is None:
        signatory.opened_at = now
        event(signatory, "opened", now, ip, agent)
    if not matches(key, SESSION, browser, signatory.session_hash):
        if signatory.session_hash is not None:
            event(signatory, "opened in another browser", now, ip, agent)
        signatory.session_hash = digest(key, SESSION, browser)
        signatory.identified_at = None
        signatory.identity = None
        signatory.code_hash = None
        signatory.pending_login = None


def same_browser(signatory: Signatory, key: bytes, browser: str) -> None:
    if signatory.status != "waiting":
        raise Refused(f"You have already {signatory.status} this document.")
    if not matches(key, SESSION, browser, signatory.session_hash):
        raise Refused("This link was opened in another browser since. Open it again here.")


def issue_code(
    signatory: Signatory, key: bytes, browser: str, settings: SigningSettings, now: datetime
) -> str:
    """A new one-time code for the party's e-mail (the old one stops working), at most
    ``codes_per_window`` in ``code_window_minutes``."""
    same_browser(signatory, key, browser)
    window = now - timedelta(minutes=settings.code_window_minutes)
    recent = [at for at in signatory.codes_sent if datetime.fromisoformat(at) > window]
    if len(recent) >= settings.codes_per_window:
        wait = datetime.fromisoformat(min(recent)) - window
        minutes = max(1, round(wait.total_seconds() / 60))
        raise Refused(f"Too many codes asked for. Try again in {minutes} minutes.")
    code = new_code()
    signatory.code_hash = digest(key, CODE, code)
    signatory.code_expires_at = now + timedelta(minutes=settings.code_minutes)
    signatory.code_attempts = 0
    signatory.codes_sent = [*recent, now.isoformat()]
    event(signatory, "code e-mailed", now, to=signatory.email)
    return code


def verify_code(
    signatory: Signatory,
    key: bytes,
    browser: str,
    code: str,
    settings: SigningSettings,
    now: datetime,
    ip: str | None,
    agent: str | None,
) -> str | None:
    """None when ``code`` is the party's current code (which is then used up), else why
    not. A wrong try counts (so the caller commits, not rolls back); too many void it."""
    same_browser(signatory, key, browser)
    if signatory.code_hash is None or signatory.code_expires_at is None:
        return "Ask for a code first."
    if signatory.code_expires_at <= now:
        signatory.code_hash = None
        return "The code has expired. Ask for a new one."
    signatory.code_attempts += 1
    if not matches(key, CODE, "".join(code.split()), signatory.code_hash):
        left = settings.code_attempts - signatory.code_attempts
        event(signatory, "wrong code", now, ip, agent)
        if left <= 0:
            signatory.code_hash = None
            return "Too many wrong codes. Ask for a new one."
        return f"That is not the code. {left} tries left."
    signatory.code_hash = None  # single use
    identify(
        signatory,
        {"method": EMAIL_CODE, "label": EMAIL_CODE_LABEL, "attributes": {"email": signatory.email}},
        now,
        ip,
        agent,
    )
    return None


def identify(
    signatory: Signatory, identity: dict[str, Any], now: datetime, ip: str | None, agent: str | None
) -> None:
    signatory.identified_at = now
    signatory.identity = identity
    signatory.pending_login = None
    event(signatory, "identified", now, ip, agent, method=identity["label"])


def sign(
    session: Session,
    signatory: Signatory,
    key: bytes,
    browser: str,
    *,
    typed_name: str,
    consent: bool,
    now: datetime,
    ip: str | None,
    agent: str | None,
) -> bool:
    """The party signs; True when it was the last signature the proposal waited for."""
    same_browser(signatory, key, browser)
    if signatory.identified_at is None or now - signatory.identified_at > IDENTIFIED_FOR:
        raise Refused("Identify yourself first.")
    errors = {}
    if not typed_name.strip():
        errors["name"] = "Type your full name to sign."
    elif len(typed_name.strip()) > 200:
        errors["name"] = "must be at most 200 characters"
    if not consent:
        errors["consent"] = "Tick the box to confirm that you sign the agreement."
    raise_if(errors)
    before = snapshot(signatory)
    signatory.status = "signed"
    signatory.signed_at = now
    event(signatory, "signed", now, ip, agent, typed_name=typed_name.strip())
    session.flush()
    record(
        session,
        _actor(signatory),
        "signing.sign",
        "signatory",
        signatory.id,
        before,
        snapshot(signatory),
    )
    return all_signed(session, signatory.proposal)


def decline(
    session: Session,
    signatory: Signatory,
    key: bytes,
    browser: str,
    *,
    reason: str,
    now: datetime,
    ip: str | None,
    agent: str | None,
) -> None:
    """The party declines with a reason: the proposal is declined and every other
    party's link withdrawn."""
    same_browser(signatory, key, browser)
    if not reason.strip():
        raise ValidationError({"reason": "Say why you decline, for the sender."})
    before = snapshot(signatory)
    signatory.status = "declined"
    signatory.declined_at = now
    signatory.decline_reason = reason.strip()[:2000]
    event(signatory, "declined", now, ip, agent, reason=signatory.decline_reason)
    proposal = signatory.proposal
    proposal_before = snapshot(proposal)
    proposal.status = "declined"
    actor = _actor(signatory)
    for other in signatories(session, proposal):
        if other.id != signatory.id and other.status == "waiting":
            other.status = "withdrawn"
            revoke(session, actor, other, f"{signatory.name} declined", now)
    session.flush()
    record(
        session, actor, "signing.decline", "signatory", signatory.id, before, snapshot(signatory)
    )
    record(
        session,
        actor,
        "proposal.decline",
        "proposal",
        proposal.id,
        proposal_before,
        snapshot(proposal),
    )


def current_round(session: Session, proposal: Proposal) -> list[Signatory]:
    """The parties asked to sign the proposal's current revision, in the order asked."""
    return sorted(
        (s for s in signatories(session, proposal) if s.proposal_revision == proposal.revision),
        key=lambda s: s.id,
    )


def all_signed(session: Session, proposal: Proposal) -> bool:
    round_ = current_round(session, proposal)
    return bool(round_) and all(s.status == "signed" for s in round_)


def finish(
    session: Session, actor: str, proposal: Proposal, sealed: Document, zone: ZoneInfo
) -> ContractVersion:
    """Every party signed and ``sealed`` holds the sealed PDF: the proposal becomes the
    contract (or its next version), as a registered signature does, with the sealed
    document on it."""
    round_ = current_round(session, proposal)
    if proposal.status != "sent" or not all_signed(session, proposal):
        raise ValidationError({"proposal": f"is {proposal.status}; not every party has signed"})
    last = max(s.signed_at for s in round_ if s.signed_at is not None)
    signed_on: date = last.astimezone(zone).date()
    names = ", ".join(s.name for s in round_ if s.side == "customer")
    version = register_signature(session, actor, proposal, signed_date=signed_on, signer_name=names)
    sealed.contract = version.contract
    session.flush()
    return version


def _actor(signatory: Signatory) -> str:
    """The audit log's actor for what the person holding a signing link did."""
    return f"signatory:{signatory.id}"
