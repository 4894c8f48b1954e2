"""The dbt models as assets; dbt tests become asset checks.

dbt runs inside the run's process (dbtRunner) instead of as a `dbt` CLI child
process: that saves the ~4.5 s start-up and the full re-parse that
DbtCliResource pays on every call (STACK.md). dbt's structured events are
turned into Dagster events by dagster-dbt's own converter, so materialisations
and checks look exactly as with the CLI.
"""

import os
from pathlib import Path

import dagster as dg
from dagster_dbt import dbt_assets
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.cli.main import dbtRunner
from dbt_common.events.base_types import EventMsg
from dbt_common.events.functions import msg_to_dict

from avtale.settings import DBT_PROJECT_DIR
from dagster_project.defs.resources import AvtaleHome, dbt_project

RESULT_EVENTS = {"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"}


def run_dbt(args: list[str], target_path: Path | None = None) -> tuple[bool, list[dict]]:
    """Run dbt in this process; return success and its result events as dicts.

    `target_path` keeps dbt's artifacts and partial-parse state per data folder:
    the warehouse path is part of the profile, so sharing one target between
    folders would make every switch a full re-parse (~4 s).
    """
    events: list[dict] = []

    def collect(msg: EventMsg) -> None:
        if msg.info.name in RESULT_EVENTS:
            events.append(msg_to_dict(msg))

    project = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    if target_path is not None:
        project += ["--target-path", str(target_path)]
    try:
        result = dbtRunner(callbacks=[collect]).invoke([*args, *project, "--quiet"])
    finally:
        _release_warehouse()
    if result.exception is not None:
        raise result.exception
    return bool(result.success), events


def _release_warehouse() -> None:
    """dbt-duckdb keeps its DuckDB open for the life of the process; publishing
    and the next ingest need the file, so close it once dbt is done."""
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project)
def avtale_dbt_models(context: dg.AssetExecutionContext, avtale: AvtaleHome):
    # profiles.yml reads $AVTALE_HOME; make it the run's folder, absolute.
    home = avtale.paths().home
    os.environ["AVTALE_HOME"] = str(home)
    # Unit tests check logic, not data: CI runs them (tests/test_dbt.py), refreshes skip them.
    success, events = run_dbt(
        ["build", "--exclude", "resource_type:unit_test"], target_path=home / "dbt-target"
    )
    for raw in events:
        event = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
        yield from event.to_default_asset_events(
            manifest=dbt_project.manifest_path, context=context, project=dbt_project
        )
    if not success:
        raise dg.Failure("dbt build failed: see the failed checks and the run log")
