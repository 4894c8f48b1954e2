"""The serving copy: the marts that the app and ``avtale sql`` read.

DuckDB lets one process hold a file read-write and blocks every other process
meanwhile (see STACK.md). So readers never open the warehouse: a refresh builds
there, with the marts in a file of their own beside it (``marts.duckdb``, attached as
``marts``), then ``publish`` copies that file and swaps the copy in with
``os.replace``. Readers that already had the old file open keep reading it;
new readers see the new one. A failed build never reaches ``publish``, so the
last good copy stays in place.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from avtale.settings import MARTS_FILE, PRIVATE_FILE, tighten

DUCKDB_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

# Readers of the serving copy (the app, `avtale sql`, the reminder job) get a sandbox that
# DuckDB enforces: no file but the copy itself and its own `.tmp` spill folder, no network,
# no extensions, and settings no query can change back. So no query can read `avtale.db`,
# a key or /etc/passwd, and the read-only copy cannot be written.
SERVING_CONFIG: dict[str, str | bool | int | float | list[str]] = DUCKDB_CONFIG | {
    "enable_external_access": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}


class NotPublishedError(RuntimeError):
    """Raised when nothing has been published yet."""


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file without ever trying to download an extension."""
    return duckdb.connect(str(path), read_only=read_only, config=DUCKDB_CONFIG)


def connect_warehouse(warehouse: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The warehouse with its marts file beside it attached as `marts`, as dbt sees them
    (dbt/profiles.yml): `marts.customer_months` names a mart, `intermediate.x` the rest."""
    con = connect(warehouse, read_only=read_only)
    marts = warehouse.with_name(MARTS_FILE)
    try:
        if not read_only:
            con.execute("ATTACH ? AS marts", [str(marts)])
            tighten(marts)  # DuckDB makes it with the umask's mode
        elif marts.exists():  # none before the first build
            con.execute("ATTACH ? AS marts (READ_ONLY)", [str(marts)])
    except BaseException:
        con.close()
        raise
    return con


def publish(marts: Path, serving: Path) -> list[str]:
    """Publish the marts file dbt built (its tables, in `main`) as the new serving copy: a
    copy of the file, stamped with the time, swapped in. Returns the published tables."""
    tmp = serving.with_name(serving.name + ".building")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    if not marts.exists():
        raise FileNotFoundError(f"No marts to publish: {marts} does not exist (run a build).")
    with connect(marts) as con:
        con.execute("CHECKPOINT")  # a write-ahead log left behind goes into the file first
    shutil.copyfile(marts, tmp)
    con = connect(tmp)
    try:
        tables = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                "ORDER BY table_name"
            ).fetchall()
        ]
        con.execute(
            "CREATE TABLE main._published AS SELECT ?::TIMESTAMPTZ AS published_at",
            [datetime.now(UTC)],
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()
    tmp.chmod(PRIVATE_FILE)  # copied with the umask's mode
    os.replace(tmp, serving)
    return tables


def publish_parquet(
    marts: Mapping[str, Sequence[tuple[str, str]]], folder: Path, serving: Path
) -> list[str]:
    """``publish`` for marts built elsewhere (dbt on Spark, docs/spark.md): each mart is
    the folder of Parquet files ``folder/<name>``, read with DuckDB's built-in
    ``read_parquet``; ``marts`` names each one's columns with the types of its contract,
    so the copy has the columns, order and types a DuckDB build publishes."""
    tmp = serving.with_name(serving.name + ".building")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = connect(tmp)
    try:
        for name, columns in sorted(marts.items()):
            files = str(folder / name / "*.parquet").replace("'", "''")
            selected = ", ".join(
                f'CAST("{column}" AS {kind}) AS "{column}"' for column, kind in columns
            )
            con.execute(
                f"CREATE TABLE main.\"{name}\" AS SELECT {selected} FROM read_parquet('{files}')"
            )
        con.execute(
            "CREATE TABLE main._published AS SELECT ?::TIMESTAMPTZ AS published_at",
            [datetime.now(UTC)],
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()
    tmp.chmod(PRIVATE_FILE)
    os.replace(tmp, serving)
    return sorted(marts)


def connect_serving(serving: Path) -> duckdb.DuckDBPyConnection:
    """A read-only, sandboxed connection to the published copy (``SERVING_CONFIG``)."""
    if not serving.exists():
        raise NotPublishedError(
            f"Nothing published yet in {serving.parent}: run `avtale refresh` first."
        )
    return duckdb.connect(str(serving), read_only=True, config=SERVING_CONFIG)


def serving_version(serving: Path) -> int:
    """Changes whenever a new copy is published; use it as a cache key."""
    try:
        return serving.stat().st_mtime_ns
    except FileNotFoundError:
        return 0
