"""The dbt models as assets, dbt tests as their checks; `dbt build` of exactly the selection.

dbt runs in this process (dagster_project/dbt_runs.py says why and what it saves), so
dagster-dbt's `DbtCliResource`, which selects for itself, is not used. The selection is
made here from public parts instead: each asset and check spec of `@dbt_assets` carries
its dbt `unique_id`, the manifest gives that node's fully qualified name, and a subset
(one mart from the UI, `dagster asset materialize --select marts/customers`) builds just
those nodes and runs just the selected tests (`--indirect-selection empty`). dbt's
result per node becomes a materialisation or a check result.
"""

import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import dbt_assets

from avtale.dates import business_zone, today
from avtale.lake import export_lake
from avtale.pipeline import warehouse_turn
from avtale.repository.export import exported_version
from avtale.serving import connect
from avtale.settings import Paths, dbt_vars, load_settings
from dagster_project.dbt_runs import (
    describe_failure,
    parse_ahead,
    released_meanwhile,
    run_dbt,
    with_failing_rows,
)
from dagster_project.defs.jobs import ALWAYS_PUBLISH
from dagster_project.defs.resources import AvtaleHome
from dagster_project.project import dbt_project, manifest, prepared_manifest
from ingestion.kinds import KINDS

NOTHING_NEW = "nothing new since the last build (same loads, app data, project, settings, day)"
UNIQUE_ID = "dagster_dbt/unique_id"  # dagster-dbt's metadata key on every spec it makes
WARN = dg.AssetCheckSeverity.WARN
ERROR = dg.AssetCheckSeverity.ERROR
# Unit tests check logic, not data: CI runs them (tests/test_dbt.py), refreshes skip them.
BUILD = ["build", "--exclude", "resource_type:unit_test"]
MARTS = "path:models/marts"


def selection(context: dg.AssetExecutionContext) -> list[str]:
    """dbt arguments that select what the run selected: nothing extra for the whole project."""
    if not context.is_subset:
        return []
    specs = {spec.key: spec for spec in context.assets_def.specs}
    checks = {spec.key: spec for spec in context.assets_def.check_specs}
    unique_ids = [specs[key].metadata[UNIQUE_ID] for key in context.selected_asset_keys]
    unique_ids += [checks[key].metadata[UNIQUE_ID] for key in context.selected_asset_check_keys]
    nodes = manifest()["nodes"]
    names = sorted("fqn:" + ".".join(nodes[unique_id]["fqn"]) for unique_id in unique_ids)
    return ["--select", *names, "--indirect-selection", "empty"]


