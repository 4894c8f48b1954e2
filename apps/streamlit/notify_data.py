"""Reads and writes of the in-app notifications and reminders (SPEC A2).

Reads are cached like ops_data's, keyed by the database URL and its ``ops_data.version``
(every write adds an audit row, so a new notification or a "read" misses the cache);
writes go like forms.py's: one audited transaction, an ``Outcome`` out. Every role may
read and acknowledge its own notifications. No UI here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import ops_data
import streamlit as st
from forms import Outcome, _write
from ops_data import TTL, Version
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from avtale.notify import reminders
from avtale.repository import service
from avtale.repository.db import session_scope
from avtale.repository.models import Notification, Reminder

READ = "read"
# The pages a notification may link to (``<page>?<query>``, as avtale.notify.texts makes).
LINKED_PAGES = {"contract", "crm_customer", "customer"}


def _read(url: str) -> Any:
    return session_scope(ops_data._engine(url), readonly=True)


def page_of(link: str | None) -> tuple[str, dict[str, str]] | None:
    """A stored link as the page file and query parameters ``st.page_link`` takes."""
    if not link:
        return None
    parts = urlsplit(link)
    if parts.path not in LINKED_PAGES:
        return None
    return f"app_pages/{parts.path}.py", dict(parse_qsl(parts.query))


@st.cache_data(ttl=TTL)
def unread_count(url: str, version: Version, username: str) -> int:
    with _read(url) as session:
        return reminders.unread_count(session, username)


@st.cache_data(ttl=TTL)
def notifications(url: str, version: Version, username: str) -> list[dict[str, Any]]:
    """The user's notifications, newest first, each with its reminder's state."""
    with _read(url) as session:
        found = reminders.notifications_for(session, username)
        ids = {item.reminder_id for item in found if item.reminder_id is not None}
        by_id = {
            reminder.id: reminder
            for reminder in session.scalars(select(Reminder).where(Reminder.id.in_(ids)))
        }
        rows = []
        for item in found:
            reminder = by_id.get(item.reminder_id) if item.reminder_id is not None else None
            rows.append(
                {
                    "id": item.id,
                    "title": item.title,
                    "body": item.body,
                    "link": page_of(item.link),
                    "created_at": item.created_at,
                    "unread": item.read_at is None,
                    "reminder_id": reminder.id if reminder else None,
                    "kind": reminder.kind if reminder else None,
                    "status": reminder.status if reminder else None,
                    "deadline_date": reminder.deadline_date if reminder else None,
                    "acknowledged_by": reminder.acknowledged_by if reminder else None,
                    "acknowledged_at": reminder.acknowledged_at if reminder else None,
                }
            )
        return rows


def acknowledge(engine: Engine, actor: str, reminder_id: int) -> Outcome:
    def work(session: Session) -> Outcome:
        reminder = session.get(Reminder, reminder_id)
        if reminder is None:
            raise service.ValidationError({"reminder": "was not found"})
        done = reminders.acknowledge(session, actor, reminder)
        also = f" (and {len(done) - 1} more of the same deadline)" if len(done) > 1 else ""
        return Outcome(message=f"Acknowledged: {reminder.subject}{also}.")

    return _write(engine, actor, READ, work)


def mark_read(engine: Engine, actor: str, notification_id: int) -> Outcome:
    def work(session: Session) -> Outcome:
        notification = session.get(Notification, notification_id)
        if notification is None or notification.username != actor:
            raise service.ValidationError({"notification": "was not found"})
        reminders.mark_read(session, actor, [notification_id])
        return Outcome(message="Marked read.")

    return _write(engine, actor, READ, work)


def mark_all_read(engine: Engine, actor: str) -> Outcome:
    def work(session: Session) -> Outcome:
        count = reminders.mark_read(session, actor)
        return Outcome(message=f"Marked {count} notification{'s' if count != 1 else ''} read.")

    return _write(engine, actor, READ, work)
