"""The warehouse is free for publishing as soon as a dbt command in this process ends."""

from __future__ import annotations

from pathlib import Path

from dbt.adapters.duckdb import environments
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.adapters.duckdb.credentials import Attachment, DuckDBCredentials

from avtale.serving import connect_warehouse, publish
from dagster_project.dbt_runs import release_warehouse


def test_a_held_dbt_environment_does_not_keep_the_warehouse_from_publishing(
    tmp_path: Path,
) -> None:
    warehouse, marts = tmp_path / "warehouse.duckdb", tmp_path / "marts.duckdb"
    with connect_warehouse(warehouse) as con:
        con.execute("CREATE TABLE marts.kpis AS SELECT 1 AS n")
    # The adapter's environment as a dbt build leaves it (open, keep_open), and one more
    # reference to it, as a reference cycle inside dbt sometimes holds it until GC runs.
    env = environments.create(
        DuckDBCredentials(
            database="warehouse",
            schema="main",
            path=str(warehouse),
            attach=[Attachment(path=str(marts), alias="marts")],
        )
    )
    env.handle().cursor().execute("SELECT 1")
    DuckDBConnectionManager._ENV = env  # type: ignore[assignment]  # what dbt sets

    release_warehouse()

    assert publish(marts, tmp_path / "serving.duckdb") == ["kpis"]
    release_warehouse()  # nothing open: a no-op, not an error
