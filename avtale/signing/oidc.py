"""OpenID Connect for Nordic eID brokers (Criipto/Idura, Signicat: MitID, BankID NO/SE,
FTN) as a relying party: the authorization-code flow with PKCE (S256), state and nonce,
and a checked ID token (signature by the provider's JWKS, issuer, audience, times, nonce).

Pure: no database and no web framework. ``begin`` gives the address to send the browser
to and what to keep until it comes back (``OidcPending``, stored server-side by the
caller); ``complete`` takes the query the browser came back with and returns who it was
(``Identity``). The broker's own identifier of a person (a CPR number, a Norwegian or
Swedish national identity number) is never kept: the caller's keyed hash of it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import jwt

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
KEY_TYPE = {"RS": "RSA", "PS": "RSA", "ES": "EC"}  # by the algorithm's first two letters
# The claim each broker puts the national identity number in, first match wins.
NATIONAL_ID_CLAIMS = (
    "cprNumberIdentifier",  # Criipto, Danish MitID
    "socialno",  # Criipto, Norwegian BankID
    "ssn",  # Criipto, Swedish BankID
    "hetu",  # Finnish Trust Network
    "personal_identity_code",
    "nin",  # Signicat
    "national_id",
)
CACHE_TTL_S = 3600  # discovery documents and key sets


class OidcError(Exception):
    """The identification failed; the message says why, without any token in it."""


@dataclass(frozen=True)
class OidcProviderConfig:
    key: str
    label: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = ("openid", "profile")
    acr_values: str | None = None
    timeout_s: float = 10.0


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    id_token_signing_alg_values_supported: tuple[str, ...] = ("RS256",)
    token_endpoint_auth_methods: tuple[str, ...] = ("client_secret_basic",)


@dataclass(frozen=True)
class OidcPending:
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    provider: str
    created_at: datetime

    def to_json(self) -> dict[str, str]:
        return {**asdict(self), "created_at": self.created_at.isoformat()}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> OidcPending:
        return cls(
            state=data["state"],
            nonce=data["nonce"],
            code_verifier=data["code_verifier"],
            redirect_uri=data["redirect_uri"],
            provider=data["provider"],
            created_at=datetime.fromisoformat(data["created_at"]),
        )


@dataclass(frozen=True)
class Identity:
    provider: str
    issuer: str
    subject: str
    name: str | None
    birthdate: str | None
    national_id_hash: str | None
    acr: str | None
    authenticated_at: datetime | None

    def attributes(self) -> dict[str, str]:
        """What the audit page prints: no empty values, times in ISO form."""
        values = asdict(self) | {
            "authenticated_at": self.authenticated_at.isoformat() if self.authenticated_at else None
        }
        return {key: str(value) for key, value in values.items() if value}


_metadata: dict[str, tuple[float, ProviderMetadata]] = {}
_jwks: dict[str, tuple[float, dict[str, Any]]] = {}


def _same(a: object, b: str) -> bool:
    """Constant-time equality that also takes non-ASCII text (``compare_digest`` on str
    refuses it with a TypeError)."""
    return hmac.compare_digest(str(a or "").encode(), b.encode())


def _same_issuer(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def _check_transport(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "https" and parts.hostname not in ("localhost", "127.0.0.1"):
        raise OidcError(f"the identity provider must be reached over https, not {url[:60]}")


def _get_json(url: str, timeout: float) -> dict[str, Any]:
    _check_transport(url)
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=False)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as problem:
        raise OidcError(
            f"the identity provider did not answer ({problem.__class__.__name__})"
        ) from None
    if not isinstance(data, dict):
        raise OidcError("the identity provider answered with something else than JSON")
    return data


def _strings(data: Mapping[str, Any], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = data.get(name)
    return tuple(str(v) for v in value) if isinstance(value, list) and value else default


def discover(config: OidcProviderConfig) -> ProviderMetadata:
    """The provider's endpoints from its discovery document (cached for an hour)."""
    cached = _metadata.get(config.issuer)
    if cached and time.monotonic() - cached[0] < CACHE_TTL_S:
        return cached[1]
    data = _get_json(
        config.issuer.rstrip("/") + "/.well-known/openid-configuration", config.timeout_s
    )
    if not _same_issuer(str(data.get("issuer", "")), config.issuer):
        raise OidcError("the identity provider's discovery document names another issuer")
    try:
        metadata = ProviderMetadata(
            issuer=str(data["issuer"]),
            authorization_endpoint=str(data["authorization_endpoint"]),
            token_endpoint=str(data["token_endpoint"]),
            jwks_uri=str(data["jwks_uri"]),
            id_token_signing_alg_values_supported=_strings(
                data, "id_token_signing_alg_values_supported", ("RS256",)
            ),
            token_endpoint_auth_methods=_strings(
                data, "token_endpoint_auth_methods_supported", ("client_secret_basic",)
            ),
        )
    except KeyError as missing:
        raise OidcError(f"the identity provider's discovery document has no {missing}") from None
    for url in (metadata.authorization_endpoint, metadata.token_endpoint, metadata.jwks_uri):
        _check_transport(url)
    _metadata[config.issuer] = (time.monotonic(), metadata)
    return metadata


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def begin(
    config: OidcProviderConfig, redirect_uri: str, *, now: datetime | None = None
) -> tuple[str, OidcPending]:
    """The provider's address to send the browser to, and what to keep until it is back.
    Always ``prompt=login``: a signature needs the person now, not a lingering session."""
    metadata = discover(config)
    pending = OidcPending(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(48),  # 64 characters
        redirect_uri=redirect_uri,
        provider=config.key,
        created_at=now or datetime.now(UTC),
    )
    query = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(config.scopes),
        "state": pending.state,
        "nonce": pending.nonce,
        "code_challenge": _challenge(pending.code_verifier),
        "code_challenge_method": "S256",
        "prompt": "login",
    }
    if config.acr_values:
        query["acr_values"] = config.acr_values
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    return metadata.authorization_endpoint + separator + urlencode(query), pending


