"""dbt in this process: how it opens the warehouse, and that the warehouse is free for
publishing as soon as a dbt command ends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dbt.adapters.duckdb import environments
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.adapters.duckdb.credentials import Attachment, DuckDBCredentials

from avtale.serving import connect_warehouse, publish
from dagster_project.dbt_runs import describe_failure, release_warehouse, run_dbt


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


@pytest.mark.slow
def test_dbt_opens_the_warehouse_offline_and_within_the_memory_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The profile's DuckDB settings reach the cursors dbt runs the models on
    (dbt/profiles.yml): no extension is fetched or loaded at run time, and the benchmark's
    memory limit holds."""
    monkeypatch.setenv("AVTALE_DUCKDB_MEMORY_LIMIT", "300MB")
    variables = json.dumps({"warehouse_path": str(tmp_path / "warehouse.duckdb")})
    names = ["autoinstall_known_extensions", "autoload_known_extensions", "memory_limit"]
    sql = "select " + ", ".join(f"current_setting('{name}') as {name}" for name in names)

    run = run_dbt(["show", "--inline", sql], tmp_path / "dbt-target", variables)

    assert run.success, describe_failure(run.failed)
    [row] = run.results[0].agate_table.rows
    assert dict(zip(names, row, strict=True)) == {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "memory_limit": "286.1 MiB",
    }
