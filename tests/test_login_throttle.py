"""Failed logins on SQLite and PostgreSQL: back-off per name and per client, a lock after
LOCK_AFTER failures until an admin unlocks it, the same answers for unknown names, the
audit; password strength; and the login form, the Users page and `avtale user unlock`."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from avtale.cli import main
from avtale.repository import auth
from avtale.repository.db import make_engine, migrate, session_scope
from avtale.repository.models import AuditLog, LoginThrottle, User
from avtale.repository.validation import ValidationError
from tests.app_ops_fixtures import (
    PASSWORD,
    as_user,
    log_in,
    make_template,
    open_page,
    start_app,
    use_database,
)
from tests.conftest import Database

GOOD = "fjord-analytics-2025"
BAD = "not-the-password"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WAIT = "too many attempts; try again in {} s"


def add_user(db: Database, name: str = "kari", password: str = GOOD) -> None:
    with session_scope(db.engine) as session:
        auth.create_user(session, "admin", name, password, "analyst")


def attempt(
    db: Database, name: str, password: str, at: datetime, client: str = "ip:192.0.2.1"
) -> str | None:
    """The refusal of one login, or None when it let the user in."""
    with session_scope(db.engine) as session:
        login = auth.log_in(session, name, password, client, now=at)
        return login.refusal if login.user is None else None


def spaced(count: int, end: datetime) -> list[datetime]:
    """``count`` moments ending at ``end``, each past any wait the one before caused."""
    return [end - auth.BACKOFF_CAP * (count - 1 - n) for n in range(count)]


def lock(db: Database, name: str, end: datetime = T0) -> None:
    for at in spaced(auth.LOCK_AFTER, end):
        attempt(db, name, BAD, at, "ip:198.51.100.1")


def audit(db: Database) -> list[AuditLog]:
    with session_scope(db.engine, readonly=True) as session:
        return list(session.scalars(select(AuditLog).order_by(AuditLog.id)))


# --- the throttle, on both databases ------------------------------------------------


def test_failures_make_the_name_wait_longer_each_time_then_lock_it(db: Database) -> None:
    add_user(db)
    at = T0
    for failure in range(1, auth.LOCK_AFTER):
        # A new client each time: only the name's own counter is at work here.
        assert attempt(db, "kari", BAD, at, f"ip:192.0.2.{failure}") == auth.WRONG
        wait = 2 ** (failure - auth.FREE_FAILURES) if failure >= auth.FREE_FAILURES else 0
        if wait:
            # Refused without a look at the password, even the right one, and not counted.
            assert attempt(db, "kari", GOOD, at, "ip:203.0.113.9") == WAIT.format(wait)
            assert attempt(db, "KARI ", GOOD, at + timedelta(seconds=wait - 0.5)) == (
                WAIT.format(1)
            )
        at += timedelta(seconds=wait)
    assert attempt(db, "kari", BAD, at) == auth.LOCKED
    # Locked whatever the password and however long one waits, until an admin unlocks.
    assert attempt(db, "kari", GOOD, at + timedelta(days=30)) == auth.LOCKED
    with session_scope(db.engine) as session:
        assert auth.locked_usernames(session) == ["kari"]
        kari = session.scalars(select(User)).one()
        assert auth.unlock(session, "ada", kari) is True
    assert attempt(db, "kari", GOOD, at + timedelta(days=30)) is None
    with session_scope(db.engine) as session:
        assert auth.locked_usernames(session) == []
    actions = [(row.actor, row.action) for row in audit(db)]
    assert actions.count(("kari", "login.failure")) == auth.LOCK_AFTER
    assert actions[-3:] == [
        ("kari", "login.failure"),
        ("kari", "login.lock"),
        ("ada", "login.unlock"),
    ]


def test_the_wait_is_capped_and_a_good_login_clears_the_names_count(db: Database) -> None:
    add_user(db)
    at = T0
    for failure in range(1, auth.FREE_FAILURES):
        assert attempt(db, "kari", BAD, at, f"ip:192.0.2.{failure}") == auth.WRONG
    assert attempt(db, "kari", GOOD, at, "ip:192.0.2.99") is None
    (cleared,) = [row for row in audit(db) if row.action == "login.success"]
    assert (cleared.actor, cleared.before) == ("kari", {"failures": auth.FREE_FAILURES - 1})
    for failure in range(1, auth.FREE_FAILURES):  # counting starts again from nothing
        assert attempt(db, "kari", BAD, at, f"ip:192.0.2.{failure}") == auth.WRONG
    with session_scope(db.engine, readonly=True) as session:
        row = session.scalars(select(LoginThrottle).where(LoginThrottle.scope == "user")).one()
        assert row.failures == auth.FREE_FAILURES - 1
    # One client guessing at many names: 12 failures, each after the last wait has passed.
    for failure in range(1, 13):
        assert attempt(db, f"name{failure}", BAD, at, "ip:192.0.2.200") == auth.WRONG
        at += min(timedelta(seconds=2 ** max(failure - auth.FREE_FAILURES, 0)), auth.BACKOFF_CAP)
    # The wait stopped doubling at the cap (the 12th failure would have meant 512 s).
    assert attempt(db, "someone", BAD, at - timedelta(seconds=1), "ip:192.0.2.200") == (
        WAIT.format(1)
    )
    last_failure = at - auth.BACKOFF_CAP
    assert attempt(db, "someone", BAD, last_failure, "ip:192.0.2.200") == WAIT.format(300)


def test_a_client_guessing_at_many_names_waits_and_others_do_not(db: Database) -> None:
    add_user(db)
    guesser, bystander = "ip:192.0.2.66", "ip:192.0.2.7"
    for n in range(auth.FREE_FAILURES - 1):
        assert attempt(db, f"user{n}", BAD, T0, guesser) == auth.WRONG
    # A good login of one account does not clear the client's count ...
    assert attempt(db, "kari", GOOD, T0, guesser) is None
    assert attempt(db, "user9", BAD, T0, guesser) == auth.WRONG
    assert attempt(db, "kari", GOOD, T0, guesser) == WAIT.format(1)
    assert attempt(db, "kari", GOOD, T0, bystander) is None
    # ... an hour without a failure does.
    later = T0 + auth.CLIENT_MEMORY
    for n in range(auth.FREE_FAILURES - 1):
        assert attempt(db, f"user{n + 10}", BAD, later, guesser) == auth.WRONG
    assert attempt(db, "kari", GOOD, later, guesser) is None


def test_an_unknown_name_is_answered_exactly_like_a_real_one(db: Database) -> None:
    add_user(db)
    answers: dict[str, list[str | None]] = {}
    for name in ("kari", "nobody"):
        at, seen = T0, []
        for failure in range(1, auth.LOCK_AFTER + 2):
            seen.append(attempt(db, name, BAD, at, f"session:{name[0]}{failure}"))
            seen.append(attempt(db, name, BAD, at, f"session:{name[0]}"))  # at once again
            at += timedelta(seconds=2**auth.LOCK_AFTER)
        answers[name] = seen
    assert answers["kari"] == answers["nobody"]
    assert answers["kari"][-1] == auth.LOCKED
    rows = audit(db)
    assert {row.actor for row in rows if row.action.startswith("login.")} == {
        "kari",
        "anonymous",
    }
    # Neither the password nor a name that is no one's (often a password typed into the
    # wrong field) is stored, in the audit or in the counters.
    stored = json.dumps([[row.actor, row.entity_id, row.before, row.after] for row in rows])
    with session_scope(db.engine, readonly=True) as session:
        stored += json.dumps(list(session.scalars(select(LoginThrottle.key))))
    assert BAD not in stored
    assert "nobody" not in stored


def test_parallel_guesses_cannot_slip_past_the_wait(db: Database) -> None:
    add_user(db)
    for failure in range(1, auth.FREE_FAILURES):
        attempt(db, "kari", BAD, T0, f"ip:192.0.2.{failure}")
    answers: list[str | None] = []
    start = threading.Barrier(6)

    def guess(n: int) -> None:
        start.wait()
        answers.append(attempt(db, "kari", f"guess-{n}", T0, f"ip:198.51.100.{n}"))

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One guess is checked (the third failure); the rest find the wait it started.
    assert sorted(answers, key=str) == sorted([auth.WRONG] + [WAIT.format(1)] * 5)


def test_a_name_locked_before_its_user_existed_does_not_lock_the_new_user(
    db: Database,
) -> None:
    lock(db, "nina")
    assert attempt(db, "nina", GOOD, T0) == auth.LOCKED
    add_user(db, "nina")
    assert attempt(db, "nina", GOOD, T0) is None


# --- password strength ----------------------------------------------------------------

WEAK = [
    ("password123", None, "This is a very common password"),
    ("qwertyuiop123", None, "This is a very common password"),
    ("aaaaaaaaaaaaaa", None, 'Repeats like "aaa" are easy to guess'),
    ("kari.hansen1", None, "Add another word or two"),  # the username and a digit
    ("fjordlys2025!", "kari.hansen@fjordlys.no", "Add another word or two"),  # the address
]


@pytest.mark.parametrize(("password", "email", "advice"), WEAK)
def test_a_password_easy_to_guess_is_refused_with_advice(
    db: Database, password: str, email: str | None, advice: str
) -> None:
    add_user(db, "kari.hansen")
    with session_scope(db.engine) as session:
        kari = session.scalars(select(User)).one()
        kari.email = email
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        auth.set_password(session, "admin", session.scalars(select(User)).one(), password)
    message = refused.value.errors["password"]
    assert message.startswith("is too easy to guess (") and advice in message


def test_strong_passwords_pass_and_a_weak_one_makes_no_user(db: Database) -> None:
    add_user(db, "ok1", "correct horse battery")
    add_user(db, "ok2", "Tr0ub4dor&3xx")
    with pytest.raises(ValidationError) as refused:
        add_user(db, "weak", "password123")
    assert set(refused.value.errors) == {"password"}
    with session_scope(db.engine, readonly=True) as session:
        assert list(session.scalars(select(User.username).order_by(User.username))) == [
            "ok1",
            "ok2",
        ]


# --- the app and the command line ---------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: Path) -> Iterator[Database]:
    url = use_database(tmp_path, monkeypatch, template)
    engine = make_engine(url)
    yield Database("sqlite", url, engine)
    engine.dispose()


def errors(at: AppTest) -> list[str]:
    return [element.value for element in at.error]


def test_the_login_form_says_how_long_to_wait(app_db: Database) -> None:
    now = datetime.now(UTC)
    # Failures up to a minute's wait, the last one just now (as if from elsewhere).
    for moment in spaced(auth.LOCK_AFTER - 1, now):
        attempt(app_db, "sally", BAD, moment, "ip:198.51.100.1")
    at = log_in(start_app(), "sally", PASSWORD)
    assert not at.exception
    (message,) = errors(at)
    assert re.fullmatch(r"Too many attempts; try again in (6[0-4]) s\.", message), message
    assert "user" not in at.session_state


def test_an_admin_unlocks_a_locked_user_in_the_app(app_db: Database) -> None:
    lock(app_db, "leo", datetime.now(UTC))
    refused = log_in(start_app(), "leo", PASSWORD)
    assert errors(refused) == [auth.LOCKED.capitalize() + "."]

    at = open_page(as_user("ada"), "admin/pages/users.py")
    assert at.selectbox(key="unlock_user_user").options == ["leo"]
    at.selectbox(key="unlock_user_user").set_value("leo")
    at.button(key="unlock_user_submit").click().run()
    assert not at.exception
    assert "leo is unlocked and may log in again." in [s.value for s in at.success]

    leo = log_in(start_app(), "leo", PASSWORD)
    assert "**leo** · Leadership" in [m.value for m in leo.sidebar.markdown]


def test_avtale_user_unlock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AVTALE_HOME", str(tmp_path))
    monkeypatch.delenv("AVTALE_DATABASE_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'avtale.db'}"
    migrate(url)
    db = Database("sqlite", url, make_engine(url))
    add_user(db)
    lock(db, "kari")
    umask = os.umask(0o022)
    assert main(["user", "unlock", "KARI"]) == 0
    assert main(["user", "unlock", "kari"]) == 0
    assert main(["user", "unlock", "nobody"]) == 1
    assert os.umask(umask) == 0o022  # main() puts back the umask it tightened for its run
    out, err = capsys.readouterr()
    assert out.splitlines() == ["unlocked kari", "kari was not locked"]
    assert "there is no user nobody" in err
    assert attempt(db, "kari", GOOD, T0) is None
    assert [row.actor for row in audit(db) if row.action == "login.unlock"] == ["cli"]
    db.engine.dispose()
