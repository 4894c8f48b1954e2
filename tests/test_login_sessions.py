"""Logins that outlive a reload (issue 14, item 5), on SQLite and PostgreSQL: a login's
one-time ticket, the session token it is exchanged for, expiry, log-out in every tab, and
what ends a session (deactivation, a new password). The browser half, with the HttpOnly
cookie set by the real server, is in tests/test_browser.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from avtale.repository import auth
from avtale.repository.db import session_scope
from avtale.repository.models import AppSession, AuditLog, User, utcnow
from avtale.services import users
from avtale.services.database import Database, database_at
from tests.conftest import Database as FixtureDatabase

KEY = b"k" * 32
PASSWORD = "fjord-analytics-2025"


@pytest.fixture
def opened(db: FixtureDatabase) -> Iterator[Database]:
    with session_scope(db.engine) as session:
        auth.create_user(session, "test", "kari", PASSWORD, "sales_ops")
    yield database_at(db.url)


def logged_in(opened: Database) -> dict[str, object]:
    outcome = users.log_in(opened, "kari", PASSWORD, "ip:127.0.0.1", KEY)
    assert outcome.ok, outcome.errors
    return outcome.detail


def test_a_ticket_is_exchanged_once_for_a_token_that_resumes_the_login(opened: Database) -> None:
    detail = logged_in(opened)
    ticket = str(detail["ticket"])
    token = users.claim_session(opened, ticket, KEY)
    assert token is not None and token != ticket
    assert users.claim_session(opened, ticket, KEY) is None  # used
    resumed = users.resume_session(opened, token, KEY)
    assert resumed == users.SignedSession(int(str(detail["session"])), "kari")
    # The ticket is no session, and a token of another key (another server) is nothing.
    assert users.resume_session(opened, ticket, KEY) is None
    assert users.resume_session(opened, token, b"x" * 32) is None
    # Only keyed hashes are kept.
    with opened.engine.connect() as connection:
        stored = connection.execute(text("SELECT * FROM app_sessions")).one()
    assert token not in str(stored) and ticket not in str(stored)


def test_a_wrong_password_starts_no_session(opened: Database) -> None:
    outcome = users.log_in(opened, "kari", "not the password", "ip:127.0.0.1", KEY)
    assert not outcome.ok and "ticket" not in outcome.detail
    with session_scope(opened.engine) as session:
        assert session.scalar(select(AppSession)) is None


def test_a_ticket_holds_a_minute_and_a_session_its_hours(opened: Database) -> None:
    start = utcnow()
    with session_scope(opened.engine) as session:
        user = session.scalars(select(User)).one()
        _, late = auth.start_session(session, user, KEY, start)
        assert auth.claim_ticket(session, late, KEY, start + timedelta(seconds=61)) is None
        _, ticket = auth.start_session(session, user, KEY, start)
        token = auth.claim_ticket(session, ticket, KEY, start + timedelta(seconds=59))
        assert token is not None
        hours = timedelta(hours=auth.SESSION_HOURS)
        almost = start + hours - timedelta(seconds=1)
        assert auth.session_of_token(session, token, KEY, almost) is not None
        assert auth.session_of_token(session, token, KEY, start + hours) is None


def test_logging_out_ends_the_session_in_every_tab(opened: Database) -> None:
    detail = logged_in(opened)
    token = users.claim_session(opened, str(detail["ticket"]), KEY)
    assert token is not None
    session_id = int(str(detail["session"]))
    assert users.session_is_live(opened, session_id)
    users.log_out(opened, session_id)
    assert not users.session_is_live(opened, session_id)
    assert users.resume_session(opened, token, KEY) is None
    users.log_out(opened, session_id)  # a second tab logging out changes nothing
    with session_scope(opened.engine) as session:
        actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions.count("login.logout") == 1


def test_a_ticket_of_a_session_logged_out_is_refused(opened: Database) -> None:
    detail = logged_in(opened)
    users.log_out(opened, int(str(detail["session"])))
    assert users.claim_session(opened, str(detail["ticket"]), KEY) is None


def test_deactivation_and_a_new_password_end_the_users_sessions(opened: Database) -> None:
    first = logged_in(opened)
    token = users.claim_session(opened, str(first["ticket"]), KEY)
    assert token is not None
    with session_scope(opened.engine) as session:
        user = session.scalars(select(User)).one()
        auth.update_user(session, "admin", user, active=False)
    assert users.resume_session(opened, token, KEY) is None
    assert not users.session_is_live(opened, int(str(first["session"])))
    with session_scope(opened.engine) as session:
        user = session.scalars(select(User)).one()
        auth.update_user(session, "admin", user, active=True)
    assert users.resume_session(opened, token, KEY) is not None
    with session_scope(opened.engine) as session:
        user = session.scalars(select(User)).one()
        auth.set_password(session, "admin", user, "a brand new passphrase 7")
    assert users.resume_session(opened, token, KEY) is None
