"""An operational database with one user per role, and the steps of using the app as one.

Hashing four passwords takes most of a second, so the users are made once per test
session in a template database that each test copies.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from avtale.services import templates, users
from avtale.services.database import close_database, database_at
from avtale.services.unit_of_work import System
from avtale.settings import STREAMLIT_APP

PASSWORD = "fjord-analytics-2025"
# username -> role
USERS = {"leo": "leadership", "anna": "analyst", "sally": "sales_ops", "ada": "admin"}


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_template(folder: Path) -> Path:
    """A migrated database holding USERS, all with PASSWORD, and the built-in templates,
    clauses and catalogue (as the app installs them on first use)."""
    path = folder / "avtale.db"
    database = database_at(sqlite_url(path))
    for username, role in USERS.items():
        assert users.create_user(database, System("setup"), username, PASSWORD, role).ok
    templates.install_builtins(database)
    # Closing the last connection folds SQLite's WAL into the file, so a copy is whole.
    close_database(database)
    return path


def use_database(home: Path, monkeypatch: pytest.MonkeyPatch, template: Path | None) -> str:
    """Point the app at ``home`` and its own database (a copy of ``template``, or empty)."""
    path = home / "avtale.db"
    if template is not None:
        shutil.copy(template, path)
    url = sqlite_url(path)
    monkeypatch.setenv("AVTALE_HOME", str(home))
    monkeypatch.setenv("AVTALE_DATABASE_URL", url)
    return url


def app_formatter(locale: str = "nb") -> Any:
    """The app's formatter (``common.fmt``) of ``locale``, imported as its pages import it:
    what a user of that locale reads (the users here have the default, nb)."""
    if str(STREAMLIT_APP.parent) not in sys.path:
        sys.path.insert(0, str(STREAMLIT_APP.parent))
    from common.fmt import formatter

    return formatter(locale)


def start_app() -> AppTest:
    return AppTest.from_file(str(STREAMLIT_APP), default_timeout=30).run()


def log_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    return at.button(key="login_submit").click().run()


def as_user(username: str) -> AppTest:
    at = log_in(start_app(), username)
    assert not at.exception
    return at


def open_page(at: AppTest, page: str, **params: str) -> AppTest:
    at.query_params.clear()
    at.query_params.update(params)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at
