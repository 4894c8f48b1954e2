"""dbt run in this process, and a failed build told in a few lines.

In this process (dbt's documented `dbtRunner`), not as a `dbt` child process: a child
pays Python and dbt's start-up and a parse on every run. Measured at 1,000 demo
companies on the 2-core machine: the dbt step of a refresh took 10-20 s in process
against 20-28 s through dagster-dbt's `DbtCliResource`, and one mart alone 2.4 s
against 16 s (see dagster_project/defs/dbt.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.artifacts.schemas.run import RunExecutionResult
from dbt.cli.main import dbtRunner
from dbt.tracking import track_behavior_change_warn
from dbt_common.events.base_types import BaseEvent, EventLevel
from dbt_common.events.event_manager import EventManager
from dbt_common.events.event_manager_client import ctx_set_event_manager

from avtale.serving import connect_warehouse
from avtale.settings import DBT_PROJECT_DIR

FAILED = {"error", "fail", "runtime error"}
# Where the project is parsed for builds on DuckDB, whichever data folder they build (see
# `_parse_arguments`); under dbt/target, which the manifest check leaves out (project.py).
SHARED_PARSES = DBT_PROJECT_DIR / "target" / "parses"
# Commands whose results `run_dbt` writes to run_results.json itself (see there).
RESULT_COMMANDS = {"build", "run", "test", "seed"}
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
    """A dbt command's outcome: dbt's result per node (`RunResult`s) and the failed ones."""

    success: bool
    results: Sequence[Any]
    failed: list[FailedNode]


def run_dbt(
    args: list[str],
    target_path: Path,
    variables: str,
    target: str = "duckdb",
    keep_open: bool = False,
) -> DbtRun:
    """Run dbt in this process on the project in dbt/, with `--vars variables`, on the
    profile's `target` (an engine of avtale.settings.ENGINES). The warehouse is released
    when dbt ends; with ``keep_open``, when dbt ended with results, by the caller (in
    `released_meanwhile`).

    `target_path` keeps the command's artifacts (run_results.json, the compiled SQL) per
    data folder. The project is parsed apart from them (`_parse_arguments`), and the
    manifest is kept for the next run in this process (dbt's documented
    `dbtRunner(manifest=...)`): the warm worker then skips dbt's parse step entirely.
    """
    target_path.mkdir(parents=True, exist_ok=True)
    common = _common_arguments(target_path, variables, target)
    # dbt writes manifest.json again after every command (~0.3 s), though the manifest
    # comes unchanged from the parse, which wrote it; only the results are new.
    writes_results = bool(args) and args[0] in RESULT_COMMANDS
    if writes_results:
        args = [*args, "--no-write-json"]
    if (
        target == "spark"
    ):  # pyspark warns about pandas 3 as it starts; dbt-spark collects rows, no frames
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
    try:
        manifest = _parsed(_parse_arguments(target_path, variables, target))
        result = dbtRunner(manifest=manifest).invoke([*args, *common])
    except BaseException:
        release_warehouse()
        raise
    if not keep_open or result.exception is not None:
        release_warehouse()
    if result.exception is not None:
        raise result.exception
    if writes_results and isinstance(result.result, RunExecutionResult):
        result.result.write(str(target_path / "run_results.json"))
    results = list(getattr(result.result, "results", None) or [])
    failed = [_failed(r) for r in results if str(r.status) in FAILED]
    return DbtRun(bool(result.success), results, failed)


def parse_ahead(target_path: Path, variables: str, target: str = "duckdb") -> bool:
    """Parse the project now and keep the manifest, as `run_dbt` with the same arguments
    would on its first build: the warm worker does it as it starts, so its first refresh
    does not pay the parse (1-2 s). False when the project does not parse (the build
    reports why)."""
    return _parsed(_parse_arguments(target_path, variables, target)) is not None


def _common_arguments(target_path: Path, variables: str, target: str) -> list[str]:
    return [
        *["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        *["--target-path", str(target_path), "--vars", variables, "--quiet"],
        *(["--target", target] if target != "duckdb" else []),
        # No loggers: dbt renders each of its ~7,000 events a build for every logger, even
        # one that prints nothing (a third of a warm build); the results say what failed.
        *["--log-level", "none", "--log-level-file", "none"],
    ]


class _UnloggedEvents(EventManager):
    """dbt's event manager, minus the work for events that nobody receives.

    dbt turns each event into a protobuf message for its loggers and callbacks, even
    when there are none: our commands run with no loggers (`--log-level none`), and the
    one callback dbt always adds (`track_behavior_change_warn`) reads warnings only. In a
    py-spy profile of a warm build at 1,000 companies that was a tenth of dbt's time
    (docs/benchmarks.md, thirteenth part). Warnings and errors still go the whole way,
    so `--warn-error` and dbt's usage tracking work as before, and so does every event
    once a logger or another callback listens (a `dbtRunner(callbacks=...)`, say).
    """

    def fire_event(
        self,
        e: BaseEvent,
        level: EventLevel | None = None,
        node: Any = None,
        force_warn_or_error_handling: bool = False,
    ) -> None:
        unheard = (
            not self.loggers
            and all(callback is track_behavior_change_warn for callback in self.callbacks)
            and not force_warn_or_error_handling
            and (level or e.level_tag()) not in (EventLevel.WARN, EventLevel.ERROR)
        )
        if not unheard:
            super().fire_event(e, level, node, force_warn_or_error_handling)


# dbt configures whichever manager is installed for each command (`setup_event_logger`).
ctx_set_event_manager(_UnloggedEvents())


def _parse_arguments(target_path: Path, variables: str, target: str) -> list[str]:
    """The arguments the project is parsed with for a command on `target_path`'s data
    folder, with `variables`.

    On DuckDB the parse does not depend on the data folder: the warehouse path is the
    profile's only use of it (dbt/profiles.yml), and no model or test reads it, yet dbt
    parses in full (~5.5 s, against ~1.3 s for a partial parse) whenever the vars or the
    profile differ from its last parse in that target. So the parse names a stand-in
    warehouse, which it never opens, in a target shared by every data folder with the same
    settings (the other vars), and the command then runs that manifest with the real
    vars: a new folder's first refresh and a switch of folders parse only what changed in
    the project. On Spark the data folder also names Spark's catalogue in the profile: its
    own target, as the command's.
    """
    values = json.loads(variables)
    if target != "duckdb" or "warehouse_path" not in values:
        return _common_arguments(target_path, variables, target)
    settings = json.dumps({**values, "warehouse_path": None}, sort_keys=True)
    shared = SHARED_PARSES / hashlib.sha256(settings.encode()).hexdigest()[:16]
    stand_in = {**values, "warehouse_path": str(shared / "warehouse.duckdb")}
    return _common_arguments(shared, json.dumps(stand_in), target)


# The manifest parsed with the arguments of `_parse_arguments`, kept for the life of the
# process. The project's files do not change under a running process: the warm worker
# restarts itself when they do (dagster_project/worker.py).
_manifests: dict[str, Any] = {}


def _parsed(arguments: list[str]) -> Any:
    key = " ".join(arguments)
    if key not in _manifests:
        parsed = dbtRunner().invoke(["parse", *arguments])
        if parsed.exception is not None or not parsed.success:
            return None  # the command parses again and reports the problem itself
        _manifests.clear()  # one at a time: a manifest is megabytes
        _manifests[key] = parsed.result
    return _manifests[key]


@contextlib.contextmanager
def released_meanwhile() -> Iterator[None]:
    """Release the warehouse (`release_warehouse`) in a thread while the body runs, and
    wait for it at the end: after a build at 100k companies DuckDB folds ~100 MB of
    write-ahead log into the files (~1.1 s), while Dagster stores the build's ~400
    events (~1 s of Python), so one need not wait for the other."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="release-warehouse") as pool:
        released = pool.submit(release_warehouse)
        try:
            yield
        finally:
            released.result()


