"""The steps of a refresh, callable from the command line and from Dagster alike."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

from avtale.serving import connect
from avtale.settings import DBT_PROJECT_DIR, Paths
from ingestion.load import LoadReport, ensure_tables, load_files


class WarehouseBusyError(RuntimeError):
    """Another process (a refresh) holds the warehouse."""


def default_currencies() -> list[str]:
    """Currencies with a built-in planning rate (the dbt seed is the one source)."""
    with (DBT_PROJECT_DIR / "seeds" / "fx_rates_default.csv").open(encoding="utf-8") as f:
        return [row["currency"] for row in csv.DictReader(f)]


def open_warehouse(paths: Paths) -> duckdb.DuckDBPyConnection:
    paths.ensure()
    try:
        return connect(paths.warehouse)
    except duckdb.IOException as exc:
        raise WarehouseBusyError(
            f"The warehouse {paths.warehouse} is in use by another process (a refresh?). "
            "Try again in a moment, or drop the files into the inbox: "
            f"{paths.inbox}"
        ) from exc


def ingest(
    paths: Paths, files: list[Path], progress: Callable[[str], None] | None = None
) -> LoadReport:
    """Load files or folders into the warehouse."""
    con = open_warehouse(paths)
    try:
        return load_files(con, files, default_currencies(), progress=progress)
    finally:
        con.close()


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
    from avtale.repository.db import database_url, make_engine, migrate
    from avtale.repository.export import export_to_warehouse

    url = database_url(paths)
    migrate(url)  # a new data folder has no operational database yet
    engine = make_engine(url)
    con = open_warehouse(paths)
    try:
        return export_to_warehouse(engine, con)
    finally:
        con.close()
        engine.dispose()


def ingest_inbox(paths: Paths, progress: Callable[[str], None] | None = None) -> LoadReport:
    """Load what waits in the inbox; move loaded files to the archive, failed ones aside."""
    waiting = sorted(p for p in paths.inbox.rglob("*") if p.is_file())
    report = ingest(paths, waiting, progress=progress) if waiting else LoadReport()
    stamp = date.today().isoformat()
    for result in report.files:
        target = paths.archive / stamp if result.status != "error" else paths.rejected
        target.mkdir(parents=True, exist_ok=True)
        destination = _free_name(target / result.path.name)
        shutil.move(result.path, destination)
        if result.status == "error":
            destination.with_name(destination.name + ".error.txt").write_text(
                result.message + "\n", encoding="utf-8"
            )
    return report


def _free_name(path: Path) -> Path:
    """`deals.csv`, else `deals.2.csv`, ...: a second export of the day keeps the first."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}.{n}{path.suffix}")
    return candidate
