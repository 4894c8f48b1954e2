"""The lake: dbt's source tables as Parquet files, for dbt on Spark (docs/spark.md).

Ingestion parses, checks and quarantines with DuckDB on either engine, and the app copy
lands in the same `warehouse.duckdb`. For a build on Spark those source tables (every
table of the warehouse outside dbt's own schemas) are written out with DuckDB's built-in
``COPY ... (FORMAT parquet)`` to ``$AVTALE_HOME/lake/<schema>/<table>.parquet``; the dbt
macro ``register_lake`` (run at the start of every dbt command on Spark) puts a view over
each file under the source's schema and name. Each file is written beside its place and
swapped in whole, so Spark never reads half of one.
"""

from __future__ import annotations

import os
from pathlib import Path

from avtale.serving import connect
from avtale.settings import Paths, private_dir, tighten

# What dbt builds in the warehouse (dbt_project.yml's schemas): not sources.
DBT_SCHEMAS = ("main", "staging", "intermediate", "marts", "reference")


def spark_marts(paths: Paths) -> Path:
    """The folder of dbt on Spark's marts, a folder of Parquet files each: Spark's
    warehouse (`spark.sql.warehouse.dir` in dbt/profiles.yml) and its `marts` schema."""
    return paths.spark_home / "warehouse" / "marts.db"


def lake_file(lake: Path, schema: str, table: str) -> Path:
    """Where a source table's Parquet file is (the dbt macro `register_lake` agrees)."""
    return lake / schema / f"{table}.parquet"


def export_lake(paths: Paths) -> list[Path]:
    """Write every source table of the warehouse to its Parquet file in the lake; returns
    the files written. Tables whose names start with `_` (bookkeeping such as
    `app._exported`) are no dbt source, and Spark would skip such a file anyway."""
    written = []
    with connect(paths.warehouse, read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() AND NOT list_contains(?, schema_name) "
            "AND NOT starts_with(table_name, '_') ORDER BY ALL",
            [list(DBT_SCHEMAS)],
        ).fetchall()
        lake = private_dir(paths.lake)
        for schema, table in tables:
            target = lake_file(lake, schema, table)
            private_dir(target.parent)
            tmp = target.with_name(f".{target.name}.writing")
            relation, file = f'"{schema}"."{table}"', str(tmp).replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {relation}) TO '{file}' (FORMAT parquet)")
            os.replace(tighten(tmp), target)
            written.append(target)
    return written
