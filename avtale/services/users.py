"""Users: logging in, who may do what, and what an admin (or the command line) does to
users: add, change role or access, reset a password, unlock, set where reminders go."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from avtale.notify import reminders
from avtale.repository import auth
from avtale.repository.auth import LOCK_AFTER as LOCK_AFTER
from avtale.repository.auth import MIN_PASSWORD_LENGTH as MIN_PASSWORD_LENGTH
from avtale.repository.auth import SESSION_HOURS as SESSION_HOURS
from avtale.repository.db import session_scope
from avtale.repository.models import User, utcnow
from avtale.repository.validation import ValidationError
from avtale.services import lookups
from avtale.services.database import Database
from avtale.services.unit_of_work import FORM, MANAGE_USERS, Outcome, reading, refused, write
from avtale.vocabulary import DEFAULT_LOCALE as DEFAULT_LOCALE
from avtale.vocabulary import ROLES as ROLES
from avtale.vocabulary import USER_LOCALES as USER_LOCALES


def can(role: str | None, action: str) -> bool:
    """Whether ``role`` may do ``action`` (what a page shows; every write checks again)."""
    return auth.can(role, action)


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    active: bool
    # How the app shows this user numbers, dates and product names (USER_LOCALES).
    locale: str = DEFAULT_LOCALE


# --- logging in ---------------------------------------------------------------------


def log_in(db: Database, username: str, password: str, client: str, key: bytes) -> Outcome:
    """The user's name and role in ``detail`` when the password is right, with a new
    session (``session``) and its one-time ``ticket`` for the cookie (``claim_session``);
    refused, with ``auth.log_in``'s reason, when it is wrong or the name or ``client``
    must wait. ``key`` is the data folder's secret key (``avtale.signing.tokens``)."""
    if not (username or "").strip() or not password:
        return refused("enter your username and password")
    # Not read-only: a login counts failures and may upgrade an outdated password hash.
    with session_scope(db.engine) as session:
        login = auth.log_in(session, username, password, client)
        if login.user is None:
            return refused(login.refusal or auth.WRONG)
        session_id, ticket = auth.start_session(session, login.user, key, utcnow())
        return Outcome(
            message=f"Logged in as {login.user.username}.",
            detail={
                "username": login.user.username,
                "role": login.user.role,
                "session": session_id,
                "ticket": ticket,
            },
        )


@dataclass(frozen=True)
class SignedSession:
    """A live session: whose, and which (to check it again or end it)."""

    id: int
    username: str


def claim_session(db: Database, ticket: str, key: bytes) -> str | None:
    """The cookie's token for a login's one-time ticket, or None when the ticket is unknown,
    used or older than a minute."""
    with session_scope(db.engine) as session:
        return auth.claim_ticket(session, ticket, key, utcnow())


def resume_session(db: Database, token: str, key: bytes) -> SignedSession | None:
    """The session a browser's cookie carries, when it is still live."""
    with reading(db) as session:
        found = auth.session_of_token(session, token, key, utcnow())
        return None if found is None else SignedSession(found.id, found.user.username)


def session_is_live(db: Database, session_id: int) -> bool:
    """Whether the session is still live: not logged out (in any tab), not expired, and its
    user still active."""
    with reading(db) as session:
        return auth.live_session(session, session_id, utcnow()) is not None


def log_out(db: Database, session_id: int) -> None:
    """End the session everywhere: the cookie it set no longer logs anyone in."""
    with session_scope(db.engine) as session:
        auth.end_session(session, session_id, utcnow())


# --- reads --------------------------------------------------------------------------


def has_users(db: Database) -> bool:
    with reading(db) as session:
        return bool(session.scalar(select(func.count(User.id))))


def account(db: Database, username: str) -> Account | None:
    """The user's role, whether they are active and their locale, as the database says now."""
    with reading(db) as session:
        row = session.scalar(select(User).where(User.username == username))
        return None if row is None else Account(row.username, row.role, row.active, row.locale)


