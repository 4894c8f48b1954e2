"""Opening the operational database: the one place its engine is made.

``open_database(paths)`` gives the database of a data folder (``$AVTALE_DATABASE_URL``,
else ``avtale.db`` in the folder), brought up to the newest schema the first time a
process opens it and then kept for the life of the process: one engine and connection
pool per URL, whoever asks (the app's pages, the command line, a Dagster run). The
migration itself takes a lock that works across processes (``repository.db.migrate``),
so app servers and jobs starting together on a fresh database take turns.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, func, make_url, select
from sqlalchemy.exc import SQLAlchemyError

from avtale.repository.db import database_url as database_url
from avtale.repository.db import make_engine, migrate, session_scope
from avtale.repository.models import AuditLog
from avtale.settings import Paths

# Changes with every committed write: (number of audit rows, newest audit id).
Version = tuple[int, int]


class DatabaseUnavailableError(RuntimeError):
    """The database cannot be opened or read: a server that is down, a URL with a typo.
    The message names the URL without its password."""


@dataclass(frozen=True, eq=False)
class Database:
    """The operational database at ``url``, at the newest schema: what every service takes."""

    url: str
    engine: Engine


_opened: dict[str, Database] = {}
_opening = threading.Lock()


def open_database(paths: Paths) -> Database:
    """The operational database of the data folder ``paths``."""
    return database_at(database_url(paths))


def database_at(url: str) -> Database:
    """The database at ``url``, migrated on the first call in this process."""
    with _opening:
        database = _opened.get(url)
        if database is None:
            with _reachable(url):
                migrate(url)
            database = _opened[url] = Database(url, make_engine(url))
        return database


def shown_url(url: str) -> str:
    """The URL as it may be shown: without its password."""
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def _reachable(url: str) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as problem:
        raise DatabaseUnavailableError(
            f"Cannot open the operational database `{shown_url(url)}`: "
            f"{problem.__class__.__name__}. Check `AVTALE_DATABASE_URL` and that the "
            "server is running."
        ) from problem


def close_database(database: Database) -> None:
    """Close the database's connections (on SQLite the last one folds the WAL into the
    file, so a copy of the file is whole); the next ``database_at`` opens it afresh."""
    with _opening:
        if _opened.get(database.url) is database:
            del _opened[database.url]
    database.engine.dispose()


@atexit.register
def _close_all() -> None:
    for database in list(_opened.values()):
        close_database(database)


def version(database: Database) -> Version:
    """Changes with every committed write: every write adds an audit row, so a cache keyed
    by this misses after any write (this process's, another user's, a script's).

    The count covers a transaction that commits after a later-numbered one (PostgreSQL),
    which the newest id alone would miss.
    """
    with _reachable(database.url), session_scope(database.engine, readonly=True) as session:
        count, newest = session.execute(
            select(func.count(AuditLog.id), func.coalesce(func.max(AuditLog.id), 0))
        ).one()
    return int(count), int(newest)
