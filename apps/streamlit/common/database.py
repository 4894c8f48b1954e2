"""The operational database for the whole app server, and its version for the caches.

Reads are cached by the ``*_reads`` modules: their functions take the database URL and its
``version`` as plain arguments. Every write adds an audit row, so a write anywhere (this
session, another user, a script) changes the version and misses the cache. Writes take
``database()`` and go to ``avtale.services``, which checks the permission and audits.
"""

from __future__ import annotations

import streamlit as st

from avtale.services import templates
from avtale.services.database import Database, Version, database_at, database_url
from avtale.services.database import version as version_of
from avtale.settings import paths

TTL = 300  # seconds; the version key already misses on every write, the ttl bounds memory


@st.cache_resource
def opened(url: str) -> Database:
    """The database at ``url`` for the whole server: its schema brought up to date once
    and, into a database that has none, the built-in templates, clauses and catalogue."""
    database = database_at(url)
    templates.install_builtins(database)
    return database


def database() -> Database:
    """The operational database of this data folder, for the services' writes."""
    return opened(database_url(paths()))


def current() -> tuple[str, Version]:
    """The database URL and its version, for the cached reads."""
    url = database_url(paths())
    return url, version_of(opened(url))
