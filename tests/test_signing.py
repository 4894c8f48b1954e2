"""Signing by link through the services, on SQLite and PostgreSQL (SPEC S1-S3): links
mailed to every party, identification by e-mail code, signatures, the sealed document and
the contract; refusals of expired, withdrawn, tampered and reused links and codes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from avtale.repository.db import session_scope
from avtale.repository.models import AccessLink, AuditLog, Contract, Document, Proposal, Signatory
from avtale.services import sealing, signing
from avtale.services.database import Database, close_database, database_at
from avtale.services.documents import document_bytes
from avtale.services.signing import Refused
from avtale.settings import Settings
from docgen import seal
from tests.conftest import Database as Backend
from tests.signing_fixtures import (
    CUSTOMER_SIGNER,
    SALES,
    SELLER_SIGNER,
    code_for,
    link_for,
    outbox,
    ready_proposal,
    settings_for,
)

IP, AGENT = "192.0.2.10", "Mozilla/5.0 (test)"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AVTALE_SMTP_HOST", "AVTALE_SMS_URL", "AVTALE_SECRET_KEY", "AVTALE_TSA_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AVTALE_PORTAL_URL", raising=False)


@pytest.fixture
def settings(tmp_path: Path, env: None) -> Settings:
    return settings_for(tmp_path / "home")


@pytest.fixture
def database(db: Backend) -> Iterator[Database]:
    opened = database_at(db.url)
    yield opened
    close_database(opened)


@pytest.fixture
def sent(database: Database, settings: Settings) -> str:
    number = ready_proposal(database, settings.paths)
    outcome = signing.send_for_signature(database, SALES, settings, number)
    assert outcome.ok, outcome.errors
    assert "sent for signature to 2 parties" in outcome.message
    return number


def identify(db: Database, settings: Settings, token: str, browser: str, to: str) -> None:
    signing.open_link(db, settings, token, browser, IP, AGENT)
    signing.request_code(db, settings, token, browser, IP, AGENT)
    assert (
        signing.enter_code(db, settings, token, browser, code_for(settings.paths, to), IP, AGENT)
        is None
    )


def sign_as(db: Database, settings: Settings, to: str, name: str) -> signing.Outcome:
    token, browser = link_for(settings.paths, to), secrets.token_urlsafe(32)
    identify(db, settings, token, browser, to)
    return signing.sign(
        db, settings, token, browser, typed_name=name, consent=True, ip=IP, agent=AGENT
    )


def test_every_party_gets_a_personal_link_and_only_its_hash_is_kept(
    database: Database, settings: Settings, sent: str
) -> None:
    mails = outbox(settings.paths)
    assert sorted(m.to for m in mails) == [CUSTOMER_SIGNER, SELLER_SIGNER]
    tokens = [link_for(settings.paths, to) for to in (CUSTOMER_SIGNER, SELLER_SIGNER)]
    assert len(set(tokens)) == 2 and all(len(t) >= 43 for t in tokens)  # 256 bits
    sms = list((settings.paths.home / "sms-outbox").glob("*.json"))
    assert len(sms) == 2  # Åse and the seller's signatory have mobile numbers
    with session_scope(database.engine) as session:
        dumped = " ".join(
            str(row)
            for table in ("access_links", "signatories", "audit_log")
            for row in session.execute(text(f"SELECT * FROM {table}"))
        )
        assert not any(token in dumped for token in tokens)
        proposal = session.scalar(select(Proposal).where(Proposal.number == sent))
        assert proposal is not None and proposal.status == "sent"
    table = signing.signatories(database, sent)
    assert list(table.status) == ["waiting", "waiting"]
    assert set(table.side) == {"customer", "seller"}


def test_both_parties_sign_and_the_sealed_pdf_becomes_the_contract(
    database: Database, settings: Settings, sent: str
) -> None:
    first = sign_as(database, settings, CUSTOMER_SIGNER, "Åse Berg")
    assert first.ok and first.detail["last"] is False
    last = sign_as(database, settings, SELLER_SIGNER, "Kari Nordmann")
    assert last.ok, last.errors
    assert last.detail["last"] is True and "signed by every party" in last.message
    with session_scope(database.engine) as session:
        proposal = session.scalar(select(Proposal).where(Proposal.number == sent))
        assert proposal is not None and proposal.status == "signed"
        assert proposal.signer_name == "Åse Berg"
        contract = session.get(Contract, proposal.contract_id)
        assert contract is not None and contract.status == "active"
        sealed = session.scalar(select(Document).where(Document.kind == "signed"))
        assert sealed is not None and sealed.contract_id == contract.id
        stored = sealed.stored_path
        actions = set(session.scalars(select(AuditLog.action)))
    assert {"signing.ask", "signing.sign", "signing.seal", "proposal.sign"} <= actions
    pdf = document_bytes(settings.paths, stored)
    roots = [settings.paths.home / "seal" / "seal-ca.pem"]
    status = seal.check_seal(pdf, roots)
    assert status.intact and status.valid and status.covers_whole_file
    copies = [m for m in outbox(settings.paths) if m.subject == f"Signed: agreement {sent}"]
    assert sorted(m.to for m in copies) == [CUSTOMER_SIGNER, SELLER_SIGNER]
    assert all(m.attachments == {f"{sent}-signed.pdf": pdf} for m in copies)
    # The customer's signer also gets their portal link, where the copy stays.
    assert ["/portal/" in m.body for m in sorted(copies, key=lambda m: m.to)] == [True, False]
    # The party's link now shows the sealed copy, and signing again is refused.
    token = link_for(settings.paths, CUSTOMER_SIGNER)
    assert signing.signing_document(database, settings, token)[1] == pdf
    with pytest.raises(Refused, match="already signed"):
        signing.request_code(database, settings, token, secrets.token_urlsafe(32), IP, AGENT)
    # Sealing again does nothing.
    assert not sealing.finish_signing(database, settings, sent).ok


def test_a_code_is_single_use_and_wrong_tries_run_out(
    database: Database, settings: Settings, sent: str
) -> None:
    token, browser = link_for(settings.paths, CUSTOMER_SIGNER), secrets.token_urlsafe(32)
    signing.open_link(database, settings, token, browser, IP, AGENT)
    signing.request_code(database, settings, token, browser, IP, AGENT)
    right = code_for(settings.paths, CUSTOMER_SIGNER)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        problem = signing.enter_code(database, settings, token, browser, wrong, IP, AGENT)
        assert problem == f"That is not the code. {left} tries left."
    assert "Too many wrong codes" in (
        signing.enter_code(database, settings, token, browser, wrong, IP, AGENT) or ""
    )
    # The right code no longer helps: it was voided with the last wrong try.
    assert signing.enter_code(database, settings, token, browser, right, IP, AGENT) == (
        "Ask for a code first."
    )
    signing.request_code(database, settings, token, browser, IP, AGENT)
    fresh = code_for(settings.paths, CUSTOMER_SIGNER)
    assert signing.enter_code(database, settings, token, browser, fresh, IP, AGENT) is None
    assert signing.enter_code(database, settings, token, browser, fresh, IP, AGENT) == (
        "Ask for a code first."
    )
    # Three codes a window: the fourth is refused.
    signing.request_code(database, settings, token, browser, IP, AGENT)
    with pytest.raises(Refused, match="Too many codes"):
        signing.request_code(database, settings, token, browser, IP, AGENT)


def test_identification_stays_with_the_browser_that_made_it(
    database: Database, settings: Settings, sent: str
) -> None:
    token = link_for(settings.paths, CUSTOMER_SIGNER)
    mine, theirs = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    identify(database, settings, token, mine, CUSTOMER_SIGNER)
    signing.open_link(database, settings, token, theirs, IP, AGENT)  # a forwarded mail
    with pytest.raises(Refused, match="Identify yourself first"):
        signing.sign(
            database, settings, token, theirs, typed_name="X", consent=True, ip=IP, agent=AGENT
        )
    with pytest.raises(Refused, match="another browser"):
        signing.sign(
            database, settings, token, mine, typed_name="Åse", consent=True, ip=IP, agent=AGENT
        )


def test_signing_needs_a_name_and_consent(
    database: Database, settings: Settings, sent: str
) -> None:
    token, browser = link_for(settings.paths, CUSTOMER_SIGNER), secrets.token_urlsafe(32)
    identify(database, settings, token, browser, CUSTOMER_SIGNER)
    refused = signing.sign(
        database, settings, token, browser, typed_name=" ", consent=False, ip=IP, agent=AGENT
    )
    assert set(refused.errors) == {"name", "consent"}
    assert list(signing.signatories(database, sent).status) == ["waiting", "waiting"]


def test_a_decline_with_reason_withdraws_the_proposal_and_the_other_links(
    database: Database, settings: Settings, sent: str
) -> None:
    token, browser = link_for(settings.paths, CUSTOMER_SIGNER), secrets.token_urlsafe(32)
    signing.open_link(database, settings, token, browser, IP, AGENT)
    assert set(
        signing.decline(database, settings, token, browser, reason="", ip=IP, agent=AGENT).errors
    ) == {"reason"}
    outcome = signing.decline(
        database, settings, token, browser, reason="Price too high", ip=IP, agent=AGENT
    )
    assert outcome.ok
    table = signing.signatories(database, sent).set_index("email")
    assert table.loc[CUSTOMER_SIGNER, "status"] == "declined"
    assert table.loc[CUSTOMER_SIGNER, "reason"] == "Price too high"
    assert table.loc[SELLER_SIGNER, "status"] == "withdrawn"
    with pytest.raises(Refused, match="withdrawn"):
        signing.open_link(
            database, settings, link_for(settings.paths, SELLER_SIGNER), browser, IP, AGENT
        )
    with session_scope(database.engine) as session:
        proposal = session.scalar(select(Proposal).where(Proposal.number == sent))
        assert proposal is not None and proposal.status == "declined"


def test_tampered_expired_withdrawn_and_replaced_links_are_refused(
    database: Database, settings: Settings, sent: str
) -> None:
    token, browser = link_for(settings.paths, CUSTOMER_SIGNER), secrets.token_urlsafe(32)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(Refused, match="not valid") as refusal:
        signing.open_link(database, settings, tampered, browser, IP, AGENT)
    assert refusal.value.gone
    # Resending makes a new link and kills the old one.
    signatory_id = int(
        signing.signatories(database, sent).set_index("email").loc[CUSTOMER_SIGNER, "id"]
    )
    assert signing.resend(database, SALES, settings, signatory_id).ok
    new = link_for(settings.paths, CUSTOMER_SIGNER)
    assert new != token
    with pytest.raises(Refused, match="withdrawn"):
        signing.open_link(database, settings, token, browser, IP, AGENT)
    signing.open_link(database, settings, new, browser, IP, AGENT)
    # Withdrawn by sales ops.
    assert signing.revoke(database, SALES, signatory_id).ok
    with pytest.raises(Refused, match="withdrawn"):
        signing.open_link(database, settings, new, browser, IP, AGENT)
    # Expired: the seller's link, moved into the past.
    with session_scope(database.engine) as session:
        for link in session.scalars(select(AccessLink).where(AccessLink.revoked_at.is_(None))):
            link.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(Refused, match="expired"):
        signing.open_link(
            database, settings, link_for(settings.paths, SELLER_SIGNER), browser, IP, AGENT
        )


def test_a_link_expires_no_later_than_the_signing_deadline(
    database: Database, settings: Settings, sent: str
) -> None:
    with session_scope(database.engine) as session:
        proposal = session.scalar(select(Proposal).where(Proposal.number == sent))
        assert proposal is not None and proposal.signing_deadline is not None
        deadline = proposal.signing_deadline
        expiries = {link.expires_at for link in session.scalars(select(AccessLink))}
        statuses = set(session.scalars(select(Signatory.status)))
    end = datetime.combine(deadline + timedelta(days=1), datetime.min.time(), settings.timezone)
    assert expiries == {end}  # 14 days would be later than the deadline a week ahead
    assert statuses == {"waiting"}


def test_a_party_who_has_not_signed_is_reminded_once_with_a_new_link(
    database: Database, settings: Settings, sent: str
) -> None:
    before = link_for(settings.paths, CUSTOMER_SIGNER)
    assert signing.remind_signatories(database, settings).reminded == []  # a week left
    with session_scope(database.engine) as session:
        expiry = min(session.scalars(select(AccessLink.expires_at)))
    assert (
        signing.remind_signatories(database, settings, at=expiry - timedelta(days=4)).reminded == []
    )
    near = expiry - timedelta(days=2)  # within remind_days_before (3)
    reminded = signing.remind_signatories(database, settings, at=near)
    assert sorted(reminded.reminded) == ["Kari Nordmann", "Åse Berg"] and not reminded.problems
    reminders = [m for m in outbox(settings.paths) if m.subject.startswith("Reminder: Please sign")]
    assert sorted(m.to for m in reminders) == [CUSTOMER_SIGNER, SELLER_SIGNER]
    after = link_for(settings.paths, CUSTOMER_SIGNER)
    assert after != before
    with pytest.raises(Refused, match="withdrawn"):
        signing.open_link(database, settings, before, secrets.token_urlsafe(32), IP, AGENT)
    assert signing.remind_signatories(database, settings, at=near).reminded == []  # once


def test_a_proposal_edited_after_sending_shows_the_old_requests_as_replaced(
    database: Database, settings: Settings, sent: str
) -> None:
    from avtale.repository import agreements

    token = link_for(settings.paths, CUSTOMER_SIGNER)
    with session_scope(database.engine) as session:
        proposal = session.scalar(select(Proposal).where(Proposal.number == sent))
        assert proposal is not None
        agreements.update_proposal(session, SALES, proposal, lines=list(proposal.lines))
        assert proposal.status == "draft" and proposal.revision == 3
    assert set(signing.signatories(database, sent).status) == {"replaced"}
    with pytest.raises(Refused, match="withdrawn by the sender"):
        signing.open_link(database, settings, token, secrets.token_urlsafe(32), IP, AGENT)
