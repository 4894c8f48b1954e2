"""Opening, migrating and transacting on the operational database (SQLite or PostgreSQL)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.orm import Session

from avtale.settings import PRIVATE_DIR, PRIVATE_FILE, Paths, tighten

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DATABASE_URL_ENV = "AVTALE_DATABASE_URL"
# A session bound with this execution option only reads: on SQLite it starts a deferred
# transaction instead of taking the write lock, on PostgreSQL a READ ONLY one; writes fail.
READONLY = "avtale_readonly"
# The key of the PostgreSQL advisory lock that migrations of one database take in turns
# ("avtale" in ASCII and 1: a fixed number; auth's locks use hashes of names).
MIGRATION_LOCK_KEY = 0x6176_7461_6C65_0001
# Beside an SQLite file: the file that migrations of that database lock in turns.
MIGRATION_LOCK_SUFFIX = ".migrate-lock"


def database_url(paths: Paths) -> str:
    """``$AVTALE_DATABASE_URL`` if set, else an SQLite file in the data folder."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{paths.home / 'avtale.db'}"


def _normalise(url: str | URL) -> URL:
    parsed = make_url(url)
    # Plain postgresql:// would pick psycopg2, which is not installed; psycopg 3 is.
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL) -> Engine:
    """An engine with the per-connection settings the repository relies on."""
    parsed = _normalise(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(parsed, pool_pre_ping=True)
        event.listen(engine, "begin", _postgresql_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite opens transactions lazily on its own; hand that to the "begin" event instead,
    # so every transaction starts when SQLAlchemy says and in the mode we choose.
    dbapi_connection.isolation_level = None
    _keep_private(dbapi_connection)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    # SQLite's lower() folds ASCII only; searches must match "Øresund" typed as "øresund".
    dbapi_connection.create_function("avtale_lower", 1, _lower, deterministic=True)


def _keep_private(dbapi_connection: Any) -> None:
    # Connecting creates the file with the process's umask; SQLite then gives the -wal and
    # -shm files the database file's mode, so tightening it before WAL starts covers all three.
    for _, _, file in dbapi_connection.execute("PRAGMA database_list").fetchall():
        if file:  # not an in-memory database
            for path in (Path(file), Path(f"{file}-wal"), Path(f"{file}-shm")):
                tighten(path)


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def _sqlite_begin(connection: Connection) -> None:
    # A deferred transaction that reads and then writes cannot wait for the write lock:
    # SQLite fails it at once with "database is locked" when another writer got there first.
    # Taking the lock up front (IMMEDIATE) lets busy_timeout queue writers instead.
    readonly = connection.get_execution_options().get(READONLY, False)
    # query_only makes a read-only session refuse writes, as PostgreSQL's READ ONLY does.
    connection.exec_driver_sql(f"PRAGMA query_only={int(readonly)}")
    connection.exec_driver_sql("BEGIN DEFERRED" if readonly else "BEGIN IMMEDIATE")


def _postgresql_begin(connection: Connection) -> None:
    if connection.get_execution_options().get(READONLY, False):
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def alembic_config() -> Config:
    """Alembic configured in code: no alembic.ini is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(url: str | URL, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``; a no-op when it is already there.

    Processes that migrate one database at once (two app servers starting, the app and a
    Dagster run on a fresh data folder) take turns: the second waits for the first, then
    finds the schema at ``revision`` and does nothing.
    """
    parsed = _normalise(url)
    engine = make_engine(parsed)
    try:
        if revision == "head" and _at_head(engine):
            return
        with _file_lock(parsed), engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Held until this transaction commits, i.e. until the schema is there.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def _at_head(engine: Engine) -> bool:
    """Whether the schema is already at the newest revision, read without the write lock:
    the check in every process that opens the database (a refresh, a Dagster run) would
    otherwise hold SQLite's write lock while Alembic loads its scripts, and app writes
    queued behind it longer than their busy timeout fail with "database is locked"."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.connect() as connection:
        connection.execution_options(**{READONLY: True})
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == heads


def migration_lock_path(url: str | URL) -> Path | None:
    """The lock file beside an SQLite database file; None for PostgreSQL or ``:memory:``."""
    parsed = _normalise(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(f"{parsed.database}{MIGRATION_LOCK_SUFFIX}")


@contextmanager
def _file_lock(url: URL) -> Iterator[None]:
    # SQLite's own lock is not enough: its busy timeout (5 s) is shorter than a migration
    # may take, and a second process would fail with "database is locked" instead of waiting.
    path = migration_lock_path(url)
    if path is None:
        yield
        return
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # released when the descriptor closes
        yield
    finally:
        os.close(descriptor)


@contextmanager
def session_scope(engine: Engine, *, readonly: bool = False) -> Iterator[Session]:
    """One ``with`` block is one transaction: committed at the end, rolled back on any error."""
    bind = engine.execution_options(**{READONLY: True}) if readonly else engine
    with Session(bind, expire_on_commit=False) as session, session.begin():
        yield session
