"""The signing pages in a real browser: `avtale portal` serving a data folder, Debian's
Chromium driven by playwright (STACK.md: never `playwright install`). A proposal is sent
through the services; the parties open the links from the outbox, take the code from
their mail, and sign or decline, as a counterparty would."""

from __future__ import annotations

import os
import re
import secrets
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from apps.portal.app import BROWSER_COOKIE
from avtale.repository.db import session_scope
from avtale.repository.models import AccessLink, Document, Proposal
from avtale.services import signing
from avtale.services.database import Database, close_database, database_at
from avtale.services.documents import document_bytes
from avtale.settings import Settings
from avtale.signing.tokens import digest, secret_key
from docgen import seal
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
from tests.test_browser import CHROMIUM, FLAGS, WAIT_MS, free_port, require_chromium, serving

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Portal:
    url: str
    settings: Settings
    db: Database


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    require_chromium()
    home = tmp_path_factory.mktemp("portal") / "home"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    keep = ("AVTALE_DATABASE_URL", "AVTALE_SMTP_HOST", "AVTALE_SMS_URL", "AVTALE_SECRET_KEY")
    env = {k: v for k, v in os.environ.items() if k not in keep}
    env |= {"AVTALE_HOME": str(home), "AVTALE_PORTAL_URL": url}
    command = [sys.executable, "-m", "avtale.cli", "portal", "--port", str(port)]
    with pytest.MonkeyPatch.context() as patch:
        for name in keep:
            patch.delenv(name, raising=False)
        patch.setenv("AVTALE_PORTAL_URL", url)  # the links the services mail point here
        settings = settings_for(home)  # makes the data folder
        db = database_at(f"sqlite:///{home / 'avtale.db'}")
        try:
            with serving(command, env, f"{url}/healthz", home.parent / "portal.log"):
                yield Portal(url, settings, db)
        finally:
            close_database(db)


def send(portal: Portal) -> str:
    for message in (portal.settings.paths.home / "outbox").glob("*.eml"):
        message.unlink()  # each test reads only its own mail
    number = ready_proposal(portal.db, portal.settings.paths)
    assert signing.send_for_signature(portal.db, SALES, portal.settings, number).ok
    return number


def submit(page, button: str) -> None:  # type: ignore[no-untyped-def]
    """Press a form's button and wait for the page the post leads to."""
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.get_by_role("button", name=button).click()