def asset_events(
    context: dg.AssetExecutionContext, results: Sequence[Any]
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """A materialisation per model or seed built, a check result per test run."""
    assets = {spec.metadata[UNIQUE_ID]: spec.key for spec in context.assets_def.specs}
    checks = {spec.metadata[UNIQUE_ID]: spec for spec in context.assets_def.check_specs}
    for result in results:
        unique_id, status = result.node.unique_id, str(result.status)
        metadata = {"unique_id": unique_id, "execution_time_s": round(result.execution_time, 3)}
        key = assets.get(unique_id)
        if key in context.selected_asset_keys and status == "success":
            yield dg.MaterializeResult(asset_key=key, metadata=metadata)
        check = checks.get(unique_id)
        if check is not None and check.key in context.selected_asset_check_keys:
            yield dg.AssetCheckResult(
                asset_key=check.asset_key,
                check_name=check.name,
                passed=status == "pass",
                severity=WARN if str(result.node.config.severity).upper() == "WARN" else ERROR,
                metadata={**metadata, "status": status, "failed_row_count": result.failures or 0},
            )


def dbt_variables(paths: Paths, engine: str = "duckdb") -> str:
    """The `--vars` of a build of this data folder: the settings the marts use and the
    warehouse, which goes to the profile (dbt/profiles.yml) as a var, not through the
    environment (a run must not change its process's environment). On Spark, so does the
    data folder (its lake, and Spark's tables and catalogue)."""
    folder = {"avtale_home": str(paths.home)} if engine == "spark" else {}
    return json.dumps(
        {**dbt_vars(load_settings(paths)), "warehouse_path": str(paths.warehouse), **folder}
    )


def parse_ahead_for(paths: Paths, engine: str = "duckdb") -> bool:
    """Parse the dbt project for builds of this data folder, ahead of the first one."""
    return parse_ahead(paths.dbt_target, dbt_variables(paths, engine), engine)


def inputs_of_a_build(paths: Paths, variables: str, engine: str = "duckdb") -> dict[str, Any]:
    """Everything a whole build's result depends on: each source table's loads, the app
    copy's version, the dbt project (its prepared manifest), the settings (dbt's vars), the
    day (the marts count months up to today) and, other than DuckDB, the engine (a build
    on another holds none of this one's tables). The same inputs give the same marts."""
    with connect(paths.warehouse, read_only=True) as con:
        loads = con.execute(
            "SELECT kind, max(load_id), count(*) FROM ingestion.loads GROUP BY kind ORDER BY kind"
        ).fetchall()
        app = exported_version(con)
    tables = {kind.name: kind.table for kind in KINDS}
    inputs = {
        "loads": {tables.get(kind, f"?{kind}"): [last, count] for kind, last, count in loads},
        "app": app,
        "project": hashlib.sha256(prepared_manifest().read_bytes()).hexdigest(),
        "vars": variables,
        "day": today().isoformat(),
        "zone": business_zone().key,
    }
    if engine != "duckdb":
        inputs["engine"] = engine
    return dict(json.loads(json.dumps(inputs, default=str)))  # as it reads back from a file


def changed_sources(last: dict[str, Any] | None, now: dict[str, Any]) -> list[str] | None:
    """The dbt sources whose data changed since the build that gave `last`, when only data
    changed (the same project, vars and day); None when only a whole build will do. Every
    model that is not downstream of these sources would be built again from the same rows."""
    if last is None or not isinstance(last.get("loads"), dict):
        return None
    if any(last.get(key) != now.get(key) for key in now | last if key not in ("loads", "app")):
        return None
    tables = sorted(
        table
        for table in last["loads"].keys() | now["loads"].keys()
        if last["loads"].get(table) != now["loads"].get(table)
    )
    if any(table.startswith("?") for table in tables):  # a kind this code does not know
        return None
    sources = [*tables, "ingestion"] if tables else []  # a load adds to ingestion.loads
    if last.get("app") != now["app"]:
        sources.append("app")
    return sources or None


def data_only(sources: list[str], engine: str = "duckdb") -> list[str]:
    """dbt selectors for a build after new data in `sources` only: the nodes downstream of
    them. On DuckDB, without the views among them: a view reads its sources as they are
    when it is queried, and only a change of the project (a whole build) changes a view,
    so their tests run again and the views stand (11 nodes fewer after an app save; dbt's
    build ~0.1 s shorter at 1k companies). Spark keeps them: its sources are views made
    anew on every command, and this was not measured there."""
    downstream = [f"source:{source}+" for source in sources]
    if engine != "duckdb":
        return downstream
    kinds = ["config.materialized:table", "config.materialized:incremental", "resource_type:test"]
    return [f"{nodes},{kind}" for nodes in downstream for kind in kinds]


@dbt_assets(manifest=prepared_manifest(), project=dbt_project, pool="warehouse")
def avtale_dbt_models(
    context: dg.AssetExecutionContext, avtale: AvtaleHome
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    paths = avtale.paths()
    engine = avtale.warehouse_engine()
    variables = dbt_variables(paths, engine)
    args = [*BUILD, *selection(context)]
    with warehouse_turn(paths):
        # A whole build on the inputs of the last published one would give the same marts:
        # skipped, and so are publishing and the events of ~300 nodes (nothing new).
        inputs = None if context.is_subset else inputs_of_a_build(paths, variables, engine)
        last = read_json(paths.last_build) if paths.serving.exists() else None
        may_skip = not ALWAYS_PUBLISH.items() <= context.run.tags.items()
        if may_skip and inputs is not None and last == inputs:
            context.log.info(NOTHING_NEW)
            return
        # Only data changed since the published build: the models downstream of the
        # sources that changed, and every mart (cheap next to what they read; serving_copy
        # waits for each of them), with their tests. tests/test_pipeline.py holds the
        # result equal to a whole build's.
        changed = changed_sources(last, inputs) if inputs is not None else None
        if changed:
            args += ["--select", *data_only(changed, engine), MARTS]
        elif inputs is not None and last != inputs:
            # Another project, setting or day: incremental models (customer_months) are
            # built whole again too, as a changed model or macro needs.
            args += ["--full-refresh"]
        built = paths.pending_build  # becomes last_build when serving_copy publishes
        built.unlink(missing_ok=True)
        if engine == "spark":  # the sources as Spark reads them: the lake's Parquet files
            context.log.info(f"exported {len(export_lake(paths))} source tables to {paths.lake}")
        context.log.info(f"dbt {' '.join(args)} --target {engine} --vars {variables}")
        run = run_dbt(args, paths.dbt_target, variables, target=engine, keep_open=True)
        with released_meanwhile():  # the warehouse closed while its results are stored
            yield from asset_events(context, run.results)
        failed = with_failing_rows(paths.warehouse, run.failed, engine) if not run.success else []
        if run.success and inputs is not None:
            built.write_text(json.dumps(inputs), encoding="utf-8")
    if not run.success:
        description = describe_failure(failed)
        raise dg.Failure(
            description=description,
            metadata={
                "failed": [f"{node.resource_type} {node.name}" for node in failed],
                "details": dg.MetadataValue.md(f"```\n{description}\n```"),
            },
        )


def read_json(path: Path) -> dict[str, Any] | None:
    """A recorded build's inputs; None when there is none or it cannot be read."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None
