"""One reminder run in this process: queue, escalate, send (``avtale remind``).

The Dagster job ``reminders`` runs the same three steps as ops; this is the same thing
for the command line and tests. Escalation comes before sending so that an escalation
found today also goes out today.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from avtale.notify import reminders
from avtale.notify.config import ReminderConfig, config_path, load_config
from avtale.notify.deadlines import read_deadlines
from avtale.notify.mail import Mailer, mail_settings, make_mailer
from avtale.repository.db import session_scope
from avtale.services.database import open_database
from avtale.settings import Paths


@dataclass
class RunReport:
    today: date
    deadlines: int
    queued: reminders.QueueReport
    escalated: reminders.EscalationReport
    sent: reminders.SendReport
    mail: str

    def lines(self) -> list[str]:
        q, e, s = self.queued, self.escalated, self.sent
        by_type = ", ".join(f"{name} {count}" for name, count in sorted(q.by_type.items()))
        lines = [
            f"reminders for {self.today.isoformat()}: {self.deadlines} deadlines ahead",
            f"queued {q.queued} reminders ({q.already} were queued before, "
            f"{q.to_fallback} to the fallback recipient)" + (f": {by_type}" if by_type else ""),
            f"escalated {e.escalated} unacknowledged reminders"
            + (
                f" ({e.nobody_to_escalate_to} with nobody to escalate to)"
                if e.nobody_to_escalate_to
                else ""
            ),
            f"sent {s.sent}: {len(s.emailed)} by e-mail via {self.mail}, "
            f"{len(s.in_app_only)} in the app only (no e-mail address)",
        ]
        for message_id, problem in s.failed.items():
            lines.append(f"FAILED {message_id}: {problem} (stays pending)")
        if s.stopped:
            lines.append(f"stopped: the mail server is unreachable ({s.stopped}); run again later")
        return lines


def queue_from_serving(
    engine: Engine, paths: Paths, today: date, config: ReminderConfig
) -> tuple[int, reminders.QueueReport]:
    deadlines = read_deadlines(paths.serving, today, config.horizon)
    with session_scope(engine) as session:
        return len(deadlines), reminders.queue_due(session, deadlines, today, config)


def queue_overdue(
    engine: Engine, overdue: Iterable[Mapping[str, Any]], today: date, config: ReminderConfig
) -> reminders.QueueReport:
    with session_scope(engine) as session:
        return reminders.queue_overdue(session, overdue, today, config)


def remind(
    paths: Paths,
    today: date,
    *,
    engine: Engine | None = None,
    mailer: Mailer | None = None,
    log: reminders.Log = reminders.quiet,
    overdue: Iterable[Mapping[str, Any]] = (),
) -> RunReport:
    """Queue (the published deadlines and the ``overdue`` invoices' rows), escalate and
    send; raises ``NotPublishedError`` when nothing is published."""
    config = load_config(config_path(paths))
    if engine is None:
        engine = open_database(paths).engine
    mailer = mailer or make_mailer(mail_settings(paths))
    try:
        count, deadlines = queue_from_serving(engine, paths, today, config)
        queued = reminders.combined(deadlines, queue_overdue(engine, overdue, today, config))
        with session_scope(engine) as session:
            escalated = reminders.escalate(session, today, config)
        sent = reminders.send_pending(engine, mailer, today=today, log=log)
    finally:
        mailer.close()
    return RunReport(today, count, queued, escalated, sent, mailer.settings.describe())