def sign_in_browser(browser, portal: Portal, to: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_context().new_page()
    page.set_default_timeout(WAIT_MS)
    response = page.goto(f"{portal.url}/sign/{link_for(portal.settings.paths, to)}")
    assert response is not None and response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors" in response.headers["content-security-policy"]
    submit(page, "Send me a code")
    page.wait_for_selector("text=We sent a code")
    page.get_by_label("Code from the e-mail").fill(code_for(portal.settings.paths, to))
    submit(page, "Confirm the code")
    page.wait_for_selector("text=You are identified")
    page.get_by_label("Your full name").fill(name)
    page.get_by_role("checkbox").check()
    submit(page, "Sign the agreement")
    page.wait_for_selector("h2:has-text('You have signed')")
    # A second use of a step that is done: the form posted again, as a replay would.
    # The page offers no form any more: post with the field a form of this browser has.
    browser_cookie = next(c["value"] for c in page.context.cookies() if c["name"] == BROWSER_COOKIE)
    csrf = digest(secret_key(portal.settings.paths), "csrf", browser_cookie)[:32]
    again = page.context.request.post(
        page.url.split("?")[0] + "/sign", form={"csrf": csrf, "typed_name": name, "consent": "yes"}
    )
    assert again.status == 409 and "already signed" in again.text()
    page.context.close()


def test_both_parties_sign_in_chromium_and_the_sealed_copy_is_valid(portal: Portal) -> None:
    from playwright.sync_api import sync_playwright

    number = send(portal)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            sign_in_browser(browser, portal, CUSTOMER_SIGNER, "Åse Berg")
            assert list(signing.signatories(portal.db, number).status) == ["waiting", "signed"]
            sign_in_browser(browser, portal, SELLER_SIGNER, "Kari Nordmann")
            # The customer's link now offers the sealed copy.
            page = browser.new_page()
            page.goto(f"{portal.url}/sign/{link_for(portal.settings.paths, CUSTOMER_SIGNER)}")
            assert page.get_by_role("link", name="Download the signed, sealed copy").count() == 1
        finally:
            browser.close()
    with session_scope(portal.db.engine) as session:
        proposal = session.scalar(select(Proposal).where(Proposal.number == number))
        assert proposal is not None and proposal.status == "signed" and proposal.contract_id
        sealed = session.scalar(
            select(Document).where(Document.kind == "signed", Document.proposal_id == proposal.id)
        )
        assert sealed is not None and sealed.contract_id == proposal.contract_id
        stored = sealed.stored_path
    pdf = document_bytes(portal.settings.paths, stored)
    status = seal.check_seal(pdf, [portal.settings.paths.home / "seal" / "seal-ca.pem"])
    assert status.intact and status.valid
    events = _audit_text(pdf)
    assert "Åse Berg" in events and "Kari Nordmann" in events and "E-mail one-time code" in events
    assert {m.to for m in outbox(portal.settings.paths) if m.subject.startswith("Signed:")} == {
        CUSTOMER_SIGNER,
        SELLER_SIGNER,
    }


def _audit_text(pdf: bytes) -> str:
    import io

    from pypdf import PdfReader

    return PdfReader(io.BytesIO(pdf)).pages[-1].extract_text()


def test_a_party_declines_with_a_reason_in_chromium(portal: Portal) -> None:
    from playwright.sync_api import sync_playwright

    number = send(portal)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(f"{portal.url}/sign/{link_for(portal.settings.paths, CUSTOMER_SIGNER)}")
            page.get_by_text("Decline to sign").click()
            page.get_by_label("Why do you decline?").fill("The <b>price</b> is too high")
            submit(page, "Decline")
            page.wait_for_selector("h2:has-text('You declined')")
            # The seller's link is withdrawn with the proposal.
            response = page.goto(
                f"{portal.url}/sign/{link_for(portal.settings.paths, SELLER_SIGNER)}"
            )
            assert response is not None and response.status == 410
            assert "withdrawn" in page.content()
        finally:
            browser.close()
    table = signing.signatories(portal.db, number).set_index("email")
    assert table.loc[CUSTOMER_SIGNER, "reason"] == "The <b>price</b> is too high"


def get(url: str, data: bytes | None = None, cookie: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_tampered_expired_and_withdrawn_links_and_forged_posts_are_refused(
    portal: Portal,
) -> None:
    number = send(portal)
    token = link_for(portal.settings.paths, CUSTOMER_SIGNER)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    status, body = get(f"{portal.url}/sign/{tampered}")
    assert status == 410 and "not valid" in body
    # A post without the browser's cookie and form field does nothing.
    status, _ = get(f"{portal.url}/sign/{token}/decline", data=b"reason=forged")
    assert status == 409
    status, _ = get(
        f"{portal.url}/sign/{token}/decline",
        data=b"reason=forged&csrf=0",
        cookie=f"avtale_browser={secrets.token_urlsafe(32)}",
    )
    assert status == 409
    assert list(signing.signatories(portal.db, number).status) == ["waiting", "waiting"]
    # Withdrawn by sales ops, then expired.
    seller = int(signing.signatories(portal.db, number).set_index("email").loc[SELLER_SIGNER, "id"])
    assert signing.revoke(portal.db, SALES, seller).ok
    status, body = get(f"{portal.url}/sign/{link_for(portal.settings.paths, SELLER_SIGNER)}")
    assert status == 410 and "withdrawn" in body
    with session_scope(portal.db.engine) as session:
        for link in session.scalars(select(AccessLink).where(AccessLink.revoked_at.is_(None))):
            link.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    status, body = get(f"{portal.url}/sign/{token}")
    assert status == 410 and "expired" in body


def test_the_customer_portal_in_chromium(portal: Portal) -> None:
    from playwright.sync_api import sync_playwright

    from avtale.repository import auth
    from avtale.repository.models import Contact, Contract, User
    from avtale.services import portal as portal_service

    number = send(portal)
    # Both sign, so the customer has a contract with a sealed document; then a portal link.
    with session_scope(portal.db.engine) as session:
        proposal = session.scalar(select(Proposal).where(Proposal.number == number))
        assert proposal is not None
        contact_id = session.scalar(
            select(Contact.id).where(
                Contact.customer_id == proposal.customer_id, Contact.email == CUSTOMER_SIGNER
            )
        )
        if session.scalar(select(User).where(User.username == SALES)) is None:
            auth.create_user(session, "setup", SALES, "fjord-contracts-2026", "sales_ops")
    assert contact_id is not None
    for to, name in ((CUSTOMER_SIGNER, "Åse Berg"), (SELLER_SIGNER, "Kari Nordmann")):
        token, browser_id = link_for(portal.settings.paths, to), secrets.token_urlsafe(32)
        signing.open_link(portal.db, portal.settings, token, browser_id, None, None)
        signing.request_code(portal.db, portal.settings, token, browser_id, None, None)
        code = code_for(portal.settings.paths, to)
        assert (
            signing.enter_code(portal.db, portal.settings, token, browser_id, code, None, None)
            is None
        )
        assert signing.sign(
            portal.db,
            portal.settings,
            token,
            browser_id,
            typed_name=name,
            consent=True,
            ip=None,
            agent=None,
        ).ok
    with session_scope(portal.db.engine) as session:
        proposal = session.scalar(select(Proposal).where(Proposal.number == number))
        assert proposal is not None and proposal.contract_id is not None
        contract = session.get(Contract, proposal.contract_id)
        assert contract is not None
        contract.portal_access = "upgrade"
        contract_number = contract.contract_number
    assert portal_service.send_link(portal.db, SALES, portal.settings, contact_id).ok
    mail = [m for m in outbox(portal.settings.paths) if "/portal/" in m.body][-1]
    url = re.search(r"https?://\S+/portal/[A-Za-z0-9_-]+", mail.body)
    assert url is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(WAIT_MS)
            response = page.goto(url.group(0))
            assert response is not None and response.status == 200
            assert page.locator(f"#contract-{contract_number}").count() == 1
            assert page.get_by_role("link", name=f"{number}-signed.pdf").count() == 1
            page.get_by_text("Change licences (more only)").click()
            page.get_by_label("Assist licence").fill("9")
            submit(page, "Ask for the change")
            page.wait_for_selector("text=Your change is registered as")
            page.get_by_text("Cancel this agreement").click()
            page.get_by_label("Why do you cancel?").select_option("Too expensive")
            page.get_by_role("checkbox").check()
            submit(page, "Cancel the agreement")
            page.wait_for_selector(f"text={contract_number} ends on")
        finally:
            browser.close()
    with session_scope(portal.db.engine) as session:
        contract = session.scalar(
            select(Contract).where(Contract.contract_number == contract_number)
        )
        assert contract is not None and contract.status == "terminated"
