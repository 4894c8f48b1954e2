"""Mail: the message of a reminder, and the two ways it leaves (SPEC "embedded defaults").

Without ``AVTALE_SMTP_HOST`` every message is written to ``$AVTALE_HOME/outbox/`` as
``<message-id>.eml`` (a local outbox anyone can open in a mail client); with it, messages
go to that SMTP server with the configured TLS and login. Environment:

``AVTALE_SMTP_HOST``     SMTP server; unset = the outbox
``AVTALE_SMTP_PORT``     default 587 (starttls), 465 (ssl), 25 (none)
``AVTALE_SMTP_TLS``      ``starttls`` (default), ``ssl`` or ``none``
``AVTALE_SMTP_USER``     login, if the server asks for one
``AVTALE_SMTP_PASSWORD`` its password
``AVTALE_MAIL_FROM``     the sender (default ``avtale@localhost``)
``AVTALE_APP_URL``       the app's address, for links (default ``http://127.0.0.1:8501``)
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Literal, Protocol, cast

from avtale.settings import PRIVATE_FILE, Paths, private_dir

TLS_MODES = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
DEFAULT_SENDER = "avtale@localhost"
DEFAULT_APP_URL = "http://127.0.0.1:8501"
# A Message-ID as reminders.message_id makes it: safe as a file name as it stands.
MESSAGE_ID = re.compile(r"<([a-z0-9.-]+@[a-z0-9.-]+)>")

TlsMode = Literal["none", "starttls", "ssl"]


class MailConfigError(ValueError):
    """A mail setting in the environment that cannot be used."""


class MailServerUnavailable(Exception):
    """The SMTP server could not be reached, or refused the connection, TLS or login: no
    message can go now, so a run stops rather than try each one."""


@dataclass(frozen=True)
class MailSettings:
    outbox: Path
    host: str | None = None
    port: int = 587
    tls: TlsMode = "starttls"
    user: str | None = None
    password: str | None = None
    sender: str = DEFAULT_SENDER
    app_url: str = DEFAULT_APP_URL
    timeout: float = 30.0

    @property
    def uses_outbox(self) -> bool:
        return not self.host

    def describe(self) -> str:
        if self.uses_outbox:
            return f"outbox {self.outbox}"
        return f"SMTP {self.host}:{self.port} ({self.tls})"


def outbox_dir(paths: Paths) -> Path:
    return paths.home / "outbox"


def mail_settings(paths: Paths, environ: Mapping[str, str] | None = None) -> MailSettings:
    """The settings of the environment (``os.environ`` unless given)."""
    env = os.environ if environ is None else environ
    tls = (env.get("AVTALE_SMTP_TLS") or "starttls").strip().lower()
    if tls not in TLS_MODES:
        raise MailConfigError(f"AVTALE_SMTP_TLS must be one of {', '.join(TLS_MODES)}: {tls!r}")
    port_text = (env.get("AVTALE_SMTP_PORT") or "").strip()
    try:
        port = int(port_text) if port_text else DEFAULT_PORTS[tls]
    except ValueError:
        raise MailConfigError(f"AVTALE_SMTP_PORT must be a number: {port_text!r}") from None
    return MailSettings(
        outbox=outbox_dir(paths),
        host=(env.get("AVTALE_SMTP_HOST") or "").strip() or None,
        port=port,
        tls=cast(TlsMode, tls),
        user=env.get("AVTALE_SMTP_USER") or None,
        password=env.get("AVTALE_SMTP_PASSWORD") or None,
        sender=(env.get("AVTALE_MAIL_FROM") or "").strip() or DEFAULT_SENDER,
        app_url=(env.get("AVTALE_APP_URL") or "").strip().rstrip("/") or DEFAULT_APP_URL,
    )


def build_message(
    *,
    message_id: str,
    subject: str,
    body: str,
    to: str,
    sender: str,
    link: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """Plain text with a simple HTML alternative; everything in the HTML is escaped."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id
    # RFC 3834: no out-of-office replies to a machine, please.
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        message[name] = value
    text = body.rstrip() + (f"\n\nOpen it in Avtale: {link}\n" if link else "\n")
    message.set_content(text)
    paragraphs = "".join(
        "<p>" + html.escape(part).replace("\n", "<br>\n") + "</p>\n"
        for part in body.strip().split("\n\n")
    )
    if link:
        paragraphs += f'<p><a href="{html.escape(link)}">Open it in Avtale</a></p>\n'
    message.add_alternative(
        '<!doctype html>\n<html><body style="font-family: sans-serif; line-height: 1.4">\n'
        f"{paragraphs}</body></html>\n",
        subtype="html",
    )
    return message