def release_warehouse() -> None:
    """Close the DuckDB database that dbt-duckdb keeps open for the life of the process.

    Its `keep_open` default holds the warehouse after a build, so publishing (which
    attaches the file) and the next ingest could not open it. The adapter's own exit hook
    (`close_all_connections`) only drops its reference and leaves the closing to garbage
    collection, which is late whenever a reference cycle holds the environment: CI once
    failed on exactly that ("Unique file handle conflict ... already attached by database
    'warehouse'"). So close the environment's database first, then drop it.
    (`keep_open: false` in the profile also works but reopens the file between models:
    about a second slower per build, measured.)
    """
    try:
        env = DuckDBConnectionManager.env()
    except Exception:  # no dbt command opened the warehouse in this process
        env = None
    if env is not None:
        con = getattr(env, "conn", None)  # a local DuckDB's (dbt-duckdb LocalEnvironment)
        if isinstance(con, duckdb.DuckDBPyConnection):
            checkpoint_each_file(con)
        env.close()
    DuckDBConnectionManager.close_all_connections()


def checkpoint_each_file(con: duckdb.DuckDBPyConnection) -> None:
    """Fold each database file's write-ahead log into the file, the warehouse and the
    marts at once, each on a cursor of its own, before closing them.

    Closing checkpoints them too, one after the other. During a build with several dbt
    threads DuckDB rarely checkpoints on its own (not while another transaction is
    open), so after a contract saved at 100k companies both logs hold ~50 MB and the two
    checkpoints take 1.8-2.1 s in turn against 1.1-1.2 s at once (docs/benchmarks.md,
    twelfth part). A checkpoint that fails is left to the close, which checkpoints again."""
    files = [
        name
        for (name,) in con.execute(
            "SELECT database_name FROM duckdb_databases() WHERE path IS NOT NULL AND NOT readonly"
        ).fetchall()
    ]

    def checkpoint(name: str) -> None:
        cursor = con.cursor()
        with contextlib.suppress(duckdb.Error), cursor:
            cursor.execute(f'CHECKPOINT "{name.replace(chr(34), chr(34) * 2)}"')

    threads = [threading.Thread(target=checkpoint, args=(name,)) for name in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _failed(result: Any) -> FailedNode:
    test = str(result.node.resource_type) == "test"
    return FailedNode(
        resource_type=str(result.node.resource_type),
        name=result.node.name,
        message=_short(result.message or str(result.status)),
        failing_rows_sql=(
            getattr(result.node, "compiled_code", None)
            if test and str(result.status) == "fail"
            else None
        ),
    )


def with_failing_rows(
    warehouse: Path, failed: list[FailedNode], engine: str = "duckdb"
) -> list[FailedNode]:
    """The failed tests shown with their first failing rows, read from the warehouse after
    the build (a test's compiled SQL selects exactly the rows that fail it); after a build
    on Spark, read from the Spark session it ran in."""
    readable = [i for i, node in enumerate(failed[:SHOWN_NODES]) if node.failing_rows_sql]
    if not readable:
        return failed
    if engine == "spark":
        return [_read_spark_rows(n) if i in readable else n for i, n in enumerate(failed)]
    try:
        con = connect_warehouse(warehouse, read_only=True)  # a failing mart is in marts
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
        columns = tuple(d[0] for d in cursor.description or ())
        rows = tuple(tuple(row) for row in cursor.fetchall())
    except duckdb.Error as exc:
        return replace(node, message=f"{node.message} (failing rows not read: {_short(str(exc))})")
    return replace(node, columns=columns, rows=rows)


def _read_spark_rows(node: FailedNode) -> FailedNode:
    """A failed test's first rows, from the Spark session dbt's session method ran in."""
    from pyspark.sql import SparkSession

    sql = (node.failing_rows_sql or "").strip().rstrip(";")
    try:
        session = SparkSession.getActiveSession()
        if session is None:
            raise RuntimeError("no Spark session in this process")
        frame = session.sql(f"SELECT * FROM ({sql}) AS failing LIMIT {SHOWN_ROWS}")
        rows = tuple(tuple(row) for row in frame.collect())
    except Exception as exc:  # pyspark's errors share no base class worth naming here
        return replace(node, message=f"{node.message} (failing rows not read: {_short(str(exc))})")
    return replace(node, columns=tuple(frame.columns), rows=rows)


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
