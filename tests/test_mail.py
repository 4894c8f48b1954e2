"""Reminder mail: through a real SMTP server on localhost (aiosmtpd), and into the outbox
folder when no server is configured."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine, select

from avtale.notify import reminders
from avtale.notify.config import ReminderConfig
from avtale.notify.mail import (
    MailConfigError,
    OutboxMailer,
    SmtpMailer,
    build_message,
    mail_settings,
)
from avtale.repository.db import make_engine, migrate, session_scope
from avtale.repository.models import Reminder, User
from avtale.settings import Paths

TODAY = date(2026, 3, 2)
CONFIG = ReminderConfig(
    lead_days={"notice": (30, 7)}, escalate_after_days=3, fallback_recipient="ada"
)
SENDER = "Avtale <avtale@example.no>"


@dataclass
class Inbox:
    """What the server accepted: one entry per message, as the client sent it."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == b"s3cret"
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'avtale.db'}"
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        for username, address in (("sally", "sally@example.no"), ("ada", "ada@example.no")):
            session.add(User(username=username, password_hash="x", role="admin", email=address))
    yield engine
    engine.dispose()


def queue(engine: Engine, count: int = 3) -> list[Reminder]:
    rows = [
        {
            "contract_id": f"hubspot:{n}",
            "customer_id": f"hubspot:c{n}",
            "customer_name": "Fjord & <Sønner> AS" if n == 1 else f"Customer {n}",
            "owner": "sally" if n % 2 else "ada",
            "deadline_type": "notice",
            "deadline_date": TODAY + timedelta(days=10 + n),
            "auto_renew": True,
            "contract_mrr": 1000.0 * n,
        }
        for n in range(1, count + 1)
    ]
    with session_scope(engine) as session:
        reminders.queue_due(session, rows, TODAY, CONFIG)
        return list(session.scalars(select(Reminder).order_by(Reminder.id)))


def test_reminders_arrive_at_a_real_smtp_server(
    smtp: tuple[Inbox, int], engine: Engine, tmp_path: Path
) -> None:
    inbox, port = smtp
    queued = queue(engine)
    env = {
        "AVTALE_SMTP_HOST": "127.0.0.1",
        "AVTALE_SMTP_PORT": str(port),
        "AVTALE_SMTP_TLS": "none",
        "AVTALE_SMTP_USER": "avtale",
        "AVTALE_SMTP_PASSWORD": "s3cret",
        "AVTALE_MAIL_FROM": SENDER,
        "AVTALE_APP_URL": "https://avtale.example.no/",
    }
    mailer = SmtpMailer(mail_settings(Paths(tmp_path), env))
    report = reminders.send_pending(engine, mailer, today=TODAY)
    mailer.close()
    assert len(report.emailed) == 3 and not report.failed
    assert inbox.logins == ["avtale"]
    assert [message["Message-ID"] for _, _, message in inbox.messages] == [
        reminder.message_id for reminder in queued
    ]
    mail_from, rcpt_tos, first = inbox.messages[0]
    assert (mail_from, rcpt_tos) == ("avtale@example.no", ["sally@example.no"])
    assert first["To"] == "sally@example.no"
    assert first["Subject"] == queued[0].subject
    assert first["Subject"].startswith("Notice deadline 13 Mar 2026 (in 11 days): Fjord & <Sønner>")
    assert first["Auto-Submitted"] == "auto-generated"
    text = first.get_body(("plain",))
    html = first.get_body(("html",))
    assert text is not None and html is not None
    plain = text.get_content()
    assert "Notice deadline of contract hubspot:1 (Fjord & <Sønner> AS)" in plain
    assert "https://avtale.example.no/crm_customer?crm_customer=hubspot%3Ac1" in plain
    # What the export says is text, never markup, in the HTML part.
    assert "Fjord &amp; &lt;Sønner&gt; AS" in html.get_content()
    assert "<Sønner>" not in html.get_content()

    # A second run sends nothing: every reminder is marked sent.
    again = reminders.send_pending(engine, SmtpMailer(mailer.settings), today=TODAY)
    assert again.sent == 0 and len(inbox.messages) == 3


def test_an_unreachable_server_stops_the_run_and_leaves_the_reminders_pending(
    engine: Engine, tmp_path: Path
) -> None:
    queue(engine, 2)
    env = {"AVTALE_SMTP_HOST": "127.0.0.1", "AVTALE_SMTP_PORT": str(free_port())}
    report = reminders.send_pending(
        engine, SmtpMailer(mail_settings(Paths(tmp_path), env)), today=TODAY
    )
    assert report.sent == 0 and len(report.failed) == 1
    assert report.stopped is not None and "ConnectionRefusedError" in report.stopped
    with session_scope(engine, readonly=True) as session:
        assert set(session.scalars(select(Reminder.status))) == {"pending"}


def test_without_a_server_mail_goes_to_the_outbox_once(engine: Engine, tmp_path: Path) -> None:
    queued = queue(engine)
    settings = mail_settings(Paths(tmp_path), {"AVTALE_MAIL_FROM": SENDER})
    assert settings.uses_outbox and settings.outbox == tmp_path / "outbox"
    report = reminders.send_pending(engine, OutboxMailer(settings), today=TODAY)
    assert len(report.emailed) == 3
    files = sorted(settings.outbox.iterdir())
    assert [f.name for f in files] == sorted(
        reminder.message_id.strip("<>") + ".eml" for reminder in queued
    )
    by_id = {r.message_id: r for r in queued}
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=default)
        reminder = by_id[message["Message-ID"]]
        assert message["Subject"] == reminder.subject
        assert message["From"] == SENDER
        assert message["To"] == (
            "sally@example.no" if reminder.recipient == "sally" else "ada@example.no"
        )
        assert isinstance(message, EmailMessage)
        body = message.get_body(("plain",))
        assert body is not None and reminder.contract_id in body.get_content()
    stamps = {f.name: f.stat().st_mtime_ns for f in files}

    # A second run writes nothing new; nor does sending a message that is there already.
    assert reminders.send_pending(engine, OutboxMailer(settings), today=TODAY).sent == 0
    first = queued[0]
    OutboxMailer(settings).send(
        build_message(
            message_id=first.message_id,
            subject="changed",
            body="changed",
            to="x@example.no",
            sender=SENDER,
        )
    )
    assert {f.name: f.stat().st_mtime_ns for f in settings.outbox.iterdir()} == stamps


def test_mail_settings_come_from_the_environment(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    assert mail_settings(paths, {}).uses_outbox
    assert mail_settings(paths, {"AVTALE_SMTP_HOST": "smtp.example.no"}).port == 587
    ssl = mail_settings(paths, {"AVTALE_SMTP_HOST": "smtp.example.no", "AVTALE_SMTP_TLS": "SSL"})
    assert (ssl.tls, ssl.port) == ("ssl", 465)
    with pytest.raises(MailConfigError, match="AVTALE_SMTP_TLS"):
        mail_settings(paths, {"AVTALE_SMTP_TLS": "maybe"})
    with pytest.raises(MailConfigError, match="AVTALE_SMTP_PORT"):
        mail_settings(paths, {"AVTALE_SMTP_PORT": "twenty-five"})