USER_COLUMNS = [
    "username",
    "role",
    "active",
    "email",
    "manager",
    "crm_owner",
    "locale",
    "created_at",
]


def users(db: Database) -> pd.DataFrame:
    """Every user by name: username, role, active, where reminders go (email, manager,
    crm_owner), locale, created_at."""
    with reading(db) as session:
        rows = session.scalars(select(User).order_by(User.username))
        return pd.DataFrame(
            [{column: getattr(row, column) for column in USER_COLUMNS} for row in rows],
            columns=USER_COLUMNS,
        )


def locked_users(db: Database) -> list[str]:
    """Users locked by failed logins, by name."""
    with reading(db) as session:
        return auth.locked_usernames(session)


# --- writes -------------------------------------------------------------------------


def create_user(db: Database, actor: str, username: str, password: str, role: str) -> Outcome:
    def work(session: Session) -> Outcome:
        user = auth.create_user(session, actor, username, password, role)
        return Outcome(
            message=f"User {user.username} ({user.role}) created.",
            detail={"username": user.username, "role": user.role},
        )

    return write(db, actor, MANAGE_USERS, work)


ACCESS = {"keep": None, "deactivate": False, "reactivate": True}


def update_user_access(
    db: Database, actor: str, username: str | None, role: str | None, access: str
) -> Outcome:
    """A new role and/or access switched off or on ("keep", "deactivate", "reactivate")."""

    def work(session: Session) -> Outcome:
        target = lookups.user(session, username)
        active = ACCESS[access]
        if role in (None, target.role) and active in (None, target.active):
            raise ValidationError({FORM: "nothing to change: pick a new role or access"})
        user = auth.update_user(session, actor, target, role=role, active=active)
        state = "active" if user.active else "deactivated"
        return Outcome(message=f"{user.username} is now {user.role}, {state}.")

    return write(db, actor, MANAGE_USERS, work)


def unlock_user(db: Database, actor: str, username: str | None) -> Outcome:
    """Let a user locked by failed logins try again; refused, with ``detail["locked"]``
    False, when the user was not locked."""

    def work(session: Session) -> Outcome:
        user = lookups.user(session, username)
        if not auth.unlock(session, actor, user):
            return Outcome(
                errors={"user": f"{user.username} is not locked"},
                detail={"username": user.username, "locked": False},
            )
        return Outcome(
            message=f"{user.username} is unlocked and may log in again.",
            detail={"username": user.username, "locked": True},
        )

    return write(db, actor, MANAGE_USERS, work)


def reset_password(db: Database, actor: str, username: str | None, password: str) -> Outcome:
    def work(session: Session) -> Outcome:
        user = auth.set_password(session, actor, lookups.user(session, username), password)
        return Outcome(message=f"Password of {user.username} reset.")

    return write(db, actor, MANAGE_USERS, work)


def set_contact_details(
    db: Database, actor: str, username: str | None, details: Mapping[str, Any]
) -> Outcome:
    """Where a user's reminders go: e-mail, manager (a username), CRM owner name; and the
    ``locale`` the app shows them numbers, dates and product names in (USER_LOCALES). Only
    the fields given change, an empty value clears one (not the locale). ``detail`` has them
    as saved."""

    def work(session: Session) -> Outcome:
        user = lookups.user(session, username)
        contact = {name: value for name, value in details.items() if name != "locale"}
        if "locale" in details:
            auth.set_locale(session, actor, user, details["locale"])
        if contact:
            reminders.set_contact_details(session, actor, user, contact)
        saved = {
            "email": user.email,
            "manager": user.manager,
            "crm_owner": user.crm_owner,
            "locale": user.locale,
        }
        return Outcome(
            message=f"Contact details of {user.username} saved.",
            detail={"username": user.username, **saved},
        )

    return write(db, actor, MANAGE_USERS, work)
