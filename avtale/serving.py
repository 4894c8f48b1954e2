"""The serving copy: the marts that the app and ``avtale sql`` read.

DuckDB lets one process hold a file read-write and blocks every other process
meanwhile (see STACK.md). So readers never open the warehouse: a refresh builds
there, then ``publish`` copies the marts into a new file and swaps it in with
``os.replace``. Readers that already had the old file open keep reading it;
new readers see the new one. A failed build never reaches ``publish``, so the
last good copy stays in place.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from avtale.settings import PRIVATE_FILE

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

PUBLISHED_SCHEMA = "marts"
# Tables copied at once: one copy leaves a core idle (reading and compressing take turns),
# two take 1.8 instead of 2.2 s at 100k companies; four no less, with more memory
# (docs/benchmarks.md).
COPIES_AT_ONCE = 2


class NotPublishedError(RuntimeError):
    """Raised when nothing has been published yet."""


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file without ever trying to download an extension."""
    return duckdb.connect(str(path), read_only=read_only, config=DUCKDB_CONFIG)


def publish(warehouse: Path, serving: Path) -> list[str]:
    """Copy every table of the warehouse's ``marts`` schema into a fresh serving file.
    Returns the names of the published tables."""
    tmp = serving.with_name(serving.name + ".building")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = connect(tmp)
    try:
        con.execute("ATTACH ? AS wh (READ_ONLY)", [str(warehouse)])
        largest_first = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'wh' "
                "AND schema_name = ? ORDER BY estimated_size DESC, table_name",
                [PUBLISHED_SCHEMA],
            ).fetchall()
        ]
        with ThreadPoolExecutor(COPIES_AT_ONCE) as pool:
            # list() re-raises the first copy that failed: then nothing is swapped in.
            list(pool.map(lambda name: _copy_table(con, name), largest_first))
        con.execute(
            "CREATE TABLE main._published AS SELECT ?::TIMESTAMPTZ AS published_at",
            [datetime.now(UTC)],
        )
        con.execute("DETACH wh")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    tmp.chmod(PRIVATE_FILE)  # DuckDB made it with the umask's mode
    os.replace(tmp, serving)
    return sorted(largest_first)


def _copy_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """One mart into the new file, on a cursor of its own (DuckDB's connections are not
    shared between threads; a cursor is another connection to the same database)."""
    with con.cursor() as cursor:
        cursor.execute(
            f'CREATE TABLE main."{name}" AS SELECT * FROM wh.{PUBLISHED_SCHEMA}."{name}"'
        )


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
