"""Reminders and escalations in the operational database, and the in-app notifications.

``queue_due`` and ``escalate`` write into the caller's transaction, like the repository's
services; ``send_pending`` opens one transaction per message itself, because what it
must never do is lose or repeat a message when the process dies half-way (see the package
docstring). Every write adds its audit row to the same transaction.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from avtale.notify import texts
from avtale.notify.config import ReminderConfig
from avtale.notify.mail import Mailer, MailServerUnavailable, build_message
from avtale.repository.audit import record, snapshot
from avtale.repository.db import session_scope
from avtale.repository.models import Notification, Reminder, User, utcnow
from avtale.repository.validation import Field, ValidationError, clean, raise_if, require_actor

# The actor of the audit rows the unattended run writes.
SYSTEM_ACTOR = "reminders"

Log = Callable[[str], None]


def quiet(_message: str) -> None:
    return None


# --- who gets it ---------------------------------------------------------------------


@dataclass(frozen=True)
class Recipients:
    """Contract owners to usernames: by username first, then by the CRM owner name."""

    by_username: Mapping[str, str]
    by_crm_owner: Mapping[str, str]
    managers: Mapping[str, str | None]
    fallback: str

    @classmethod
    def load(cls, session: Session, fallback: str) -> Recipients:
        users = session.scalars(select(User).where(User.active.is_(True))).all()
        return cls(
            by_username={user.username.lower(): user.username for user in users},
            by_crm_owner={
                user.crm_owner.strip().lower(): user.username
                for user in sorted(users, key=lambda user: user.id, reverse=True)
                if user.crm_owner and user.crm_owner.strip()
            },
            managers={user.username: user.manager for user in users},
            fallback=fallback,
        )

    def owner(self, owner: object) -> str | None:
        """The active user the contract owner is, if any."""
        name = str(owner or "").strip().lower()
        if not name:
            return None
        return self.by_username.get(name) or self.by_crm_owner.get(name)

    def escalation(self, recipient: str) -> str | None:
        """The recipient's manager, else the fallback; None when that is the recipient."""
        manager = self.managers.get(recipient)
        target = manager if manager and manager in self.managers else self.fallback
        return None if target == recipient else target


def due_lead(deadline: date, today: date, lead_days: Iterable[int]) -> int | None:
    """The lead time whose reminder is due today, or None.

    A window is open while ``deadline - lead <= today <= deadline``. Of several open
    windows only the closest (smallest lead) counts: a run that missed days sends the
    reminder that matters now, not also the stale "90 days left" one.
    """
    if today > deadline:
        return None
    open_windows = [lead for lead in lead_days if deadline - timedelta(days=lead) <= today]
    return min(open_windows) if open_windows else None


# --- queueing ------------------------------------------------------------------------


@dataclass
class QueueReport:
    considered: int = 0
    queued: int = 0
    already: int = 0
    to_fallback: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


Key = tuple[str, str, date, int, str]


def _key(reminder: Reminder) -> Key:
    return (
        reminder.contract_id,
        reminder.deadline_type,
        reminder.deadline_date,
        reminder.lead_days,
        reminder.kind,
    )


def _existing_keys(session: Session, since: date) -> set[Key]:
    rows = session.execute(
        select(
            Reminder.contract_id,
            Reminder.deadline_type,
            Reminder.deadline_date,
            Reminder.lead_days,
            Reminder.kind,
        ).where(Reminder.deadline_date >= since)
    ).all()
    return {(row[0], row[1], row[2], row[3], row[4]) for row in rows}


def _insert_once(session: Session, actor: str, reminder: Reminder) -> bool:
    """Add ``reminder`` unless its natural key exists: a concurrent run that inserted it
    first makes the savepoint fail on the unique key, and only that savepoint rolls back."""
    try:
        with session.begin_nested():
            session.add(reminder)
            session.flush()
    except IntegrityError:
        return False
    record(
        session, actor, f"{reminder.kind}.queue", "reminder", reminder.id, None, snapshot(reminder)
    )
    return True


