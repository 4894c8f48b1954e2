"""A data folder's Dagster instance: its config, and an event log that connects once per file.

Dagster's `SqliteEventLogStorage` makes a new SQLAlchemy engine and a new SQLite connection
for every write, and commits each one with a full sync. A refresh stores about a thousand
events (a materialisation per model, a check result per dbt test, their step outputs), and
on this machine that cost ~11 ms an event: about 11 s of a 1k-company refresh, more than
the dbt build (docs/benchmarks.md). This subclass changes only how it connects:

- one engine per shard (the index and the few runs being written), holding one connection
  (`StaticPool`); the parent class's lock already serialises every use of it;
- `synchronous=NORMAL` on the WAL that Dagster already turns on: a commit no longer waits
  for the disk, and the log still survives a crash of the process (only a power loss can
  drop the last events, never corrupt the file: SQLite's documented WAL guarantee);
- the tables and asset-key columns it found are remembered: the parent class asks before
  every check result and materialisation whether its index has them (a new engine and a
  look at SQLite's schema each time, ~1.5 ms an event). Only what exists is remembered:
  Dagster's migrations add tables and columns, never take one away.

Tables, migrations, the per-run shards and the watchers of the webserver are Dagster's own.
The project's `dagster.yaml` names this class (`event_log_storage`); `prepare` copies it
into a data folder with the folder's event log path (Dagster's own place for it,
`$DAGSTER_HOME/history/runs`), which is also the default when no path is given.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import yaml
from dagster import Field, StringSource
from dagster._config.config_schema import UserConfigSchema
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS  # type: ignore[attr-defined]
from dagster._serdes import ConfigurableClassData
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

PROJECT_CONFIG = Path(__file__).with_name("dagster.yaml")
WRITTEN_HERE = (
    f"# Written from {PROJECT_CONFIG.name} of the project, which explains each setting.\n"
)
# Shards kept open: the index, plus the runs being written now (a run writes only its own).
OPEN_SHARDS = 4


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, connecting once per shard."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._found: set[str] = set()  # index tables and asset-key columns seen to exist
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> Self:
        base_dir = config_value.get("base_dir") or default_base_dir()
        return cls(base_dir=base_dir, inst_data=inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        look = super().has_table
        return self._exists(f"table {table_name}", lambda: look(table_name))

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        look = super()._has_asset_key_col_on_connection
        return self._exists(f"asset_keys.{column_name}", lambda: look(conn, column_name))

    def _exists(self, what: str, look: Callable[[], bool]) -> bool:
        if what in self._found:
            return True
        found = look()
        if found:
            self._found.add(what)
        return found

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard),
            poolclass=StaticPool,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        event.listen(engine, "connect", _relaxed_sync)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_SHARDS:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_all()  # the run shards' files are deleted
        self._found.clear()
        super().wipe()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()


def prepare(dagster_home: Path) -> Path:
    """The data folder's Dagster instance config: the project's dagster.yaml, with this
    folder's event log path written in, so any process opens it as it is, with or without
    `$DAGSTER_HOME` (`avtale refresh`, `make dev`, tests). A file someone wrote is left as
    is; one written here is written again when it differs (a folder copied or moved would
    otherwise keep logging its runs into the old folder)."""
    config = dagster_home / "dagster.yaml"
    settings = yaml.safe_load(PROJECT_CONFIG.read_text(encoding="utf-8"))
    event_log = settings["event_log_storage"]
    if event_log.get("class") == PooledSqliteEventLogStorage.__name__:
        base_dir = str(dagster_home.resolve() / "history" / "runs")
        event_log["config"] = {"base_dir": base_dir, **(event_log.get("config") or {})}
    text = WRITTEN_HERE + yaml.safe_dump(settings, sort_keys=False)
    if config.exists():
        found = config.read_text(encoding="utf-8")
        if found == text or not found.startswith(WRITTEN_HERE):
            return config
    dagster_home.mkdir(parents=True, exist_ok=True)
    config.write_text(text, encoding="utf-8")
    return config


def default_base_dir() -> str:
    """Where Dagster keeps a SQLite instance's event log: `$DAGSTER_HOME/history/runs`."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise ValueError(
            "PooledSqliteEventLogStorage needs DAGSTER_HOME, or a base_dir in its config"
        )
    return os.path.join(home, "history", "runs")


def _relaxed_sync(connection: sqlite3.Connection, _record: object) -> None:
    connection.execute("PRAGMA synchronous=NORMAL")


if __name__ == "__main__":  # `make dev`: python -m dagster_project.instance $AVTALE_HOME/dagster
    prepare(Path(sys.argv[1]))
