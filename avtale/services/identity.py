"""Identifying a signatory with a Nordic eID through an OpenID Connect broker (SPEC S4):
the public page sends the browser to the provider (authorization code with PKCE, state and
nonce kept on the signatory, bound to the browser that asked), and on its way back the
code is exchanged and the ID token checked (``avtale.signing.oidc``) outside any
transaction; then who it was (name, birth date, a keyed hash of the national id, the
provider) is recorded as the party's identity, the evidence the audit page prints."""

from __future__ import annotations

import os
from collections.abc import Mapping

from sqlalchemy.orm import Session

from avtale.repository import signing
from avtale.repository.signing import Refused
from avtale.services.database import Database
from avtale.services.signing import now, public_step
from avtale.services.unit_of_work import Outcome, reading
from avtale.settings import Settings
from avtale.signing import oidc
from avtale.signing.tokens import digest, secret_key


def begin_identity(
    db: Database, settings: Settings, token: str, browser: str, redirect_uri: str
) -> str:
    """Where to send the browser to identify with the party's identity provider."""
    key = secret_key(settings.paths)

    def work(session: Session) -> Outcome:
        signatory = signing.signatory_for(session, key, token, now())
        config = provider_config(settings, signatory.method)
        signing.same_browser(signatory, key, browser)
        url, pending = oidc.begin(config, redirect_uri)
        signatory.pending_login = {"oidc": pending.to_json()}
        return Outcome(detail={"url": url})

    return public_step(db, work).detail["url"]


def complete_identity(
    db: Database,
    settings: Settings,
    token: str,
    browser: str,
    params: Mapping[str, str],
    ip: str | None,
    agent: str | None,
) -> None:
    """The identity provider sent the browser back: check and record who it is."""
    key = secret_key(settings.paths)
    with reading(db) as session:
        signatory = signing.signatory_for(session, key, token, now(), touch=False)
        signing.same_browser(signatory, key, browser)
        config = provider_config(settings, signatory.method)
        if not signatory.pending_login or "oidc" not in signatory.pending_login:
            raise Refused("Start the identification again.")
        pending = oidc.OidcPending.from_json(signatory.pending_login["oidc"])
    try:  # the provider's token endpoint is called outside any transaction
        identity = oidc.complete(
            config, pending, params, hash_national_id=lambda v: digest(key, "national-id", v)
        )
    except oidc.OidcError as problem:
        raise Refused(f"Identification failed: {problem}") from None

    def work(session: Session) -> Outcome:
        signatory = signing.signatory_for(session, key, token, now())
        signing.same_browser(signatory, key, browser)
        record = {"method": signatory.method, "label": config.label}
        signing.identify(
            signatory, record | {"attributes": identity.attributes()}, now(), ip, agent
        )
        return Outcome()

    public_step(db, work)


def provider_config(settings: Settings, key: str) -> oidc.OidcProviderConfig:
    provider = settings.signing.provider(key)
    if provider is None:
        raise Refused("This agreement asks for an identity provider that is not set up.")
    secret = os.environ.get(provider.client_secret_env)
    if not secret:
        raise Refused("The identity provider is not set up on this server (no client secret).")
    return oidc.OidcProviderConfig(
        key=provider.key,
        label=provider.label,
        issuer=provider.issuer,
        client_id=provider.client_id,
        client_secret=secret,
        acr_values=provider.acr_values,
    )
