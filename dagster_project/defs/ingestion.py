"""Ingestion: whatever waits in the inbox lands in the dbt sources.

One asset per source table, keyed like the dbt source (`hubspot/deals`), so
the lineage runs from the files to the marts without a custom translator. Each
tells when its data last arrived, by the query its dbt source freshness uses, for
the freshness checks (dagster_project/defs/freshness.py).
"""

from collections.abc import Iterator
from datetime import datetime

import dagster as dg

from avtale.pipeline import ingest_inbox, prepare_warehouse, warehouse_turn
from avtale.serving import connect
from avtale.settings import Paths
from dagster_project.defs.resources import AvtaleHome
from dagster_project.project import source_freshness
from ingestion.kinds import KINDS

SOURCE_TABLES = sorted({kind.table for kind in KINDS} | {"ingestion.loads", "ingestion.quarantine"})
LAST_UPDATED = "dagster/last_updated_timestamp"  # what Dagster's freshness checks read


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key=dg.AssetKey(table.split(".")),
            group_name="sources",
            description=f"Rows of `{table}` loaded from inbox files by `avtale ingest`.",
        )
        for table in SOURCE_TABLES
    ],
    can_subset=False,
    pool="warehouse",
)
def inbox_files(
    context: dg.AssetExecutionContext, avtale: AvtaleHome
) -> Iterator[dg.MaterializeResult]:
    """Load the inbox into the warehouse and move each file to the archive."""
    paths = avtale.paths()
    with warehouse_turn(paths):
        prepare_warehouse(paths)
        report = ingest_inbox(paths, progress=context.log.info)
    if report.files:
        context.log.info(report.format())
    counts = {
        "files_loaded": len(report.loaded),
        "rows_loaded": sum(f.rows_loaded for f in report.loaded),
        "rows_quarantined": sum(f.rows_quarantined for f in report.loaded),
        "files_failed": sum(f.status == "error" for f in report.files),
    }
    loaded_at = last_loaded(paths)
    for table in SOURCE_TABLES:
        key = dg.AssetKey(table.split("."))
        arrived = (
            {LAST_UPDATED: dg.MetadataValue.timestamp(loaded_at[key])} if key in loaded_at else {}
        )
        yield dg.MaterializeResult(asset_key=key, metadata={**counts, **arrived})


def last_loaded(paths: Paths) -> dict[dg.AssetKey, datetime]:
    """When each source with a freshness rule last got data, as its dbt source says."""
    with connect(paths.warehouse, read_only=True) as con:
        found = {
            rule.key: con.execute(rule.loaded_at_query).fetchone() for rule in source_freshness()
        }
    return {key: row[0] for key, row in found.items() if row and row[0] is not None}
