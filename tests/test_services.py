"""The service layer, the one door to the operational database: every write checks the
actor in its own transaction (a role that may not, a deactivated or unknown user is
refused and nothing is written; the command line's ``System`` actor is not checked), the
slow template check runs before the write transaction, and the database is migrated once
per process under a lock that makes concurrent processes take turns."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text

from avtale.repository import auth
from avtale.repository.db import (
    MIGRATION_LOCK_KEY,
    alembic_config,
    make_engine,
    migration_lock_path,
    session_scope,
)
from avtale.repository.models import AuditLog, Clause, Customer, User
from avtale.services import customers, templates, users
from avtale.services.database import Database, close_database, database_at
from avtale.services.unit_of_work import Outcome, System
from tests.conftest import Database as Backend
from tests.postgres import PostgresServer
from tests.test_template_limits import LOOPS_10_10

PASSWORD = "fjord-analytics-2025"
ROLES = {"leo": "leadership", "anna": "analyst", "sally": "sales_ops", "ada": "admin"}
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture
def database(db: Backend) -> Iterator[Database]:
    """The services' handle on the test's database (SQLite or PostgreSQL), with one user
    per role."""
    with session_scope(db.engine) as session:
        for username, role in ROLES.items():
            auth.create_user(session, "setup", username, PASSWORD, role)
    opened = database_at(db.url)
    yield opened
    close_database(opened)


def written(database: Database) -> tuple[int, int, int]:
    """Customers, clauses and audit rows: what the refused writes below would have made."""
    with session_scope(database.engine, readonly=True) as session:
        return (
            session.scalar(select(func.count(Customer.id))) or 0,
            session.scalar(select(func.count(Clause.id))) or 0,
            session.scalar(select(func.count(AuditLog.id))) or 0,
        )


def new_customer(db: Database, actor: str) -> Outcome:
    return customers.create_customer(db, actor, {"name": "Fjord AS"})


def new_user(db: Database, actor: str) -> Outcome:
    return users.create_user(db, actor, "kari", PASSWORD, "analyst")


def new_clause(db: Database, actor: str) -> Outcome:
    values = {"title": "Data", "body": "We keep it safe.", "sort_order": 5}
    return templates.save_clause(db, actor, "gdpr", "en", values, "")


Write = Callable[[Database, str], Outcome]


@pytest.mark.parametrize(
    ("write", "actor", "refusal"),
    [
        (new_customer, "anna", "your role (analyst) may not do this"),
        (new_customer, "leo", "your role (leadership) may not do this"),
        (new_user, "sally", "your role (sales_ops) may not do this"),
        (new_user, "leo", "your role (leadership) may not do this"),
        (new_clause, "sally", "your role (sales_ops) may not do this"),
        (new_clause, "anna", "your role (analyst) may not do this"),
        (new_customer, "nobody", "your account is not active: log in again"),
        (new_customer, "", "your account is not active: log in again"),
    ],
    ids=[
        "analyst-customer",
        "leadership-customer",
        "sales-ops-user",
        "leadership-user",
        "sales-ops-clause",
        "analyst-clause",
        "unknown-user",
        "no-user",
    ],
)
def test_a_write_is_refused_to_an_actor_who_may_not_and_writes_nothing(
    database: Database, write: Write, actor: str, refusal: str
) -> None:
    before = written(database)
    outcome = write(database, actor)
    assert outcome.errors == {"form": refusal}
    assert written(database) == before


def test_a_deactivated_user_may_write_nothing_even_with_a_role_that_may(
    database: Database,
) -> None:
    assert users.update_user_access(database, "ada", "sally", None, "deactivate").ok
    before = written(database)
    for write in (new_customer, new_clause):
        assert write(database, "sally").errors == {
            "form": "your account is not active: log in again"
        }
    assert written(database) == before
    # The same actor once reactivated (and the same write) goes through.
    assert users.update_user_access(database, "ada", "sally", None, "reactivate").ok
    assert new_customer(database, "sally").ok


@pytest.mark.parametrize(
    ("write", "actor"),
    [(new_customer, "sally"), (new_user, "ada"), (new_clause, "ada")],
    ids=["sales-ops-customer", "admin-user", "admin-clause"],
)
def test_a_role_that_may_writes_with_its_audit_row(
    database: Database, write: Write, actor: str
) -> None:
    audited = written(database)[2]
    assert write(database, actor).ok
    assert written(database)[2] == audited + 1  # audited in the same transaction


def test_the_command_line_writes_as_the_system_without_a_user_of_its_name(
    database: Database,
) -> None:
    # No user "cli" exists: a plain name is refused, the System actor is the server's own.
    assert new_user(database, "cli").errors == {"form": "your account is not active: log in again"}
    outcome = new_user(database, System("cli"))
    assert outcome.ok and outcome.detail == {"username": "kari", "role": "analyst"}
    with session_scope(database.engine, readonly=True) as session:
        entry = session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert entry is not None and (entry.actor, entry.action) == ("cli", "user.create")
        assert session.scalar(select(User.role).where(User.username == "kari")) == "analyst"


# --- the template check and the write lock --------------------------------------------


def test_the_template_check_does_not_hold_the_write_lock(tmp_path: Path) -> None:
    """A template that loops until the check stops it (5 s) is being checked while another
    user saves: that save must not wait for the check (on SQLite a write transaction locks
    the whole database, and its busy timeout is 5 s)."""
    url = f"sqlite:///{tmp_path / 'avtale.db'}"
    database = database_at(url)
    try:
        with session_scope(database.engine) as session:
            auth.create_user(session, "setup", "ada", PASSWORD, "admin")
            auth.create_user(session, "setup", "sally", PASSWORD, "sales_ops")
        answer: list[Outcome] = []
        upload = threading.Thread(
            target=lambda: answer.append(
                templates.save_template(
                    database,
                    "ada",
                    "looping",
                    {"name": "Looping", "purpose": "agreement"},
                    text=f"<p>{LOOPS_10_10}</p>",
                )
            )
        )
        upload.start()
        time.sleep(1.0)  # the check is running by now (it starts within milliseconds)
        started = time.monotonic()
        saved = new_customer(database, "sally")
        waited = time.monotonic() - started
        upload.join(60)
        assert saved.ok, saved.errors
        assert waited < 2.0, f"the save waited {waited:.1f} s for the template check"
        assert answer and "took longer than 5 s" in answer[0].errors["body"]
    finally:
        close_database(database)


# --- opening and migrating ------------------------------------------------------------


def test_a_process_opens_a_database_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'avtale.db'}"
    first = database_at(url)
    try:
        lock = migration_lock_path(url)
        assert lock is not None and lock.exists()
        # Another migration of this database would now wait for the lock: opening it again
        # in this process does not migrate, so it does not wait.
        with held_file_lock(lock):
            again: list[Database] = []
            opener = threading.Thread(target=lambda: again.append(database_at(url)), daemon=True)
            opener.start()
            opener.join(5)
            assert again == [first]
    finally:
        close_database(first)


MIGRATE = """
import sys, time
from pathlib import Path
from avtale.services.database import database_at
ready, go = Path(sys.argv[2]), Path(sys.argv[3])
ready.touch()
while not go.exists():
    time.sleep(0.01)