def _queue_one(
    session: Session,
    actor: str,
    report: QueueReport,
    recipients: Recipients,
    config: ReminderConfig,
    row: Mapping[str, Any],
    key: Key,
    text: Callable[[Mapping[str, Any], date, str, int], tuple[str, str]],
    today: date,
) -> bool:
    """A pending reminder of ``row`` under ``key`` to its owner (else the fallback
    recipient), counted in ``report``; False when one with that key was queued before."""
    recipient = recipients.owner(row.get("owner")) or config.fallback_recipient
    subject, body = text(row, today, recipient, config.escalate_after_days)
    reminder = Reminder(
        contract_id=key[0],
        deadline_type=key[1],
        deadline_date=key[2],
        lead_days=key[3],
        kind=key[4],
        recipient=recipient,
        status="pending",
        message_id=texts.message_id(*key),
        customer_id=_text(row.get("customer_id"), 100),
        customer_name=_text(row.get("customer_name"), 200),
        owner=_text(row.get("owner"), 100),
        subject=subject,
        body=body,
        link=texts.link(row),
    )
    if not _insert_once(session, actor, reminder):
        report.already += 1
        return False
    report.queued += 1
    report.to_fallback += recipients.owner(row.get("owner")) is None
    report.by_type[key[1]] = report.by_type.get(key[1], 0) + 1
    return True


def queue_due(
    session: Session,
    deadlines: Iterable[Mapping[str, Any]],
    today: date,
    config: ReminderConfig,
    *,
    actor: str = SYSTEM_ACTOR,
) -> QueueReport:
    """A pending reminder for every deadline whose window is open today, once per natural
    key, to the owner's user or else the fallback recipient."""
    actor = require_actor(actor)
    report = QueueReport()
    recipients = Recipients.load(session, config.fallback_recipient)
    existing = _existing_keys(session, today)
    for row in deadlines:
        leads = config.lead_days.get(str(row["deadline_type"]))
        deadline = row["deadline_date"]
        if not leads or deadline is None:
            continue
        lead = due_lead(deadline, today, leads)
        if lead is None:
            continue
        report.considered += 1
        key: Key = (str(row["contract_id"]), str(row["deadline_type"]), deadline, lead, "reminder")
        if key in existing:
            report.already += 1
            continue
        text = texts.reminder_text
        if _queue_one(session, actor, report, recipients, config, row, key, text, today):
            existing.add(key)
    return report


def queue_overdue(
    session: Session,
    overdue: Iterable[Mapping[str, Any]],
    today: date,
    config: ReminderConfig,
    *,
    actor: str = SYSTEM_ACTOR,
) -> QueueReport:
    """One reminder per overdue row (a contract's invoices past one due date) to the
    contract's owner, else the fallback recipient; once per natural key, whatever the
    number of runs while it stays overdue."""
    actor = require_actor(actor)
    report = QueueReport()
    recipients = Recipients.load(session, config.fallback_recipient)
    for row in overdue:
        report.considered += 1
        key: Key = (str(row["contract_id"]), str(row["deadline_type"]), row["deadline_date"], 0,
                    "reminder")  # fmt: skip
        _queue_one(session, actor, report, recipients, config, row, key, texts.overdue_text, today)
    return report


def combined(first: QueueReport, second: QueueReport) -> QueueReport:
    """The two reports of one run as one."""
    by_type = dict(first.by_type)
    for name, count in second.by_type.items():
        by_type[name] = by_type.get(name, 0) + count
    return QueueReport(
        considered=first.considered + second.considered,
        queued=first.queued + second.queued,
        already=first.already + second.already,
        to_fallback=first.to_fallback + second.to_fallback,
        by_type=by_type,
    )


def _text(value: object, length: int) -> str | None:
    return None if value is None else str(value)[:length]


# --- escalating ----------------------------------------------------------------------


@dataclass
class EscalationReport:
    escalated: int = 0
    nobody_to_escalate_to: int = 0


def escalate(
    session: Session, today: date, config: ReminderConfig, *, actor: str = SYSTEM_ACTOR
) -> EscalationReport:
    """One escalation, to the recipient's manager (else the fallback recipient), of every
    reminder still unacknowledged ``escalate_after_days`` after the day it was sent."""
    actor = require_actor(actor)
    report = EscalationReport()
    cutoff = today - timedelta(days=config.escalate_after_days)
    ignored = session.scalars(
        select(Reminder)
        .where(
            Reminder.kind == "reminder",
            Reminder.status == "sent",
            Reminder.sent_on <= cutoff,
        )
        .order_by(Reminder.id)
    ).all()
    if not ignored:
        return report
    escalated = set(
        session.scalars(
            select(Reminder.escalation_of).where(
                Reminder.kind == "escalation",
                Reminder.escalation_of.in_([reminder.id for reminder in ignored]),
            )
        )
    )
    recipients = Recipients.load(session, config.fallback_recipient)
    for original in ignored:
        if original.id in escalated:
            continue
        target = recipients.escalation(original.recipient)
        if target is None:
            report.nobody_to_escalate_to += 1
            continue
        assert original.sent_on is not None
        subject, body = texts.escalation_text(
            snapshot(original) | {"deadline_date": original.deadline_date},
            target,
            original.recipient,
            original.sent_on,
            today,
        )
        contract_id, deadline_type, deadline_date, lead_days, _kind = _key(original)
        key: Key = (contract_id, deadline_type, deadline_date, lead_days, "escalation")
        escalation = Reminder(
            contract_id=original.contract_id,
            deadline_type=original.deadline_type,
            deadline_date=original.deadline_date,
            lead_days=original.lead_days,
            kind="escalation",
            recipient=target,
            status="pending",
            message_id=texts.message_id(*key),
            customer_id=original.customer_id,
            customer_name=original.customer_name,
            owner=original.owner,
            subject=subject,
            body=body,
            link=original.link,
            escalation_of=original.id,
        )
        if _insert_once(session, actor, escalation):
            report.escalated += 1
    return report


