"""The secrets behind links without an account: tokens, codes, browser sessions.

A token is 256 random bits in the link; the database keeps only its HMAC-SHA256 under the
data folder's secret key, so neither a copy of the database nor a guessed row id gives a
working link, and a link works only with the server that made it. Lookups go by that
keyed hash (a unique index) and every comparison of secrets is constant-time.

The key: ``$AVTALE_SECRET_KEY`` (at least 32 characters) or, by default,
``$AVTALE_HOME/secret.key``, made once with 32 random bytes and readable by the data
folder's owner only. Changing it voids every link and code out there.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping

from avtale.settings import PRIVATE_FILE, Paths, private_dir

SECRET_ENV = "AVTALE_SECRET_KEY"
TOKEN_BYTES = 32  # 256 bits; the issue asks for at least 128
CODE_DIGITS = 6


class SecretKeyError(ValueError):
    """The configured secret key cannot be used."""


def secret_key(paths: Paths, environ: Mapping[str, str] | None = None) -> bytes:
    """The data folder's secret key (made on first use when no variable names one)."""
    env = os.environ if environ is None else environ
    configured = env.get(SECRET_ENV)
    if configured is not None:
        if len(configured) < 32:
            raise SecretKeyError(f"{SECRET_ENV} must be at least 32 characters")
        return configured.encode()
    path = paths.home / "secret.key"
    if not path.exists():
        private_dir(paths.home)
        try:  # O_EXCL: of two processes making it at once, one wins and both read its key
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        except FileExistsError:
            pass
        else:
            with open(descriptor, "wb") as handle:
                handle.write(secrets.token_bytes(32))
    key = path.read_bytes()
    if len(key) < 32:
        raise SecretKeyError(f"{path} holds fewer than 32 bytes; remove it to make a new one")
    return key


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def digest(key: bytes, purpose: str, value: str) -> str:
    """The keyed hash kept instead of ``value``; ``purpose`` keeps a code from ever
    matching a token or a session with the same text."""
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def matches(key: bytes, purpose: str, value: str, stored: str | None) -> bool:
    return stored is not None and hmac.compare_digest(digest(key, purpose, value), stored)
