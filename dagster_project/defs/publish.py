"""Publishing: swap a fresh serving copy in once every mart is built and tested."""

import os

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from avtale.lake import spark_marts
from avtale.pipeline import warehouse_turn
from avtale.serving import publish, publish_parquet
from dagster_project.defs.dbt import avtale_dbt_models
from dagster_project.defs.resources import AvtaleHome
from dagster_project.project import mart_columns, mart_names


@dg.asset(
    deps=[get_asset_key_for_model([avtale_dbt_models], name) for name in mart_names()],
    group_name="serving",
    pool="warehouse",
)
def serving_copy(context: dg.AssetExecutionContext, avtale: AvtaleHome) -> dg.MaterializeResult:
    """The marts as the app and `avtale sql` read them, replaced atomically."""
    paths = avtale.paths()
    with warehouse_turn(paths):
        if avtale.warehouse_engine() == "spark":  # the marts' Parquet files, read by DuckDB
            tables = publish_parquet(mart_columns(), spark_marts(paths), paths.serving)
        else:
            tables = publish(paths.marts, paths.serving)
        # What the copy in place was built from (a whole build's inputs): a refresh with
        # the same inputs skips dbt and this step (dagster_project/defs/dbt.py).
        if paths.pending_build.exists():
            os.replace(paths.pending_build, paths.last_build)
        else:  # a partial build (one mart from the UI): the copy is no whole build's
            paths.last_build.unlink(missing_ok=True)
    context.log.info(f"published {len(tables)} tables to {paths.serving}")
    return dg.MaterializeResult(metadata={"tables": ", ".join(tables), "path": str(paths.serving)})
