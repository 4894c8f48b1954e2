"""The steps of a refresh, callable from the command line and from Dagster alike."""

from __future__ import annotations

import csv
import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from avtale import inbox
from avtale.dates import today
from avtale.serving import connect
from avtale.settings import DBT_PROJECT_DIR, Paths, tighten
from ingestion.load import LoadReport, ensure_tables, load_files
from ingestion.mapping import load_mappings


class WarehouseBusyError(RuntimeError):
    """Another process (a refresh) holds the warehouse."""


class RefreshRunningError(RuntimeError):
    """Another refresh of the data folder is running."""


@contextmanager
def warehouse_turn(paths: Paths, wait: bool = True) -> Iterator[None]:
    """Wait for the warehouse, then hold it: one writing step at a time across processes.

    The steps of a refresh (ingestion, the app copy, dbt, publish) take it. Dagster's run
    queue already lets one of its runs write at a time (the pool `warehouse`), but the warm
    worker and `avtale refresh` run their job outside that queue; DuckDB itself refuses a
    second writer at once rather than waiting. Not re-entrant: take it once per step.
    With ``wait=False`` a warehouse held by another raises ``WarehouseBusyError`` instead
    (an upload in the app does not wait out a dbt build).
    """
    busy = WarehouseBusyError(f"The warehouse {paths.warehouse} is in use (a refresh?).")
    with _turn(paths.ensure().home / "warehouse.lock", wait, busy):
        yield


@contextmanager
def refresh_turn(paths: Paths, wait: bool = True) -> Iterator[None]:
    """Held for a whole refresh run by `avtale refresh` or the warm worker, so the app can
    tell one is running (``refresh_running``) and say so rather than start another. With
    ``wait=False`` a refresh already running raises ``RefreshRunningError``."""
    busy = RefreshRunningError(f"A refresh of {paths.home} is running.")
    with _turn(paths.ensure().home / "refresh.lock", wait, busy):
        yield


def refresh_running(paths: Paths) -> bool:
    """Whether a refresh holds the data folder's ``refresh_turn`` now."""
    try:
        with refresh_turn(paths, wait=False):
            return False
    except RefreshRunningError:
        return True


@contextmanager
def _turn(path: Path, wait: bool, busy: Exception) -> Iterator[None]:
    """An exclusive flock on ``path``; ``busy`` raised when another holds it and we may
    not wait."""
    with path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def default_currencies() -> list[str]:
    """Currencies with a built-in planning rate (the dbt seed is the one source)."""
    with (DBT_PROJECT_DIR / "seeds" / "fx_rates_default.csv").open(encoding="utf-8") as f:
        return [row["currency"] for row in csv.DictReader(f)]


def open_warehouse(paths: Paths) -> duckdb.DuckDBPyConnection:
    paths.ensure()
    try:
        con = connect(paths.warehouse)
    except duckdb.IOException as exc:
        raise WarehouseBusyError(
            f"The warehouse {paths.warehouse} is in use by another process (a refresh?). "
            "Try again in a moment, or drop the files into the inbox: "
            f"{paths.inbox}"
        ) from exc
    # DuckDB creates the file with the umask's mode; its .wal follows the umask too.
    tighten(paths.warehouse)
    return con


def ingest(
    paths: Paths,
    files: list[Path],
    progress: Callable[[str], None] | None = None,
    follow_symlinks: bool = True,
) -> LoadReport:
    """Load files or folders into the warehouse."""
    if not files:
        return LoadReport()
    mappings, problems = load_mappings(paths.mappings)
    con = open_warehouse(paths)
    try:
        report = load_files(
            con,
            files,
            default_currencies(),
            progress=progress,
            follow_symlinks=follow_symlinks,
            mappings=mappings,
        )
    finally:
        con.close()
    # A mapping that cannot be used is named with its problem; the files load without it.
    report.mapping_problems = problems
    return report


def prepare_warehouse(paths: Paths) -> None:
    """Create the source tables so that dbt can build on an empty warehouse."""
    con = open_warehouse(paths)
    try:
        ensure_tables(con)
    finally:
        con.close()


def export_operational(paths: Paths) -> dict[str, int] | None:
    """Copy the app's operational database into the warehouse (dbt source `app`);
    None when the copy there is already current."""
    from avtale.repository.export import export_to_warehouse
    from avtale.services.database import open_database

    # Opening it migrates it: a new data folder has no operational database yet.
    engine = open_database(paths).engine
    con = open_warehouse(paths)
    try:
        return export_to_warehouse(engine, con)
    finally:
        con.close()


def ingest_inbox(paths: Paths, progress: Callable[[str], None] | None = None) -> LoadReport:
    """Load the inbox files that are ready; move them to the archive, refused ones aside
    (``avtale.inbox``). The report also names the files left waiting."""
    found = inbox.scan(paths.inbox)
    report = ingest(paths, found.ready, progress=progress, follow_symlinks=False)
    report.files[:0] = found.refused
    inbox.file_away(report, paths.archive / today().isoformat(), paths.rejected)
    report.files += found.waiting
    return report
