"""A throw-away PostgreSQL server for the tests: one cluster per test session.

The server binaries (``initdb``, ``pg_ctl``) come from PATH or /usr/lib/postgresql/*/bin;
without them the PostgreSQL tests are skipped, saying why. initdb refuses to run as root,
so as root the cluster belongs to the ``postgres`` OS user. ``$AVTALE_TEST_POSTGRES_URL``
(a superuser URL) uses a running server instead; ``$AVTALE_REQUIRE_POSTGRES`` turns the
skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import make_url

EXTERNAL_URL_ENV = "AVTALE_TEST_POSTGRES_URL"
# Set in CI, where a missing server must fail the run rather than skip half the tests.
REQUIRED_ENV = "AVTALE_REQUIRE_POSTGRES"
# Durability buys nothing in a cluster that is deleted at the end; speed does.
FAST_SETTINGS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


@dataclass(frozen=True)
class PostgresServer:
    admin_url: str  # a superuser connection to the maintenance database

    def url(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(False)

    def _admin(self, statement: sql.Composed) -> None:
        conninfo = make_url(self.admin_url).set(drivername="postgresql")
        with psycopg.connect(conninfo.render_as_string(False), autocommit=True) as connection:
            connection.execute(statement)

    def create_database(self) -> str:
        """A new empty database; its name."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def find_binaries() -> Path | None:
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        # /usr/local/bin/initdb is often a link into the versioned folder beside pg_ctl.
        return Path(on_path).resolve().parent
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
    )
    return installed[-1] if installed and (installed[-1] / "initdb").exists() else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get(REQUIRED_ENV):
        pytest.fail(f"{reason} (and ${REQUIRED_ENV} is set)")
    pytest.skip(reason)


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    external = os.environ.get(EXTERNAL_URL_ENV)
    if external:
        yield PostgresServer(external)
        return
    binaries = find_binaries()
    if binaries is None:
        _unavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _unavailable("running as root without runuser: initdb refuses root")
    # Not under pytest's tmp folder: that is private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="avtale-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        try:
            shutil.chown(folder, "postgres", "postgres")
        except LookupError:
            shutil.rmtree(folder)
            _unavailable("running as root and there is no postgres OS user to run initdb as")
    port = free_port()

    def run(*command: str) -> None:
        done = subprocess.run(_as_owner(list(command)), capture_output=True, text=True)
        if done.returncode != 0:
            log = folder / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{command[0]} failed:\n{done.stdout}{done.stderr}{tail}")

    try:
        run(
            str(binaries / "initdb"),
            *("-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"),
            *("--locale=C.UTF-8", "--no-sync", "--no-instructions"),
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 {FAST_SETTINGS}"
        run(
            str(binaries / "pg_ctl"),
            *("-D", str(data), "-l", str(folder / "server.log"), "-o", options, "-w", "start"),
        )
        yield PostgresServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
    finally:
        if (data / "postmaster.pid").exists():
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
