"""dbt in this process: how it opens the warehouse, and that the warehouse is free for
publishing as soon as a dbt command ends."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from dbt.adapters.duckdb import environments
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.adapters.duckdb.credentials import Attachment, DuckDBCredentials
from dbt.tracking import track_behavior_change_warn
from dbt_common.events import event_manager
from dbt_common.events.base_types import EventLevel
from dbt_common.events.event_manager_client import get_event_manager
from dbt_common.events.logger import LoggerConfig
from dbt_common.events.types import Note

from avtale.serving import connect_warehouse, publish
from avtale.settings import DBT_PROJECT_DIR
from dagster_project import dbt_runs
from dagster_project.dbt_runs import (
    checkpoint_each_file,
    describe_failure,
    parse_ahead,
    release_warehouse,
    released_meanwhile,
    run_dbt,
)


def release_behind_a_body() -> None:
    with released_meanwhile():  # as the dbt asset: its results stored meanwhile
        pass


@pytest.mark.parametrize("release", [release_warehouse, release_behind_a_body])
def test_a_held_dbt_environment_does_not_keep_the_warehouse_from_publishing(
    tmp_path: Path, release: Callable[[], None]
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

    release()

    assert publish(marts, tmp_path / "serving.duckdb") == ["kpis"]
    release_warehouse()  # nothing open: a no-op, not an error


def test_each_written_file_is_checkpointed_before_the_close(tmp_path: Path) -> None:
    """What a build left in the write-ahead logs is folded into the files while the
    database is still open (the close then has nothing left to do); a file attached
    read-only is left alone, and a name that needs quoting is quoted."""
    warehouse, marts, other = (tmp_path / f"{name}.duckdb" for name in ("w", "m", "o"))
    duckdb.connect(str(other)).close()
    con = duckdb.connect(str(warehouse))
    con.execute("SET checkpoint_threshold = '1GB'")  # as during a build: nothing folded yet
    con.execute(f'ATTACH \'{marts}\' AS "the ""marts"""')
    con.execute(f"ATTACH '{other}' AS other (READ_ONLY)")
    con.execute("CREATE TABLE t AS SELECT range AS n FROM range(1000)")
    con.execute('CREATE TABLE "the ""marts"""."main".t AS SELECT 2 AS n')
    logs = [Path(f"{path}.wal") for path in (warehouse, marts)]
    assert all(log.exists() and log.stat().st_size > 0 for log in logs)

    checkpoint_each_file(con)

    assert [log.stat().st_size if log.exists() else 0 for log in logs] == [0, 0]
    assert con.execute('SELECT count(*) FROM "the ""marts""".t').fetchone() == (1,)
    con.close()


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


def test_only_events_someone_receives_are_turned_into_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no logger and only dbt's own callback (which reads warnings), dbt's events
    below warning level are dropped before dbt builds their messages; warnings are not,
    and nothing is once a logger listens."""
    built: list[str] = []

    def message(event, level=None):  # type: ignore[no-untyped-def]
        built.append(event.msg)
        return original(event, level=level)

    original = event_manager.msg_from_base_event
    monkeypatch.setattr(event_manager, "msg_from_base_event", message)
    manager = get_event_manager()  # as this module's import installed it
    monkeypatch.setattr(manager, "loggers", [])
    monkeypatch.setattr(manager, "callbacks", [track_behavior_change_warn])

    manager.fire_event(Note(msg="info"))
    manager.fire_event(Note(msg="debug"), level=EventLevel.DEBUG)
    manager.fire_event(Note(msg="warning"), level=EventLevel.WARN)
    assert built == ["warning"]

    manager.add_logger(LoggerConfig(name="test", level=EventLevel.ERROR))
    manager.fire_event(Note(msg="info, logger there"))
    assert built == ["warning", "info, logger there"]


@pytest.mark.slow
def test_a_warning_still_fails_a_command_run_with_warn_error(tmp_path: Path) -> None:
    variables = json.dumps({"warehouse_path": str(tmp_path / "warehouse.duckdb")})
    args = ["build", "--warn-error", "--select", "no_such_model"]

    with pytest.raises(Exception, match="no_such_model"):
        run_dbt(args, tmp_path / "dbt-target", variables)
    # and without --warn-error, the command runs (nothing to build) and its results are
    # written, as the tests of the pipeline read them
    run = run_dbt(args[:1] + args[2:], tmp_path / "dbt-target", variables)
    assert run.success and run.results == []
    assert json.loads((tmp_path / "dbt-target" / "run_results.json").read_text())["results"] == []


@pytest.mark.slow
def test_a_new_data_folder_parses_only_what_changed_in_the_project(tmp_path: Path) -> None:
    """The project is parsed apart from the data folder: a folder's first build (a new
    folder, the next test's, a benchmark's) finds the parse of another folder with the
    same settings and re-reads no project file, and the stand-in warehouse the parse
    names is never opened: the build runs on the folder's own."""
    settings = {"reporting_currency": "SEK", "forecast_cpi_percent": 2.5}
    folders = [tmp_path / "first", tmp_path / "second"]

    def variables(folder: Path) -> str:
        return json.dumps({**settings, "warehouse_path": str(folder / "warehouse.duckdb")})

    for folder in folders:
        dbt_runs._manifests.clear()  # as in a new process
        assert parse_ahead(folder / "dbt-target", variables(folder))

    def parsed_in(folder: Path) -> Path:
        arguments = dbt_runs._parse_arguments(folder / "dbt-target", variables(folder), "duckdb")
        return Path(arguments[arguments.index("--target-path") + 1])

    shared = parsed_in(folders[1])
    assert shared == parsed_in(folders[0])
    perf = json.loads((shared / "perf_info.json").read_text())
    assert perf["is_partial_parse_enabled"] and perf["parsed_path_count"] == 0

    run = run_dbt(
        ["show", "--inline", "select 1 as n"], folders[1] / "dbt-target", variables(folders[1])
    )
    assert run.success, describe_failure(run.failed)
    assert (folders[1] / "warehouse.duckdb").exists()
    assert not list(shared.glob("warehouse*"))


def test_only_the_profile_reads_the_warehouse_path() -> None:
    """What lets data folders share a parse (dbt_runs._parse_arguments): a model, macro,
    test or config that read the warehouse path would keep the parse's stand-in."""
    readers = [
        path.relative_to(DBT_PROJECT_DIR)
        for path in DBT_PROJECT_DIR.rglob("*")
        if path.suffix in {".sql", ".yml", ".yaml", ".md"}
        and path.relative_to(DBT_PROJECT_DIR).parts[0] not in {"target", "logs", "dbt_packages"}
        and "warehouse_path" in path.read_text(encoding="utf-8")
    ]
    assert readers == [Path("profiles.yml")]
