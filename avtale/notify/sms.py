"""SMS: signing links to a signatory's mobile number (SPEC S1), and the two ways they leave.

Without ``AVTALE_SMS_URL`` every message is written to ``$AVTALE_HOME/sms-outbox/`` as
``<message-id>.json``; with it, messages are POSTed as JSON to that SMS provider. Environment:

``AVTALE_SMS_URL``       the provider's endpoint (https; http only to localhost); unset = outbox
``AVTALE_SMS_TOKEN``     sent as ``Authorization: Bearer <token>``, if the provider wants one
``AVTALE_SMS_SENDER``    the sender: a name of at most 11 letters and digits, or a number
                         such as ``+4722000000`` (default ``Avtale``)
``AVTALE_SMS_TIMEOUT_S`` seconds to wait for the provider (default 10)
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from avtale.settings import PRIVATE_FILE, Paths, private_dir

DEFAULT_SENDER = "Avtale"
DEFAULT_TIMEOUT_S = 10.0
MAX_TEXT = 612  # four concatenated segments of 153 GSM characters
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")

E164 = re.compile(r"\+[1-9]\d{6,14}")
SENDER_NAME = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9]{1,11}")
MESSAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # safe as a file name
TOKEN = re.compile(r"[\x21-\x7e]+")  # visible ASCII: nothing that could break a header
SEPARATORS = re.compile(r"[\s.()-]")

# Country -> (calling code, national prefix 0 dropped, national significant digits min, max).
COUNTRIES: dict[str, tuple[str, bool, int, int]] = {
    "NO": ("47", False, 8, 8),
    "DK": ("45", False, 8, 8),
    "IS": ("354", False, 7, 7),
    "SE": ("46", True, 7, 9),
    "FI": ("358", True, 5, 12),
    "DE": ("49", True, 6, 13),
    "NL": ("31", True, 9, 9),
}


class SmsConfigError(ValueError):
    """An SMS setting in the environment that cannot be used."""


class SmsNotSent(Exception):
    """The provider could not be reached, or refused the message."""


def normalise_phone(text: str, default_country: str = "NO") -> str:
    """``text`` as an E.164 number (``+4791234567``); a number without ``+`` or ``00`` is
    read as one of ``default_country``. Raises ValueError, saying why, for anything else."""
    compact = SEPARATORS.sub("", text.replace("(0)", ""))  # "+46 (0)70-123 45 67"
    if not re.fullmatch(r"\+?\d+", compact):
        raise ValueError(f"not a phone number: {text!r} (digits, spaces and + only)")
    if compact.startswith("+") or compact.startswith("00"):
        digits = compact.removeprefix("+") if compact.startswith("+") else compact[2:]
        for code, _, shortest, longest in COUNTRIES.values():
            if digits.startswith(code) and not shortest <= len(digits) - len(code) <= longest:
                raise ValueError(f"wrong number of digits for +{code}: {text!r}")
    else:
        country = default_country.strip().upper()
        if country not in COUNTRIES:
            raise ValueError(f"no calling code known for {country!r}: give {text!r} as +<code>")
        code, drops_zero, shortest, longest = COUNTRIES[country]
        national = compact[1:] if drops_zero and compact.startswith("0") else compact
        if not shortest <= len(national) <= longest:
            raise ValueError(f"not a phone number in {country}: {text!r} (wrong length)")
        digits = code + national
    if not E164.fullmatch("+" + digits):
        raise ValueError(f"not a phone number: {text!r} (7 to 15 digits, not from 0)")
    return "+" + digits


@dataclass(frozen=True)
class SmsSettings:
    outbox: Path
    url: str | None
    token: str | None = field(repr=False)  # never in a log line
    sender: str
    timeout: float

    def describe(self) -> str:
        return f"outbox {self.outbox}" if self.url is None else _provider(self.url)


def sms_settings(paths: Paths, environ: Mapping[str, str] | None = None) -> SmsSettings:
    """The settings of the environment (``os.environ`` unless given)."""
    env = os.environ if environ is None else environ
    url = (env.get("AVTALE_SMS_URL") or "").strip() or None
    if url is not None:
        _check_url(url)
    token = (env.get("AVTALE_SMS_TOKEN") or "").strip() or None
    if token is not None and not TOKEN.fullmatch(token):
        raise SmsConfigError("AVTALE_SMS_TOKEN must be visible ASCII characters only")
    sender = (env.get("AVTALE_SMS_SENDER") or "").strip() or DEFAULT_SENDER
    if sender.startswith("+"):
        try:
            sender = normalise_phone(sender)
        except ValueError as problem:
            raise SmsConfigError(f"AVTALE_SMS_SENDER: {problem}") from None
    elif not SENDER_NAME.fullmatch(sender):
        raise SmsConfigError(
            "AVTALE_SMS_SENDER must be at most 11 letters and digits (not only digits) "
            f"or a number such as +4722000000: {sender!r}"
        )
    timeout_text = (env.get("AVTALE_SMS_TIMEOUT_S") or "").strip()
    try:
        timeout = float(timeout_text) if timeout_text else DEFAULT_TIMEOUT_S
    except ValueError:
        timeout = math.nan
    if not (math.isfinite(timeout) and timeout > 0):
        raise SmsConfigError(f"AVTALE_SMS_TIMEOUT_S must be a positive number: {timeout_text!r}")
    return SmsSettings(paths.home / "sms-outbox", url, token, sender, timeout)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SmsConfigError("AVTALE_SMS_URL must be an https:// address")
    if parts.username or parts.password:
        raise SmsConfigError("AVTALE_SMS_URL must not hold a login: use AVTALE_SMS_TOKEN")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise SmsConfigError(
            f"AVTALE_SMS_URL must use https (http only to localhost): {parts.hostname}"
        )


def _provider(url: str) -> str:
    parts = urlsplit(url)
    return f"SMS provider {parts.hostname}" + (f":{parts.port}" if parts.port else "")


@dataclass(frozen=True)
class Sms:
    message_id: str  # the same id for the same message: sending it twice sends it once
    to: str  # E.164, as normalise_phone gives it
    text: str

    def __post_init__(self) -> None:
        if not MESSAGE_ID.fullmatch(self.message_id):
            raise ValueError(f"message id must be letters, digits, . _ -: {self.message_id!r}")
        if not E164.fullmatch(self.to):
            raise ValueError(f"not an E.164 number (use normalise_phone): {self.to!r}")
        if not self.text.strip():
            raise ValueError("an SMS needs a text")
        if len(self.text) > MAX_TEXT:
            raise ValueError(f"SMS text is {len(self.text)} characters; at most {MAX_TEXT}")


class SmsSender(Protocol):
    def send(self, sms: Sms) -> str:
        """Deliver ``sms``; return where it went. Raises SmsNotSent on failure."""
        ...

    def describe(self) -> str: ...


class OutboxSms:
    """Writes each message to ``<outbox>/<message-id>.json``, whole or not at all.

    The file is written aside and moved in with ``os.replace``, so it exists only complete;
    a message whose file exists was sent already and is not written again.
    """

    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings

    def describe(self) -> str:
        return f"outbox {self.settings.outbox}"

    def send(self, sms: Sms) -> str:
        folder = private_dir(self.settings.outbox)
        target = folder / f"{sms.message_id}.json"
        if target.exists():
            return f"{target} (there already)"
        record = {
            "to": sms.to,
            "from": self.settings.sender,
            "text": sms.text,
            "message_id": sms.message_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        aside = folder / f".{target.name}.{os.getpid()}.tmp"
        # A personal signing link: readable by the data folder's owner only.
        descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        with open(descriptor, "w", encoding="utf-8") as handle:
            json.dump(record, handle, ensure_ascii=False, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(aside, target)
        descriptor = os.open(folder, os.O_RDONLY)  # the rename is durable once this is
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        return str(target)


class HttpSms:
    """POSTs each message as JSON to the provider, with the message id as idempotency key;
    tries once more after a 5xx answer or a network failure, never after a 4xx."""

    def __init__(self, settings: SmsSettings, retry_pause: float = 1.0) -> None:
        if settings.url is None:
            raise SmsConfigError("HttpSms needs AVTALE_SMS_URL")
        self.settings = settings
        self.url = settings.url
        self.retry_pause = retry_pause

    def describe(self) -> str:
        return _provider(self.url)

    def send(self, sms: Sms) -> str:
        headers = {"Idempotency-Key": sms.message_id, "Accept": "application/json"}
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        body = {
            "to": sms.to,
            "from": self.settings.sender,
            "text": sms.text,
            "reference": sms.message_id,
        }
        with httpx.Client(timeout=self.settings.timeout, follow_redirects=False) as client:
            for attempt in (1, 2):
                try:
                    response = client.post(self.url, json=body, headers=headers)
                except httpx.TransportError as problem:
                    failure = f"{problem.__class__.__name__}: {self._scrub(str(problem))}"
                else:
                    if response.is_success:
                        return self._receipt(response)
                    status = response.status_code
                    failure = f"HTTP {status} {_phrase(status)}".rstrip()
                    if status < 500:
                        break
                if attempt == 1:
                    time.sleep(self.retry_pause)
        raise SmsNotSent(f"{self.describe()}: {failure}")

    def _receipt(self, response: httpx.Response) -> str:
        try:
            found = response.json().get("id")
        except (ValueError, AttributeError):
            found = None
        return self.describe() + (f": {found}" if isinstance(found, str | int) else "")

    def _scrub(self, text: str) -> str:
        token = self.settings.token
        return (text.replace(token, "***") if token else text)[:200]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def sms_sender(settings: SmsSettings) -> SmsSender:
    return OutboxSms(settings) if settings.url is None else HttpSms(settings)
