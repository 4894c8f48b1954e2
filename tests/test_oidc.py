"""OpenID Connect against a real provider on 127.0.0.1 (oidc-provider-mock: discovery,
JWKS, authorize and token endpoints, signing its ID tokens with its own key): the browser's
part is played with httpx, and what reaches the token endpoint is recorded on the way in
(the mock does not check PKCE itself). Tokens for the refusals the provider will not make
(expired, for another audience, signed with another key) are signed here and checked
against a JWKS we hand to ``validate_id_token`` or serve ourselves."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import oidc_provider_mock
import pytest
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server

from avtale.signing import oidc

REDIRECT = "https://avtale.example/sign/callback"
NATIONAL_ID = "17058012345"
CLAIMS = {
    "given_name": "Åse",
    "family_name": "Berg",
    "birthdate": "1980-05-17",
    "socialno": NATIONAL_ID,
    "email": "ase@fjordkraft.example",
}
SECRET = "s3cret:with%41+chars/="  # the provider must receive it unchanged


@dataclasses.dataclass
class Provider:
    issuer: str
    token_requests: list[dict[str, str]]


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    app = oidc_provider_mock.app(user_claims=[oidc_provider_mock.User(sub="ase", claims=CLAIMS)])
    seen: list[dict[str, str]] = []

    def recording(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"].endswith("/token"):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = BytesIO(body)
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            seen.append(form | {"authorization": environ.get("HTTP_AUTHORIZATION", "")})
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, recording, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield Provider(f"http://127.0.0.1:{server.server_port}", seen)
    server.shutdown()
    thread.join()


@pytest.fixture
def config(provider: Provider) -> oidc.OidcProviderConfig:
    return oidc.OidcProviderConfig(
        key="bankid",
        label="BankID (test broker)",
        issuer=provider.issuer,
        client_id="avtale-test",
        client_secret=SECRET,
        acr_values="urn:grn:authn:no:bankid:substantial",
    )


def hashed(value: str) -> str:
    return "h:" + hashlib.sha256(b"server-key" + value.encode()).hexdigest()


def challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def log_in(url: str, sub: str = "ase", action: str | None = None) -> dict[str, str]:
    """What the provider sends the browser back with, after ``sub`` logs in (or declines)."""
    form_page = httpx.get(url)
    assert form_page.status_code == 200 and 'value="ase"' in form_page.text  # the preset user
    form = {"sub": sub} | ({"action": action} if action else {})
    answer = httpx.post(url, data=form, follow_redirects=False)  # not on to REDIRECT
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return query_of(location)


def test_a_signatory_is_identified_with_a_hashed_national_id(
    provider: Provider, config: oidc.OidcProviderConfig
) -> None:
    url, pending = oidc.begin(config, REDIRECT)
    query = query_of(url)
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == challenge_of(pending.code_verifier)
    assert (query["state"], query["nonce"]) == (pending.state, pending.nonce)
    assert query["acr_values"] == config.acr_values and query["prompt"] == "login"
    assert SECRET not in url and pending.code_verifier not in url
    # Stored between the two requests as JSON, it comes back the same.
    pending = oidc.OidcPending.from_json(json.loads(json.dumps(pending.to_json())))

    identity = oidc.complete(config, pending, log_in(url), hash_national_id=hashed)

    assert (identity.subject, identity.name, identity.birthdate) == (
        "ase",
        "Åse Berg",
        "1980-05-17",
    )
    assert identity.national_id_hash == hashed(NATIONAL_ID) != NATIONAL_ID
    assert identity.issuer == provider.issuer
    attributes = identity.attributes()
    assert attributes["provider"] == "BankID (test broker)" and None not in attributes.values()
    assert NATIONAL_ID not in json.dumps(attributes)
    # What the token endpoint got: the PKCE verifier, the redirect, the secret as Basic auth.
    sent = provider.token_requests[-1]
    assert challenge_of(sent["code_verifier"]) == query["code_challenge"]
    assert sent["redirect_uri"] == REDIRECT and "client_secret" not in sent
    headers = {"Authorization": sent["authorization"]}
    assert extract_basic_authorization(headers) == ("avtale-test", SECRET)


def test_a_wrong_state_nonce_issuer_or_a_refusal_is_refused(
    config: oidc.OidcProviderConfig,
) -> None:
    def refused(pending: oidc.OidcPending, back: dict[str, str], reason: str) -> None:
        with pytest.raises(oidc.OidcError, match=reason) as caught:
            oidc.complete(config, pending, back, hash_national_id=hashed)
        assert back.get("code", "no code") not in str(caught.value)

    url, pending = oidc.begin(config, REDIRECT)
    back = log_in(url)
    refused(pending, back | {"state": "forged"}, r"another request \(state\)")
    refused(pending, back | {"state": "førfalsket"}, r"another request \(state\)")
    refused(pending, back | {"iss": "https://evil.example"}, r"another identity provider")
    refused(dataclasses.replace(pending, nonce="another"), back, "nonce")

    url, pending = oidc.begin(config, REDIRECT)
    denied = log_in(url, action="deny")
    assert denied["error"] == "access_denied"
    refused(pending, denied | {"error_description": "<b>Nope</b>"}, r"refused: access_denied$")

    url, pending = oidc.begin(config, REDIRECT, now=datetime.now(UTC) - timedelta(hours=1))
    refused(pending, log_in(url), "too long")


@contextmanager
def json_server(answer: Callable[[str], dict[str, Any]]) -> Iterator[tuple[str, list[str]]]:
    """A small HTTP server on 127.0.0.1 answering each GET with ``answer(path)``."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            hits.append(self.path)
            body = json.dumps(answer(self.path)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", hits
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_a_discovery_document_naming_another_issuer_is_refused() -> None:
    lie = {"issuer": "https://evil.example", "authorization_endpoint": "https://evil.example/a"}
    with json_server(lambda path: lie) as (url, _):
        lying = oidc.OidcProviderConfig(
            key="x", label="x", issuer=url, client_id="c", client_secret="s"
        )
        with pytest.raises(oidc.OidcError, match="another issuer"):
            oidc.discover(lying)


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


def jwk(key: rsa.RSAPrivateKey = KEY, kid: str = "k1") -> dict[str, Any]:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return public | {"kid": kid, "alg": "RS256", "use": "sig"}


def token(key: Any = KEY, alg: str = "RS256", kid: str = "k1", **changes: Any) -> str:
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": "https://broker.example", "aud": "avtale", "sub": "s", "iat": now}
    claims |= {"exp": now + 300, "nonce": "n"} | changes
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def check(text: str, metadata: oidc.ProviderMetadata = METADATA) -> dict[str, Any]:
    keys = {"keys": [jwk()]}
    return oidc.validate_id_token(text, metadata=metadata, config=CONFIG, nonce="n", jwks=keys)


def test_a_well_made_token_passes() -> None:
    assert check(token())["sub"] == "s"
    assert check(token(aud=["avtale", "api"], azp="avtale"))["azp"] == "avtale"
    assert check(token(exp=int(datetime.now(UTC).timestamp()) - 30))  # within the leeway


def now() -> int:
    # At the call, not at collection: the whole suite runs for minutes before this test.
    return int(datetime.now(UTC).timestamp())


@pytest.mark.parametrize(
    ("made", "reason"),
    [
        (lambda: token(exp=now() - 600), "has expired"),
        (lambda: token(iat=now() + 600), "not valid yet"),
        (lambda: token(exp="tomorrow"), "times are not numbers"),
        (lambda: token(aud="someone-else"), r"another application \(audience\)"),
        (lambda: token(aud=["avtale", "api"]), r"another application \(azp\)"),
        (lambda: token(azp="someone-else"), r"another application \(azp\)"),
        (lambda: token(iss="https://evil.example"), "another issuer"),
        (lambda: token(key=OTHER), "signature does not verify"),
        (lambda: token(kid="k9"), "not among the provider's keys"),
        (lambda: token(nonce="replayed"), "nonce"),
        (lambda: token(nonce="ø"), "nonce"),
        (lambda: token(sub=None), "lacks a claim"),
        (lambda: token(alg="PS256"), "provider does not use"),
        (lambda: token(key="a-shared-secret-of-32-bytes-long", alg="HS256"), "public-key"),
        (lambda: jwt.encode({"sub": "s"}, "", algorithm="none"), "public-key"),
        (lambda: "not.a.token", "not a signed token"),
    ],
)
def test_a_bad_token_is_refused_with_the_reason(made: Callable[[], str], reason: str) -> None:
    with pytest.raises(oidc.OidcError, match=reason):
        check(made())


def test_the_key_set_is_fetched_once_and_again_when_a_key_is_new() -> None:
    keys = [jwk()]
    with json_server(lambda path: {"keys": keys}) as (url, hits):
        metadata = dataclasses.replace(METADATA, jwks_uri=url + "/jwks")

        def check_at_provider(text: str) -> None:
            oidc.validate_id_token(text, metadata=metadata, config=CONFIG, nonce="n")

        check_at_provider(token())
        check_at_provider(token())
        assert len(hits) == 1
        keys.append(jwk(OTHER, "k2"))  # the provider rotates its keys
        check_at_provider(token(key=OTHER, kid="k2"))
        assert len(hits) == 2
        with pytest.raises(oidc.OidcError, match="not among"):
            check_at_provider(token(kid="k3"))
        assert len(hits) == 3  # one more look, then refused
