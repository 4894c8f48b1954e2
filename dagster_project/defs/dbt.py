"""The dbt models as assets; dbt tests become asset checks.

dbt runs inside the run's process (dbtRunner) instead of as a `dbt` CLI child
process: that saves the ~4.5 s start-up and the full re-parse that
DbtCliResource pays on every call (STACK.md). dbt's structured events are
turned into Dagster events by dagster-dbt's own converter, so materialisations
and checks look exactly as with the CLI.
"""

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import dbt_assets
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.artifacts.schemas.results import NodeStatus
from dbt.cli.main import dbtRunner
from dbt_common.events.base_types import EventMsg
from dbt_common.events.functions import msg_to_dict

from avtale.serving import connect
from avtale.settings import DBT_PROJECT_DIR
from dagster_project.defs.resources import AvtaleHome, dbt_project

RESULT_EVENTS = {"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"}
FAILED = {NodeStatus.Error.value, NodeStatus.Fail.value, NodeStatus.RuntimeErr.value}
# How much of a failure a person reads in `avtale refresh`: enough to see what broke.
SHOWN_NODES = 5
SHOWN_ROWS = 5
SHOWN_MESSAGE_LINES = 3
SHOWN_VALUE_CHARS = 64


@dataclass(frozen=True)
class FailedNode:
    """A model, seed or test that failed in a build, with a test's first failing rows."""

    resource_type: str
    name: str
    message: str
    # A failed test's compiled SQL: it selects the rows that fail the test.
    failing_rows_sql: str | None = None
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[object, ...], ...] = ()

    def describe(self) -> str:
        lines = [f"{self.resource_type} {self.name}: {self.message}"]
        if self.columns:
            lines += ["  " + line for line in _table(self.columns, self.rows)]
        return "\n".join(lines)


@dataclass(frozen=True)
class DbtRun:
    success: bool
    events: list[dict]
    failed: list[FailedNode]


def run_dbt(args: list[str], target_path: Path | None = None) -> DbtRun:
    """Run dbt in this process; its success, result events (as dicts) and failed nodes.

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
    results = getattr(result.result, "results", None) or []
    failed = [
        FailedNode(
            resource_type=str(r.node.resource_type),
            name=r.node.name,
            message=_short(r.message or str(r.status)),
            failing_rows_sql=(
                getattr(r.node, "compiled_code", None)
                if str(r.node.resource_type) == "test" and r.status == NodeStatus.Fail.value
                else None
            ),
        )
        for r in results
        if str(r.status) in FAILED
    ]
    return DbtRun(bool(result.success), events, failed)


def _release_warehouse() -> None:
    """dbt-duckdb keeps its DuckDB open for the life of the process; publishing
    and the next ingest need the file, so close it once dbt is done."""
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def with_failing_rows(warehouse: Path, failed: list[FailedNode]) -> list[FailedNode]:
    """The failed tests shown with their first failing rows, read from the warehouse after
    the build (a test's compiled SQL selects exactly the rows that fail it)."""
    readable = [i for i, node in enumerate(failed[:SHOWN_NODES]) if node.failing_rows_sql]
    if not readable:
        return failed
    try:
        con = connect(warehouse, read_only=True)
    except duckdb.Error as exc:  # the failure itself must still be told
        note = f"(failing rows not read: {_short(str(exc))})"
        return [
            replace(n, message=f"{n.message} {note}") if n.failing_rows_sql else n for n in failed
        ]
    with con:
        return [_read_rows(con, node) if i in readable else node for i, node in enumerate(failed)]


def _read_rows(con: duckdb.DuckDBPyConnection, node: FailedNode) -> FailedNode:
    sql = (node.failing_rows_sql or "").strip().rstrip(";")
    try:
        cursor = con.execute(f"SELECT * FROM ({sql}) AS failing LIMIT {SHOWN_ROWS}")
        columns = tuple(d[0] for d in cursor.description)
        rows = tuple(tuple(row) for row in cursor.fetchall())
    except duckdb.Error as exc:
        return replace(node, message=f"{node.message} (failing rows not read: {_short(str(exc))})")
    return replace(node, columns=columns, rows=rows)


def describe_failure(failed: list[FailedNode]) -> str:
    """What broke, in a few lines: each failed node, its message, a test's first rows."""
    if not failed:
        return "dbt build failed: see the run log"
    parts = [f"dbt build failed ({len(failed)} failed):"]
    parts += [node.describe() for node in failed[:SHOWN_NODES]]
    if len(failed) > SHOWN_NODES:
        parts.append(f"... and {len(failed) - SHOWN_NODES} more: see the run log")
    return "\n".join(parts)


def _short(message: str) -> str:
    """dbt's message without its blank lines and indentation, a few lines at most."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return "\n  ".join(lines[:SHOWN_MESSAGE_LINES])


def _table(columns: tuple[str, ...], rows: tuple[tuple[object, ...], ...]) -> list[str]:
    """A small text table; long values are cut."""

    def cell(value: object) -> str:
        text = re.sub(r"\s+", " ", "NULL" if value is None else str(value))
        return text if len(text) <= SHOWN_VALUE_CHARS else text[: SHOWN_VALUE_CHARS - 3] + "..."

    cells = [list(columns), *([cell(v) for v in row] for row in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return lines if rows else [*lines, "(no rows left to show)"]


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project)
def avtale_dbt_models(context: dg.AssetExecutionContext, avtale: AvtaleHome):
    # profiles.yml reads $AVTALE_HOME; make it the run's folder, absolute.
    paths = avtale.paths()
    os.environ["AVTALE_HOME"] = str(paths.home)
    # Unit tests check logic, not data: CI runs them (tests/test_dbt.py), refreshes skip them.
    run = run_dbt(
        ["build", "--exclude", "resource_type:unit_test"], target_path=paths.home / "dbt-target"
    )
    for raw in run.events:
        event = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
        yield from event.to_default_asset_events(
            manifest=dbt_project.manifest_path, context=context, project=dbt_project
        )
    if not run.success:
        failed = with_failing_rows(paths.warehouse, run.failed)
        description = describe_failure(failed)
        raise dg.Failure(
            description=description,
            metadata={
                "failed": [f"{node.resource_type} {node.name}" for node in failed],
                "details": dg.MetadataValue.md(f"```\n{description}\n```"),
            },
        )
