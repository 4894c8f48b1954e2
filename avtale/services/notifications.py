"""In-app notifications and reminders (SPEC A2): a user's notifications, read and
acknowledged; the daily reminder run. Every role may read and acknowledge its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.notify import reminders
from avtale.notify.config import ReminderConfig
from avtale.notify.mail import Mailer, build_message, mail_settings, send_each
from avtale.notify.run import RunReport as RunReport
from avtale.notify.run import queue_from_serving, queue_overdue, remind
from avtale.repository.db import session_scope
from avtale.repository.models import Notification, Reminder, User
from avtale.repository.validation import ValidationError
from avtale.services.database import Database
from avtale.services.invoices import overdue_invoices
from avtale.services.unit_of_work import READ, Outcome, reading, write
from avtale.settings import Paths

# The Message-IDs of notifications mailed as they are made (approvals).
MESSAGE_DOMAIN = "avtale.notifications"


@dataclass(frozen=True)
class NotificationItem:
    """One notification, with the state of the reminder it tells of (if any)."""

    id: int
    title: str
    body: str
    link: str | None  # "<page>?<query>", as avtale.notify.texts makes it
    created_at: datetime
    unread: bool
    reminder_id: int | None
    kind: str | None  # the reminder's: "reminder" or "escalation"
    status: str | None  # the reminder's: "pending", "sent", "acknowledged"
    deadline_date: date | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None


def unread_count(db: Database, username: str) -> int:
    with reading(db) as session:
        return reminders.unread_count(session, username)


def notifications(db: Database, username: str) -> list[NotificationItem]:
    """The user's notifications, newest first, each with its reminder's state."""
    with reading(db) as session:
        found = reminders.notifications_for(session, username)
        ids = {item.reminder_id for item in found if item.reminder_id is not None}
        by_id = {
            reminder.id: reminder
            for reminder in session.scalars(select(Reminder).where(Reminder.id.in_(ids)))
        }
        items = []
        for item in found:
            reminder = by_id.get(item.reminder_id) if item.reminder_id is not None else None
            items.append(
                NotificationItem(
                    id=item.id,
                    title=item.title,
                    body=item.body,
                    link=item.link,
                    created_at=item.created_at,
                    unread=item.read_at is None,
                    reminder_id=reminder.id if reminder else None,
                    kind=reminder.kind if reminder else None,
                    status=reminder.status if reminder else None,
                    deadline_date=reminder.deadline_date if reminder else None,
                    acknowledged_by=reminder.acknowledged_by if reminder else None,
                    acknowledged_at=reminder.acknowledged_at if reminder else None,
                )
            )
        return items


def acknowledge(db: Database, actor: str, reminder_id: int | None) -> Outcome:
    """The deadline is in hand: stops the escalation and marks the notification read."""

    def work(session: Session) -> Outcome:
        reminder = session.get(Reminder, reminder_id) if reminder_id is not None else None
        if reminder is None:
            raise ValidationError({"reminder": "was not found"})
        done = reminders.acknowledge(session, actor, reminder)
        also = f" (and {len(done) - 1} more of the same deadline)" if len(done) > 1 else ""
        return Outcome(message=f"Acknowledged: {reminder.subject}{also}.")

    return write(db, actor, READ, work)


def mark_read(db: Database, actor: str, notification_id: int) -> Outcome:
    def work(session: Session) -> Outcome:
        notification = session.get(Notification, notification_id)
        if notification is None or notification.username != actor:
            raise ValidationError({"notification": "was not found"})
        reminders.mark_read(session, actor, [notification_id])
        return Outcome(message="Marked read.")

    return write(db, actor, READ, work)


def mark_all_read(db: Database, actor: str) -> Outcome:
    def work(session: Session) -> Outcome:
        count = reminders.mark_read(session, actor)
        return Outcome(message=f"Marked {count} notification{'s' if count != 1 else ''} read.")

    return write(db, actor, READ, work)


# --- the daily run (the command line runs it whole, the Dagster job step by step) -------


def run_reminders(
    db: Database, paths: Paths, today: date, log: reminders.Log = reminders.quiet
) -> RunReport:
    """Queue the reminders due from the published deadlines and the overdue invoices,
    escalate the unacknowledged ones, send; raises ``NotPublishedError`` when nothing is
    published."""
    return remind(paths, today, engine=db.engine, log=log, overdue=overdue_invoices(db, today))


def queue_reminders(
    db: Database, paths: Paths, today: date, config: ReminderConfig
) -> tuple[int, reminders.QueueReport]:
    """The published deadlines ahead, and a pending reminder queued for each whose
    lead-time window is open today, and for each contract's invoices overdue (read from
    the register, not the published copy, so a payment imported this morning counts);
    once per natural key."""
    count, deadlines = queue_from_serving(db.engine, paths, today, config)
    overdue = queue_overdue(db.engine, overdue_invoices(db, today), today, config)
    return count, reminders.combined(deadlines, overdue)


def escalate_reminders(
    db: Database, today: date, config: ReminderConfig
) -> reminders.EscalationReport:
    """One escalation to the manager of each reminder left unacknowledged too long."""
    with session_scope(db.engine) as session:
        return reminders.escalate(session, today, config)


def send_reminders(
    db: Database, mailer: Mailer, today: date, log: reminders.Log = reminders.quiet
) -> reminders.SendReport:
    """Every pending reminder sent, each in its own transaction."""
    return reminders.send_pending(db.engine, mailer, today=today, log=log)


def mail_notifications(db: Database, paths: Paths, notification_ids: list[int]) -> list[str]:
    """Mail each notification to its user, where the user has an address; what could not
    be mailed, in words. The Message-ID is the notification's, so a retry is one mail."""
    with reading(db) as session:
        rows = session.execute(
            select(
                Notification.id,
                Notification.title,
                Notification.body,
                Notification.link,
                User.email,
            )
            .join(User, User.username == Notification.username)
            .where(Notification.id.in_(notification_ids), User.email.is_not(None))
        ).all()
    settings = mail_settings(paths)
    messages = [
        build_message(
            message_id=f"<notification.{row.id}@{MESSAGE_DOMAIN}>",
            subject=row.title,
            body=row.body,
            to=row.email,
            sender=settings.sender,
            link=f"{settings.app_url}/{row.link}" if row.link else None,
        )
        for row in rows
    ]
    return [
        f"The mail to {message['To']} was not sent ({problem.__class__.__name__}); "
        "the notification is in the bell."
        for message, problem in send_each(settings, messages)
    ]