def _basic_auth(client_id: str, client_secret: str) -> str:
    """``client_secret_basic``: both parts form-encoded before base64 (RFC 6749 2.3.1), so
    a secret with ``:``, ``%`` or ``+`` in it reaches the provider unchanged."""
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def complete(
    config: OidcProviderConfig,
    pending: OidcPending,
    params: Mapping[str, str],
    *,
    hash_national_id: Callable[[str], str],
    now: Callable[[], datetime] | None = None,
    max_age_s: int = 900,
) -> Identity:
    """Who came back from the provider: the code exchanged (with the PKCE verifier) and
    the ID token checked. Raises ``OidcError`` with the reason."""
    clock = now or (lambda: datetime.now(UTC))
    if params.get("error"):  # the code only: the description is the provider's free text
        reason = re.sub(r"[^A-Za-z0-9_.-]", "", str(params["error"]))[:40] or "unknown"
        raise OidcError(f"the identity provider refused: {reason}")
    if not _same(params.get("state"), pending.state):
        raise OidcError("the sign-in came back for another request (state)")
    if (clock() - pending.created_at).total_seconds() > max_age_s:
        raise OidcError("the sign-in took too long; start again")
    code = params.get("code")
    if not code:
        raise OidcError("the identity provider sent no authorization code")
    metadata = discover(config)
    if params.get("iss") and not _same_issuer(str(params["iss"]), metadata.issuer):  # RFC 9207
        raise OidcError("the sign-in came back from another identity provider (iss)")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": pending.redirect_uri,
        "code_verifier": pending.code_verifier,
    }
    headers = {"Accept": "application/json"}
    methods = metadata.token_endpoint_auth_methods
    if "client_secret_basic" not in methods and "client_secret_post" in methods:
        form |= {"client_id": config.client_id, "client_secret": config.client_secret}
    else:
        headers["Authorization"] = _basic_auth(config.client_id, config.client_secret)
    try:
        response = httpx.post(
            metadata.token_endpoint, data=form, headers=headers, timeout=config.timeout_s
        )
    except httpx.HTTPError as problem:
        raise OidcError(
            f"the identity provider did not answer ({problem.__class__.__name__})"
        ) from None
    if response.status_code != 200:
        raise OidcError(f"the identity provider refused the code (HTTP {response.status_code})")
    try:
        token = str(response.json()["id_token"])
    except (ValueError, KeyError, TypeError):
        raise OidcError("the identity provider sent no identity token") from None
    claims = validate_id_token(
        token, metadata=metadata, config=config, nonce=pending.nonce, now=clock()
    )
    return _identity(config, claims, hash_national_id)


def _jwks_for(uri: str, timeout: float, *, refresh: bool = False) -> dict[str, Any]:
    cached = _jwks.get(uri)
    if refresh or not cached or time.monotonic() - cached[0] >= CACHE_TTL_S:
        cached = (time.monotonic(), _get_json(uri, timeout))
        _jwks[uri] = cached
    return cached[1]


