"""Ingestion: whatever waits in the inbox lands in the dbt sources.

One asset per source table, keyed like the dbt source (`hubspot/deals`), so
the lineage runs from the files to the marts without a custom translator.
"""

import dagster as dg

from avtale.pipeline import ingest_inbox, prepare_warehouse
from dagster_project.defs.resources import AvtaleHome
from ingestion.kinds import KINDS

SOURCE_TABLES = sorted({kind.table for kind in KINDS} | {"ingestion.loads", "ingestion.quarantine"})


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
)
def inbox_files(context: dg.AssetExecutionContext, avtale: AvtaleHome):
    """Load the inbox into the warehouse and move each file to the archive."""
    paths = avtale.paths()
    prepare_warehouse(paths)
    report = ingest_inbox(paths, progress=context.log.info)
    if report.files:
        context.log.info(report.format())
    for table in SOURCE_TABLES:
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(table.split(".")),
            metadata={
                "files_loaded": len(report.loaded),
                "rows_loaded": sum(f.rows_loaded for f in report.loaded),
                "rows_quarantined": sum(f.rows_quarantined for f in report.loaded),
                "files_failed": sum(f.status == "error" for f in report.files),
            },
        )
