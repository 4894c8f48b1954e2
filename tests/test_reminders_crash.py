"""A crash half-way through sending loses no reminder and repeats none.

`avtale remind` runs as its own process against a real SMTP server on localhost whose
handler SIGKILLs that process while the third message waits for its answer (so the server
never accepts it). A second run then sends the rest. Every due reminder must have arrived
exactly once, counted by Message-ID, and the database must show them all sent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from avtale.repository.db import session_scope
from avtale.repository.models import Notification, Reminder, User
from avtale.settings import PROJECT_ROOT
from tests.conftest import Database
from tests.test_mail import free_port

TODAY = date(2026, 3, 2)
DUE = 5


@dataclass
class KillingServer:
    """Accepts messages, except the ``kill_at``-th: then it kills the sender instead."""

    accepted: list[str] = field(default_factory=list)
    seen: int = 0
    kill_at: int | None = None
    victim: int | None = None  # the pid of the sending process

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.seen += 1
        if self.seen == self.kill_at and self.victim is not None:
            os.kill(self.victim, signal.SIGKILL)
            await asyncio.sleep(0.2)  # the answer below must find nobody to read it
            return "451 4.3.0 the sender is gone"
        for line in envelope.original_content.decode().splitlines():
            if line.lower().startswith("message-id:"):
                self.accepted.append(line.split(":", 1)[1].strip())
        return "250 Message accepted for delivery"


@pytest.fixture
def home(tmp_path: Path, db: Database) -> Path:
    """A data folder with a published `contract_deadlines` and users in the database."""
    home = tmp_path / "home"
    home.mkdir()
    con = duckdb.connect(str(home / "serving.duckdb"))
    con.execute(
        "CREATE TABLE contract_deadlines (contract_id VARCHAR, customer_id VARCHAR, "
        "owner VARCHAR, deadline_type VARCHAR, deadline_date DATE, auto_renew BOOLEAN, "
        "contract_mrr DOUBLE, customer_name VARCHAR, source_system VARCHAR, "
        "mrr_at_stake DOUBLE, detail VARCHAR)"
    )
    rows = [
        (f"hubspot:{n}", f"hubspot:c{n}", "Kari Nordmann", "notice", TODAY + timedelta(days=n))
        for n in range(1, DUE + 1)
    ]
    rows.append(("hubspot:99", "hubspot:c99", "sally", "notice", TODAY + timedelta(days=200)))
    con.executemany(
        "INSERT INTO contract_deadlines VALUES (?, ?, ?, ?, ?, true, 100, null, null, null, null)",
        rows,
    )
    con.close()
    with session_scope(db.engine) as session:
        session.add(
            User(
                username="sally",
                password_hash="x",
                role="sales_ops",
                email="sally@example.no",
                crm_owner="Kari Nordmann",
            )
        )
    return home


def remind(home: Path, db: Database, port: int) -> subprocess.Popen[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AVTALE_")}
    env |= {
        "AVTALE_HOME": str(home),
        "AVTALE_DATABASE_URL": db.url,
        "AVTALE_SMTP_HOST": "127.0.0.1",
        "AVTALE_SMTP_PORT": str(port),
        "AVTALE_SMTP_TLS": "none",
        "AVTALE_MAIL_FROM": "avtale@example.no",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "avtale.cli", "remind", "--today", TODAY.isoformat()],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def statuses(db: Database) -> Counter[str]:
    with session_scope(db.engine, readonly=True) as session:
        return Counter(session.scalars(select(Reminder.status)))


def test_a_killed_run_loses_nothing_and_the_next_sends_each_reminder_once(
    home: Path, db: Database
) -> None:
    server = KillingServer(kill_at=3)
    port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        first = remind(home, db, port)
        server.victim = first.pid
        first.communicate(timeout=120)
        assert first.returncode == -signal.SIGKILL
        assert len(server.accepted) == 2
        # What the server took is marked sent; the one it never took, and the rest, wait.
        assert statuses(db) == Counter({"sent": 2, "pending": DUE - 2})

        server.kill_at = None
        second = remind(home, db, port)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        assert f"sent {DUE - 2}: {DUE - 2} by e-mail" in out
    finally:
        controller.stop()

    received = Counter(server.accepted)
    assert set(received.values()) == {1}, received  # nothing twice
    with session_scope(db.engine, readonly=True) as session:
        due = set(session.scalars(select(Reminder.message_id)))
        notified = Counter(session.scalars(select(Notification.reminder_id)))
    assert set(received) == due and len(due) == DUE  # nothing lost
    assert statuses(db) == Counter({"sent": DUE})
    assert len(notified) == DUE and set(notified.values()) == {1}