def _key_for(header: Mapping[str, Any], jwks: Mapping[str, Any]) -> Any:
    """The signing key the token's header names (by kid, key type and algorithm), or None."""
    alg, kid = header["alg"], header.get("kid")
    keys = jwks.get("keys")
    for jwk in keys if isinstance(keys, list) else []:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        if (kid and jwk.get("kid") != kid) or jwk.get("kty") != KEY_TYPE[alg[:2]]:
            continue
        if jwk.get("alg", alg) == alg:
            return jwt.PyJWK(jwk, alg).key
    return None


def _check_times(claims: Mapping[str, Any], at: float, leeway_s: float) -> None:
    times = [claims.get("exp"), claims.get("iat"), claims.get("nbf", 0)]
    if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in times):
        raise OidcError("the identity token's times are not numbers")
    exp, iat, nbf = times
    if exp <= at - leeway_s:
        raise OidcError("the identity token has expired")
    if max(iat, nbf) > at + leeway_s:
        raise OidcError("the identity token is not valid yet (issued in the future)")


def validate_id_token(
    token: str,
    *,
    metadata: ProviderMetadata,
    config: OidcProviderConfig,
    nonce: str,
    jwks: dict[str, Any] | None = None,
    now: datetime | None = None,
    leeway_s: int = 60,
) -> dict[str, Any]:
    """The ID token's claims once its signature, issuer, audience, times and nonce hold.
    ``jwks`` replaces the provider's key set (fetched from ``jwks_uri`` otherwise)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise OidcError("the identity token is not a signed token") from None
    alg = header.get("alg")
    if alg not in ASYMMETRIC:
        raise OidcError("the identity token is not signed with a public-key algorithm")
    if alg not in metadata.id_token_signing_alg_values_supported:
        raise OidcError(f"the identity token is signed with {alg}, which the provider does not use")
    try:
        keys = jwks if jwks is not None else _jwks_for(metadata.jwks_uri, config.timeout_s)
        key = _key_for(header, keys)
        if key is None and jwks is None:  # the provider may have rotated its keys
            key = _key_for(header, _jwks_for(metadata.jwks_uri, config.timeout_s, refresh=True))
        if key is None:
            raise OidcError("the identity token's key is not among the provider's keys")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=config.client_id,
            issuer=metadata.issuer,
            # Times are checked below against ``now``; pyjwt knows only the wall clock.
            options={
                "require": ["iss", "aud", "exp", "iat", "sub"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except OidcError:
        raise
    except jwt.InvalidAudienceError:
        raise OidcError("the identity token is for another application (audience)") from None
    except jwt.MissingRequiredClaimError as problem:
        raise OidcError(f"the identity token lacks a claim: {problem.claim}") from None
    except jwt.InvalidIssuerError:
        raise OidcError("the identity token is from another issuer") from None
    except jwt.InvalidSignatureError:
        raise OidcError("the identity token's signature does not verify") from None
    except (jwt.PyJWTError, ValueError) as problem:
        raise OidcError(f"the identity token is not valid ({problem.__class__.__name__})") from None
    _check_times(claims, (now or datetime.now(UTC)).timestamp(), leeway_s)
    audience, azp = claims["aud"], claims.get("azp")
    if (isinstance(audience, list) and len(audience) > 1 and azp is None) or (
        azp is not None and azp != config.client_id
    ):
        raise OidcError("the identity token is for another application (azp)")
    if not _same(claims.get("nonce"), nonce):
        raise OidcError("the identity token answers another sign-in (nonce)")
    return claims


def _identity(
    config: OidcProviderConfig, claims: Mapping[str, Any], hash_national_id: Callable[[str], str]
) -> Identity:
    name = claims.get("name") or " ".join(
        str(part) for part in (claims.get("given_name"), claims.get("family_name")) if part
    )
    national = next((str(claims[c]) for c in NATIONAL_ID_CLAIMS if claims.get(c)), None)
    auth_time = claims.get("auth_time")
    return Identity(
        provider=config.label,
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        name=str(name) if name else None,
        birthdate=str(claims.get("birthdate") or claims.get("dateofbirth") or "") or None,
        national_id_hash=hash_national_id(national) if national else None,
        acr=str(claims["acr"]) if claims.get("acr") else None,
        authenticated_at=datetime.fromtimestamp(auth_time, UTC)
        if isinstance(auth_time, int | float) and not isinstance(auth_time, bool)
        else None,
    )
