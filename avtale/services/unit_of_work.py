"""Every write in one transaction, by someone allowed to make it; problems as data.

``write`` re-reads the acting user from the database and checks the role may do the
action before anything is written: a page hides what a role may not do, but a session can
outlive a role change or a deactivation. A ``System`` actor (the command line, a scheduled
job) is the server's own and is not checked. Validation problems come back as
``Outcome.errors`` (field -> message), never as exceptions, so a form can show each next
to its field and the command line can print them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.repository import auth
from avtale.repository.db import session_scope
from avtale.repository.models import User
from avtale.repository.validation import ValidationError
from avtale.services.database import Database

# Errors about the form as a whole rather than one field.
FORM = "form"
# What may already exist (a customer, a registered file): shown as a warning with a link.
DUPLICATE = "duplicate"

READ = "read"
EDIT = "edit_agreements"
APPROVE = "approve_discounts"
MANAGE_USERS = "manage_users"
MANAGE_SETTINGS = "manage_settings"
UPLOAD = "upload_files"


class System(str):
    """An actor that is the server itself: the command line, run by the owner of the data
    folder, or a scheduled job. It is written into the audit log like a username, but it
    is made only in code, never from what a user typed, and no role is checked for it."""

    __slots__ = ()


@dataclass(frozen=True)
class Outcome:
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    # The number of the customer, contract or proposal written, to link to or open.
    target: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def refused(message: str) -> Outcome:
    return Outcome(errors={FORM: message})


def write(db: Database, actor: str, permission: str, work: Callable[[Session], Outcome]) -> Outcome:
    """Run ``work`` in one transaction if ``actor`` may do ``permission``; a
    ``ValidationError`` anywhere rolls it all back and comes back as the outcome's errors."""
    try:
        with session_scope(db.engine) as session:
            _check(session, actor, permission)
            return work(session)
    except ValidationError as invalid:
        return Outcome(errors=invalid.errors)


def check(db: Database, actor: str, permission: str) -> Outcome | None:
    """The refusal ``write`` would give ``actor``, or None: for a write that prepares
    something slow before its transaction, so that one who may not never costs the
    server that work. ``write`` checks again."""
    try:
        with reading(db) as session:
            _check(session, actor, permission)
    except ValidationError as invalid:
        return Outcome(errors=invalid.errors)
    return None


def _check(session: Session, actor: str, permission: str) -> None:
    if isinstance(actor, System):
        return
    user = session.scalar(select(User).where(User.username == actor))
    if user is None or not user.active:
        raise ValidationError({FORM: "your account is not active: log in again"})
    if not auth.can(user.role, permission):
        raise ValidationError({FORM: f"your role ({user.role}) may not do this"})


@contextmanager
def reading(db: Database) -> Iterator[Session]:
    """A read-only transaction: on SQLite it does not take the write lock, on PostgreSQL it
    is READ ONLY; a write in it fails."""
    with session_scope(db.engine, readonly=True) as session:
        yield session