# --- sending -------------------------------------------------------------------------


@dataclass
class SendReport:
    emailed: list[str] = field(default_factory=list)  # Message-IDs
    in_app_only: list[str] = field(default_factory=list)  # recipients without an address
    failed: dict[str, str] = field(default_factory=dict)  # Message-ID -> why
    stopped: str | None = None  # the mail server went away: the rest waits for the next run

    @property
    def sent(self) -> int:
        return len(self.emailed) + len(self.in_app_only)


class _StopSending(Exception):
    pass


def pending_ids(engine: Engine) -> list[int]:
    with session_scope(engine, readonly=True) as session:
        return list(
            session.scalars(
                select(Reminder.id).where(Reminder.status == "pending").order_by(Reminder.id)
            )
        )


def send_pending(
    engine: Engine,
    mailer: Mailer,
    *,
    today: date,
    actor: str = SYSTEM_ACTOR,
    log: Log = quiet,
) -> SendReport:
    """Send every pending reminder, each in its own transaction: the mail first, then the
    row marked sent with its notification and audit rows, committed together.

    A reminder whose recipient has no e-mail address (or no active user) is delivered in
    the app only. A message the server refuses stays pending and is reported; when the
    server cannot be reached at all, the run stops and the rest waits for the next one.
    """
    actor = require_actor(actor)
    report = SendReport()
    for reminder_id in pending_ids(engine):
        try:
            with session_scope(engine) as session:
                _send_one(session, mailer, reminder_id, today, actor, report, log)
        except _StopSending:
            break
    return report


def _send_one(
    session: Session,
    mailer: Mailer,
    reminder_id: int,
    today: date,
    actor: str,
    report: SendReport,
    log: Log,
) -> None:
    # FOR UPDATE: a second run at the same time waits here, then sees the row sent
    # (PostgreSQL); SQLite's write transaction (BEGIN IMMEDIATE) serialises runs anyway.
    reminder = session.scalar(select(Reminder).where(Reminder.id == reminder_id).with_for_update())
    if reminder is None or reminder.status != "pending":
        return
    before = snapshot(reminder)
    user = session.scalar(select(User).where(User.username == reminder.recipient))
    address = user.email if user is not None and user.active and user.email else None
    if address:
        message = _message(reminder, address, mailer)
        try:
            where = mailer.send(message)
        except Exception as problem:  # every failure is reported; the row stays pending
            report.failed[reminder.message_id] = f"{problem.__class__.__name__}: {problem}"
            log(f"could not send {reminder.message_id} to {address}: {problem}")
            if _unreachable(problem):
                report.stopped = f"{problem.__class__.__name__}: {problem}"
                raise _StopSending from problem
            return
        log(f"sent {reminder.message_id} to {address} ({where})")
    reminder.status = "sent"
    reminder.sent_on = today
    reminder.sent_at = utcnow()
    reminder.emailed_to = address
    notification = Notification(
        username=reminder.recipient,
        reminder_id=reminder.id,
        title=reminder.subject,
        body=reminder.body,
        link=reminder.link,
    )
    session.add(notification)
    session.flush()
    record(
        session, actor, f"{reminder.kind}.send", "reminder", reminder.id, before, snapshot(reminder)
    )
    record(
        session,
        actor,
        "notification.create",
        "notification",
        notification.id,
        None,
        snapshot(notification),
    )
    (report.emailed if address else report.in_app_only).append(
        reminder.message_id if address else reminder.recipient
    )


def _message(reminder: Reminder, address: str, mailer: Mailer) -> EmailMessage:
    settings = mailer.settings
    return build_message(
        message_id=reminder.message_id,
        subject=reminder.subject,
        body=reminder.body,
        to=address,
        sender=settings.sender,
        link=f"{settings.app_url}/{reminder.link}" if reminder.link else None,
        headers={
            "X-Avtale-Reminder": (
                f"{reminder.kind}; {reminder.contract_id}; {reminder.deadline_type}; "
                f"{reminder.deadline_date.isoformat()}; {reminder.lead_days}"
            )
        },
    )


