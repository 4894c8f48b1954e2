"""The data folder is its owner's alone: real operations in a fresh $AVTALE_HOME (and one
found too open) leave no file that group or others may read and no folder but 0700."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from avtale.notify.mail import OutboxMailer, build_message, mail_settings
from avtale.pipeline import ingest_inbox
from avtale.repository import auth
from avtale.repository.db import database_url, make_engine, migrate, session_scope
from avtale.repository.documents import documents_dir, write_blob
from avtale.serving import connect_warehouse, publish
from avtale.settings import Paths
from tests.sample_files import drop, minimal_pdf

COMPANIES = "Record ID,Company name\n1,Bølgen AS\n2,Ærø ApS\n"


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common default, whatever an earlier test left: the modes must not hang on it."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def too_open(home: Path) -> list[str]:
    """Every file group or others may use, and every folder that is not 0700."""
    found = []
    for folder, folders, files in os.walk(home):
        for name in [".", *folders, *files]:
            path = Path(folder) / name
            status = path.lstat()
            mode = stat.S_IMODE(status.st_mode)
            is_dir = stat.S_ISDIR(status.st_mode)
            if (is_dir and mode != 0o700) or (not is_dir and mode & 0o077):
                found.append(f"{path.relative_to(home)} {mode:o}")
    return sorted(found)


def test_every_file_avtale_writes_is_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o755)  # made by hand, before Avtale ever ran
    paths = Paths(home).ensure()

    # The operational database, with a user (its -wal and -shm stay while it is open).
    url = database_url(paths)
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        auth.create_user(session, "setup", "kari", "fjord-analytics-2025", "admin")

    # Files through the inbox into the warehouse; one is refused and noted beside it.
    drop(paths.inbox / "companies.csv", COMPANIES).chmod(0o644)
    drop(paths.inbox / "scribbles.txt", "nothing Avtale can read\n").chmod(0o644)
    report = ingest_inbox(paths)
    assert sorted(f.status for f in report.files) == ["error", "loaded"]

    # A serving copy published from the warehouse.
    con = connect_warehouse(paths.warehouse)
    con.execute("CREATE TABLE marts.mrr AS SELECT 1 AS customers")
    con.close()
    assert publish(paths.marts, paths.serving) == ["mrr"]

    # A document and a mail in the outbox.
    pdf = minimal_pdf()
    write_blob(documents_dir(paths), pdf, hashlib.sha256(pdf).hexdigest(), ".pdf")
    mailer = OutboxMailer(mail_settings(paths, {}))
    message = build_message(
        message_id="<reminder.1@avtale.example.no>",
        subject="Notice deadline in 30 days",
        body="Fjord Analytics AS: give notice by 1 April.",
        to="kari@example.no",
        sender="Avtale <avtale@example.no>",
    )
    mailer.send(message)

    written = {path.relative_to(home).parts[0] for path in home.rglob("*") if path.is_file()}
    assert {"avtale.db", "avtale.db-wal", "avtale.db-shm", "warehouse.duckdb"} <= written
    assert {"serving.duckdb", "documents", "outbox", "archive", "rejected"} <= written
    assert too_open(home) == []
    engine.dispose()


def test_the_command_line_keeps_the_data_folder_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    export = drop(tmp_path / "companies.csv", COMPANIES)
    env = {**os.environ, "AVTALE_HOME": str(home)}
    env.pop("AVTALE_DATABASE_URL", None)
    avtale = str(Path(sys.executable).parent / "avtale")  # the installed command
    for command, stdin in (
        (["ingest", str(export)], ""),
        (["user", "add", "kari", "--role", "admin", "--password-stdin"], "fjord-analytics-2025\n"),
    ):
        done = subprocess.run(
            [avtale, *command], input=stdin, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    assert (home / "avtale.db").exists() and (home / "warehouse.duckdb").exists()
    assert too_open(home) == []