class Mailer(Protocol):
    settings: MailSettings

    def send(self, message: EmailMessage) -> str:
        """Deliver ``message``; return where it went. Raises on failure."""
        ...

    def close(self) -> None: ...


def _file_name(message: EmailMessage) -> str:
    found = MESSAGE_ID.fullmatch(str(message["Message-ID"] or ""))
    if found is None:
        raise ValueError(f"not a Message-ID made by Avtale: {message['Message-ID']!r}")
    return found.group(1) + ".eml"


class OutboxMailer:
    """Writes each message to ``<outbox>/<message-id>.eml``, whole or not at all.

    The file is written aside and moved in with ``os.replace``, so it exists only complete;
    a message whose file exists was sent already and is not written again.
    """

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage) -> str:
        folder = private_dir(self.settings.outbox)
        target = folder / _file_name(message)
        if target.exists():
            return f"{target} (there already)"
        aside = folder / f".{target.name}.{os.getpid()}.tmp"
        # Mail about customers' contracts: readable by the data folder's owner only.
        descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        with open(descriptor, "wb") as handle:
            handle.write(message.as_bytes())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(aside, target)
        _sync_dir(folder)
        return str(target)

    def close(self) -> None:
        return None


def _sync_dir(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk.
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class SmtpMailer:
    """One connection per run, opened on the first message; TLS and login as configured."""

    def __init__(self, settings: MailSettings) -> None:
        if not settings.host:
            raise MailConfigError("SmtpMailer needs AVTALE_SMTP_HOST")
        self.settings = settings
        self._connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        assert s.host is not None
        context = ssl.create_default_context()
        connection: smtplib.SMTP
        if s.tls == "ssl":
            connection = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            connection = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.tls == "starttls":
                connection.starttls(context=context)
        if s.user:
            connection.login(s.user, s.password or "")
        return connection

    def send(self, message: EmailMessage) -> str:
        if self._connection is None:
            try:
                self._connection = self._connect()
            except (smtplib.SMTPException, OSError) as problem:
                raise MailServerUnavailable(
                    f"{self.settings.describe()}: {problem.__class__.__name__}: {problem}"
                ) from problem
        try:
            # Returns once the server has answered 250 to the message: it has taken it.
            self._connection.send_message(message)
        except (smtplib.SMTPServerDisconnected, OSError):
            self._connection = None
            raise
        return f"SMTP {self.settings.host}"

    def close(self) -> None:
        if self._connection is not None:
            # Already sent is sent: a server that hangs up on QUIT changes nothing.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._connection.quit()
            self._connection = None


def make_mailer(settings: MailSettings) -> Mailer:
    return OutboxMailer(settings) if settings.uses_outbox else SmtpMailer(settings)


def send_each(
    settings: MailSettings, messages: Sequence[EmailMessage]
) -> list[tuple[EmailMessage, Exception]]:
    """Send every message over one connection, after the write they tell of has committed:
    a message that fails comes back with why, and the rest still go. The callers' own
    Message-IDs make a retry one mail, not two (the outbox names files by them)."""
    if not messages:
        return []
    mailer = make_mailer(settings)
    failed: list[tuple[EmailMessage, Exception]] = []
    try:
        for message in messages:
            try:
                mailer.send(message)
            except Exception as problem:  # the write stands; the caller says what was not sent
                failed.append((message, problem))
    finally:
        mailer.close()
    return failed