def _unreachable(problem: Exception) -> bool:
    """Whether no later message can go either (no server, no disk), rather than this one
    being refused."""
    if isinstance(problem, MailServerUnavailable | smtplib.SMTPServerDisconnected):
        return True
    if isinstance(problem, smtplib.SMTPException):
        return False  # the server answered: this message was refused, the next may go
    return isinstance(problem, OSError)


# --- acknowledging and reading --------------------------------------------------------


def same_deadline(session: Session, reminder: Reminder) -> list[Reminder]:
    """Every reminder and escalation of the deadline ``reminder`` is about."""
    return list(
        session.scalars(
            select(Reminder)
            .where(
                Reminder.contract_id == reminder.contract_id,
                Reminder.deadline_type == reminder.deadline_type,
                Reminder.deadline_date == reminder.deadline_date,
            )
            .order_by(Reminder.id)
        )
    )


def acknowledge(session: Session, actor: str, reminder: Reminder) -> list[Reminder]:
    """The deadline is in hand: ``reminder`` and every other sent reminder or escalation of
    the same deadline are acknowledged (no escalation follows) and their notifications
    read. The recipient of any of them may do it, and an admin."""
    actor = require_actor(actor)
    related = same_deadline(session, reminder)
    user = session.scalar(select(User).where(User.username == actor))
    if actor not in {other.recipient for other in related} and (
        user is None or user.role != "admin"
    ):
        raise ValidationError({"reminder": "is not addressed to you"})
    if reminder.status == "acknowledged":
        raise ValidationError(
            {"reminder": f"was acknowledged already by {reminder.acknowledged_by}"}
        )
    if reminder.status != "sent":
        raise ValidationError({"reminder": "has not been sent yet"})
    now = utcnow()
    done = [other for other in related if other.status == "sent"]
    for other in done:
        before = snapshot(other)
        other.status = "acknowledged"
        other.acknowledged_at = now
        other.acknowledged_by = actor
        session.flush()
        record(
            session,
            actor,
            f"{other.kind}.acknowledge",
            "reminder",
            other.id,
            before,
            snapshot(other),
        )
    unread = session.scalars(
        select(Notification).where(
            Notification.reminder_id.in_([other.id for other in done]),
            Notification.read_at.is_(None),
        )
    ).all()
    _mark(session, actor, unread, now)
    return done


def _mark(session: Session, actor: str, notifications: Iterable[Notification], now: Any) -> int:
    count = 0
    for notification in notifications:
        before = snapshot(notification)
        notification.read_at = now
        session.flush()
        record(
            session,
            actor,
            "notification.read",
            "notification",
            notification.id,
            before,
            snapshot(notification),
        )
        count += 1
    return count


def notifications_for(session: Session, username: str, *, limit: int = 200) -> list[Notification]:
    """The user's notifications, newest first."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.username == username)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def unread_count(session: Session, username: str) -> int:
    return int(
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.username == username, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def mark_read(session: Session, actor: str, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the actor's own unread notifications read: those given, or all of them."""
    actor = require_actor(actor)
    query = select(Notification).where(
        Notification.username == actor, Notification.read_at.is_(None)
    )
    if notification_ids is not None:
        query = query.where(Notification.id.in_(list(notification_ids)))
    return _mark(session, actor, session.scalars(query.order_by(Notification.id)).all(), utcnow())


# --- who receives reminders -----------------------------------------------------------

CONTACT_FIELDS = {
    "email": Field("email", max_length=254),
    "manager": Field("text", max_length=64),
    "crm_owner": Field("text", max_length=100),
}


def set_contact_details(
    session: Session, actor: str, user: User, details: Mapping[str, Any]
) -> User:
    """A user's e-mail address, manager (a username) and CRM owner name; only the fields
    given change, an empty value clears one."""
    actor = require_actor(actor)
    errors: dict[str, str] = {}
    values = clean(details, CONTACT_FIELDS, errors, partial=True)
    manager = values.get("manager")
    if manager is not None:
        manager = values["manager"] = manager.lower()
        if manager == user.username:
            errors["manager"] = "cannot be the user themself"
        elif session.scalar(select(User.id).where(User.username == manager)) is None:
            errors["manager"] = f"there is no user {manager}"
    raise_if(errors)
    before = snapshot(user)
    for name, value in values.items():
        setattr(user, name, value)
    session.flush()
    record(session, actor, "user.update", "user", user.id, before, snapshot(user))
    return user
