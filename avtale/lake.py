"""The lake: dbt's source tables as Parquet files, for dbt on Spark (docs/spark.md).

Ingestion parses, checks and quarantines with DuckDB on either engine, and the app copy
lands in the same `warehouse.duckdb`. For a build on Spark those source tables are
written out with DuckDB's own ``COPY ... (FORMAT parquet)`` (built in: nothing is
downloaded) to ``$AVTALE_HOME/lake/<schema>/<table>.parquet``; the dbt macro
``register_lake`` (run at the start of every dbt command on Spark) puts a view over each
file under the source's schema and name. Each file is written beside and swapped in whole,
so Spark never reads half of one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from avtale.serving import connect
from avtale.settings import Paths, private_dir, tighten


def lake_file(lake: Path, schema: str, table: str) -> Path:
    """Where a source table's Parquet file is (the dbt macro `register_lake` agrees)."""
    return lake / schema / f"{table}.parquet"


def export_lake(paths: Paths, tables: Iterable[tuple[str, str]]) -> list[Path]:
    """Write each ``(schema, table)`` of the warehouse to its Parquet file in the lake;
    returns the files written. A table the warehouse lacks is an error: dbt reads it."""
    written = []
    with connect(paths.warehouse, read_only=True) as con:
        for schema, table in sorted(set(tables)):
            target = lake_file(private_dir(paths.lake), schema, table)
            private_dir(target.parent)
            tmp = target.with_name(f".{target.name}.writing")
            relation, file = f'"{schema}"."{table}"', str(tmp).replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {relation}) TO '{file}' (FORMAT parquet)")
            os.replace(tighten(tmp), target)
            written.append(target)
    return written
