"""OpenID Connect against a real provider on localhost (oidc-provider-mock: discovery,
JWKS, authorize and token endpoints, signing its ID tokens with its own key): the browser's
part is played with httpx. Tokens for the refusals the provider will not make (expired, for
another audience, signed with another key) are signed here and checked against a JWKS we
serve to ``validate_id_token``."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from oidc_provider_mock import User, run_server_in_thread

from avtale.signing import oidc

REDIRECT = "https://avtale.example/sign/callback"
CLAIMS = {
    "name": "Åse Berg",
    "birthdate": "1980-05-17",
    "socialno": "17058012345",
    "email": "ase@fjordkraft.example",
}


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with run_server_in_thread(user_claims=[User(sub="ase", claims=CLAIMS)]) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def config(issuer: str) -> oidc.OidcProviderConfig:
    return oidc.OidcProviderConfig(
        key="bankid",
        label="BankID (test broker)",
        issuer=issuer,
        client_id="avtale-test",
        client_secret="s3cret-for-tests",
    )


def hashed(value: str) -> str:
    return "h:" + hashlib.sha256(value.encode()).hexdigest()


def log_in(url: str, sub: str = "ase", action: str | None = None) -> dict[str, str]:
    """What the provider sends the browser back with, after ``sub`` logs in."""
    assert httpx.get(url).status_code == 200  # the provider's login form
    form = {"sub": sub} | ({"action": action} if action else {})
    answer = httpx.post(url, data=form, follow_redirects=False)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_a_signatory_is_identified_with_a_hashed_national_id(
    config: oidc.OidcProviderConfig,
) -> None:
    url, pending = oidc.begin(config, REDIRECT)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["code_challenge_method"] == "S256"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(pending.code_verifier.encode()).digest())
    assert query["code_challenge"] == challenge.rstrip(b"=").decode()
    assert query["state"] == pending.state and query["nonce"] == pending.nonce
    assert config.client_secret not in url and pending.code_verifier not in url
    back = log_in(url)
    identity = oidc.complete(config, pending, back, hash_national_id=hashed)
    assert (identity.subject, identity.name, identity.birthdate) == (
        "ase",
        "Åse Berg",
        "1980-05-17",
    )
    assert identity.national_id_hash == hashed("17058012345")
    assert "17058012345" not in str(identity.attributes())
    assert identity.attributes()["provider"] == "BankID (test broker)"
    # Stored between the two requests as JSON, it comes back the same.
    assert oidc.OidcPending.from_json(pending.to_json()) == pending


def test_a_wrong_state_nonce_or_a_refusal_is_refused(config: oidc.OidcProviderConfig) -> None:
    url, pending = oidc.begin(config, REDIRECT)
    back = log_in(url)
    with pytest.raises(oidc.OidcError, match="state"):
        oidc.complete(config, pending, back | {"state": "forged"}, hash_national_id=hashed)
    other = oidc.OidcPending(
        **{**pending.to_json(), "nonce": "another", "created_at": pending.created_at}
    )  # type: ignore[arg-type]
    with pytest.raises(oidc.OidcError, match="nonce"):
        oidc.complete(config, other, back, hash_national_id=hashed)
    url, pending = oidc.begin(config, REDIRECT)
    denied = log_in(url, action="deny")
    assert denied["error"] == "access_denied"
    with pytest.raises(oidc.OidcError, match="refused: access_denied"):
        oidc.complete(config, pending, denied, hash_national_id=hashed)
    url, pending = oidc.begin(config, REDIRECT, now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(oidc.OidcError, match="too long"):
        oidc.complete(config, pending, log_in(url), hash_national_id=hashed)


def test_a_discovery_document_naming_another_issuer_is_refused() -> None:
    class Lying(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = json.dumps({"issuer": "https://evil.example", "jwks_uri": "x"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Lying)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        lying = oidc.OidcProviderConfig(
            key="x",
            label="x",
            issuer=f"http://127.0.0.1:{server.server_port}",
            client_id="c",
            client_secret="s",
        )
        with pytest.raises(oidc.OidcError, match="another issuer"):
            oidc.discover(lying)
    finally:
        server.shutdown()
        thread.join()


def test_an_identity_provider_is_reached_over_https_only() -> None:
    plain = oidc.OidcProviderConfig(
        key="x", label="x", issuer="http://broker.example", client_id="c", client_secret="s"
    )
    with pytest.raises(oidc.OidcError, match="https"):
        oidc.discover(plain)


# --- tokens the provider would not make ----------------------------------------------

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
METADATA = oidc.ProviderMetadata(
    issuer="https://broker.example", authorization_endpoint="", token_endpoint="", jwks_uri=""
)
CONFIG = oidc.OidcProviderConfig(
    key="mitid",
    label="MitID",
    issuer="https://broker.example",
    client_id="avtale",
    client_secret="s",
)


def jwks() -> dict[str, object]:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True)
    return {"keys": [public | {"kid": "k1", "alg": "RS256", "use": "sig"}]}


def token(key: object = KEY, alg: str = "RS256", **changes: object) -> str:
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": "https://broker.example", "aud": "avtale", "sub": "s", "iat": now}
    claims |= {"exp": now + 300, "nonce": "n"} | changes
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": "k1"})  # type: ignore[arg-type]


def check(text: str) -> dict[str, object]:
    return oidc.validate_id_token(text, metadata=METADATA, config=CONFIG, nonce="n", jwks=jwks())


def test_a_well_made_token_passes() -> None:
    assert check(token())["sub"] == "s"


@pytest.mark.parametrize(
    ("made", "reason"),
    [
        (lambda: token(exp=int(datetime.now(UTC).timestamp()) - 600), "expired"),
        (lambda: token(aud="someone-else"), "another application"),
        (lambda: token(iss="https://evil.example"), "another issuer"),
        (lambda: token(key=OTHER), "signature does not verify"),
        (lambda: token(nonce="replayed"), "nonce"),
        (lambda: token(key="a-shared-secret-of-32-bytes-long", alg="HS256"), "public-key"),
        (lambda: jwt.encode({"sub": "s"}, None, algorithm="none"), "public-key"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_token_is_refused_with_the_reason(made, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(oidc.OidcError, match=reason):
        check(made())
