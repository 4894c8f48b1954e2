"""The dbt models as assets; dbt tests become asset checks."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project.defs.resources import dbt_project


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project)
def avtale_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()
