"""The multi-machine set-up (ARCHITECTURE.md, "Processes and machines"): the operational
database on PostgreSQL and Dagster's own storage (runs, event log, schedules) on
PostgreSQL through dagster-postgres, so the app, the Dagster daemon and code server, and
`avtale refresh` on other machines share one run history and one run queue.

A real PostgreSQL server (tests/postgres.py) and a real refresh of a small portfolio."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
import yaml
from sqlalchemy import make_url

from avtale.cli import refresh
from avtale.demo_data import write_demo_data
from avtale.pipeline import ingest
from avtale.repository.db import DATABASE_URL_ENV, migrate
from avtale.serving import connect_serving
from avtale.settings import Paths
from dagster_project.instance import PROJECT_CONFIG
from tests.postgres import PostgresServer

pytestmark = pytest.mark.slow


def dagster_config(url: str) -> str:
    """The project's dagster.yaml with Dagster's storage on PostgreSQL in place of the
    data folder's SQLite event log: what each machine's $DAGSTER_HOME/dagster.yaml holds."""
    settings = yaml.safe_load(PROJECT_CONFIG.read_text(encoding="utf-8"))
    del settings["event_log_storage"]
    settings["storage"] = {"postgres": {"postgres_url": url}}
    return yaml.safe_dump(settings, sort_keys=False)


def test_a_refresh_keeps_its_runs_in_postgresql(
    postgres_server: PostgresServer, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_url = postgres_server.url(postgres_server.create_database())
    migrate(app_url)
    dagster_db = postgres_server.create_database()
    # dagster-postgres drives psycopg2 (SQLAlchemy 2.1's plain `postgresql://` means psycopg 3,
    # whose server-side parameters Dagster's NOTIFY does not take): say so in the URL.
    dagster_url = make_url(postgres_server.url(dagster_db)).set(drivername="postgresql+psycopg2")
    home = Paths(tmp_path / "home").ensure()
    home.dagster_home.mkdir(parents=True, exist_ok=True)
    # Written by whoever sets up the machine; `prepare` leaves a file it did not write.
    (home.dagster_home / "dagster.yaml").write_text(
        dagster_config(dagster_url.render_as_string(False)), encoding="utf-8"
    )
    monkeypatch.setenv(DATABASE_URL_ENV, app_url)
    write_demo_data(tmp_path / "exports", companies=30, seed=3, as_of=date(2025, 6, 15))
    ingest(home, [tmp_path / "exports"])

    assert refresh(home)

    with psycopg.connect(dagster_url.set(drivername="postgresql").render_as_string(False)) as con:
        runs = con.execute("SELECT pipeline_name, status FROM runs").fetchall()
        materialised = con.execute(
            "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
        ).fetchone()
    assert runs == [("refresh", "SUCCESS")]
    assert materialised and materialised[0] > 50  # the dbt models, the copies, the publish
    assert not (home.dagster_home / "history").exists()  # nothing went to SQLite
    with connect_serving(home.serving) as con:
        (customers,) = con.execute("SELECT count(*) FROM customers").fetchone() or (0,)
    assert customers > 0
