"""The app's operational database as the dbt source `app`, and a sensor on its writes."""

from collections.abc import Iterator

import dagster as dg
from sqlalchemy.exc import SQLAlchemyError

from avtale.pipeline import open_warehouse, warehouse_turn
from avtale.repository.export import EXPORTED, export_to_warehouse, last_write_id
from avtale.services.database import DatabaseUnavailableError
from avtale.worker import is_running
from dagster_project.defs.jobs import refresh_job
from dagster_project.defs.resources import AvtaleHome, OperationalDatabase


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key=dg.AssetKey(["app", table]),
            group_name="sources",
            description=f"`{table}` of the app's operational database, copied whole.",
        )
        for table in EXPORTED
    ],
    can_subset=False,
    pool="warehouse",
)
def app_database(
    context: dg.AssetExecutionContext, avtale: AvtaleHome, database: OperationalDatabase
) -> Iterator[dg.MaterializeResult]:
    """Copy customers and contracts entered in the app into the warehouse."""
    engine = database.open().engine
    paths = avtale.paths()
    with warehouse_turn(paths), open_warehouse(paths) as con:
        counts = export_to_warehouse(engine, con)
    if counts is None:
        context.log.info("no writes in the app since the last copy; the warehouse copy stands")
    else:
        context.log.info(f"copied from the operational database: {counts}")
    for table in EXPORTED:
        metadata = {"rows": counts[table]} if counts else {"unchanged": True}
        yield dg.MaterializeResult(asset_key=dg.AssetKey(["app", table]), metadata=metadata)


@dg.sensor(
    job=refresh_job, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING
)
def app_writes_sensor(
    context: dg.SensorEvaluationContext, database: OperationalDatabase
) -> dg.RunRequest | dg.SkipReason:
    """Refresh when anything was saved in the app (the audit log moved on)."""
    try:
        latest = last_write_id(database.open().engine)
    except (DatabaseUnavailableError, SQLAlchemyError) as exc:
        return dg.SkipReason(f"operational database not readable: {exc.__class__.__name__}")
    if latest <= int(context.cursor or 0):
        return dg.SkipReason("no new writes")
    context.update_cursor(str(latest))
    if is_running(database.avtale.location()):
        return dg.SkipReason("the warm worker (`avtale worker`) refreshes after each app write")
    return dg.RunRequest(run_key=f"app-write-{latest}")
