"""Signing with a Nordic eID through an OpenID Connect broker, end to end through the
services: a proposal asks its parties to identify with a provider configured in
signing.yaml (here a real OpenID provider on localhost), the identity it returns is the
party's evidence, and without it there is no signature."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oidc_provider_mock import User, run_server_in_thread
from sqlalchemy import select

from avtale.repository.db import session_scope
from avtale.repository.models import Signatory
from avtale.services import identity, signing
from avtale.services.database import Database, close_database, database_at
from avtale.services.signing import Refused
from avtale.settings import Settings
from tests.signing_fixtures import CUSTOMER_SIGNER, SALES, link_for, ready_proposal, settings_for

CALLBACK = "http://127.0.0.1:8502/sign/callback"
IP, AGENT = "198.51.100.7", "Mozilla/5.0 (eID test)"
CLAIMS = {"name": "Åse Berg", "birthdate": "1980-05-17", "socialno": "17058012345"}


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with run_server_in_thread(user_claims=[User(sub="ase-bankid", claims=CLAIMS)]) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def settings(tmp_path: Path, issuer: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("AVTALE_SMTP_HOST", "AVTALE_SMS_URL", "AVTALE_SECRET_KEY", "AVTALE_PORTAL_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AVTALE_OIDC_BANKID_SECRET", "test-client-secret")
    home = tmp_path / "home"
    home.mkdir()
    shipped = (Path(signing.__file__).parent.parent / "config" / "signing.yaml").read_text()
    (home / "signing.yaml").write_text(
        shipped.replace(
            "identity_providers: {}",
            "identity_providers:\n"
            "  bankid:\n"
            "    label: BankID (test broker)\n"
            f"    issuer: {issuer}\n"
            "    client_id: avtale-test\n"
            "    client_secret_env: AVTALE_OIDC_BANKID_SECRET\n",
        )
    )
    return settings_for(home)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    opened = database_at(f"sqlite:///{tmp_path / 'avtale.db'}")
    yield opened
    close_database(opened)


def provider_login(url: str) -> dict[str, str]:
    answer = httpx.post(url, data={"sub": "ase-bankid"}, follow_redirects=False)
    assert answer.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


def test_a_party_identified_by_the_broker_signs_with_its_identity_as_evidence(
    database: Database, settings: Settings
) -> None:
    assert signing.methods(settings) == {
        "email_code": "E-mail one-time code",
        "bankid": "BankID (test broker)",
    }
    number = ready_proposal(database, settings.paths)
    assert signing.send_for_signature(database, SALES, settings, number, "bankid").ok
    token, browser = link_for(settings.paths, CUSTOMER_SIGNER), secrets.token_urlsafe(32)
    view = signing.open_link(database, settings, token, browser, IP, AGENT)
    assert view.method_label == "BankID (test broker)" and not view.identified
    # No e-mail code for a party who must use the eID.
    with pytest.raises(Refused, match="BankID"):
        signing.request_code(database, settings, token, browser, IP, AGENT)
    url = identity.begin_identity(database, settings, token, browser, CALLBACK)
    back = provider_login(url)
    # The answer is bound to the browser that asked, and to its state.
    with pytest.raises(Refused, match="another browser"):
        identity.complete_identity(
            database, settings, token, secrets.token_urlsafe(32), back, IP, AGENT
        )
    with pytest.raises(Refused, match="state"):
        identity.complete_identity(
            database, settings, token, browser, back | {"state": "x"}, IP, AGENT
        )
    identity.complete_identity(database, settings, token, browser, back, IP, AGENT)
    signed = signing.sign(
        database, settings, token, browser, typed_name="Åse Berg", consent=True, ip=IP, agent=AGENT
    )
    assert signed.ok, signed.errors
    with session_scope(database.engine) as session:
        party = session.scalar(select(Signatory).where(Signatory.email == CUSTOMER_SIGNER))
        assert party is not None and party.identity is not None
        attributes = party.identity["attributes"]
    assert party.identity["label"] == "BankID (test broker)"
    assert attributes["subject"] == "ase-bankid" and attributes["birthdate"] == "1980-05-17"
    assert len(attributes["national_id_hash"]) == 64
    assert "17058012345" not in str(party.identity)