database_at(sys.argv[1])
"""


def start_migrating(url: str, folder: Path, name: str) -> tuple[subprocess.Popen[str], Path]:
    """A process that opens (and so migrates) ``url`` once ``folder/go`` exists; and the
    file it makes when it is ready to."""
    ready = folder / f"{name}.ready"
    process = subprocess.Popen(
        [sys.executable, "-c", MIGRATE, url, str(ready), str(folder / "go")],
        env={**os.environ, "AVTALE_HOME": str(folder / "home")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, ready


def wait_for(*files: Path) -> None:
    deadline = time.monotonic() + 60
    while not all(file.exists() for file in files):
        assert time.monotonic() < deadline, "the processes did not start"
        time.sleep(0.05)


def finished(process: subprocess.Popen[str]) -> None:
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err


def schema_at_head(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
            assert versions == [(HEAD,)]
            assert {"customers", "contracts", "audit_log", "users"} <= set(
                inspect(connection).get_table_names()
            )
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database nothing has created tables in yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'avtale.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    yield server.url(name)
    server.drop_database(name)


def test_two_processes_migrating_a_fresh_database_at_once_both_succeed(
    fresh_url: str, tmp_path: Path
) -> None:
    started = [start_migrating(fresh_url, tmp_path, name) for name in ("first", "second")]
    wait_for(*(ready for _, ready in started))
    (tmp_path / "go").touch()
    for process, _ in started:
        finished(process)
    schema_at_head(fresh_url)


def test_a_migration_waits_for_the_one_under_way(fresh_url: str, tmp_path: Path) -> None:
    with held_migration_lock(fresh_url):
        process, ready = start_migrating(fresh_url, tmp_path, "waiting")
        (tmp_path / "go").touch()
        wait_for(ready)
        time.sleep(1.5)  # ample time to migrate, were it not waiting
        assert process.poll() is None, process.communicate()
        assert not has_tables(fresh_url)
    finished(process)
    schema_at_head(fresh_url)


def has_tables(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return bool(inspect(connection).get_table_names())
    finally:
        engine.dispose()


class held_file_lock:
    """The migration lock of an SQLite database, held by this process on its own handle."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        import fcntl

        self.descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.descriptor, fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        os.close(self.descriptor)


class held_migration_lock:
    """What a migration under way holds: the lock file (SQLite) or the advisory lock
    (PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock_file = migration_lock_path(url)

    def __enter__(self) -> None:
        if self.lock_file is not None:
            self.file = held_file_lock(self.lock_file)
            self.file.__enter__()
            return
        conninfo = self.url.replace("postgresql+psycopg://", "postgresql://")
        self.connection = psycopg.connect(conninfo, autocommit=True)
        self.connection.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))

    def __exit__(self, *_exc: object) -> None:
        if self.lock_file is not None:
            self.file.__exit__()
        else:
            self.connection.close()
