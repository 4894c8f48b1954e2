"""The Dagster definitions: what exists, how it is keyed, what the sensors do, that runs
writing the warehouse take turns, and that the code uses Dagster and dbt as their authors
mean: a prepared manifest, no private imports, no changes to the environment."""

from __future__ import annotations

import ast
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy
import yaml
from sqlalchemy.engine import Engine

from avtale.dates import business_zone
from avtale.settings import PROJECT_ROOT, Paths
from dagster_project.definitions import defs
from dagster_project.defs.resources import AvtaleHome
from dagster_project.project import PREPARE, ManifestNotPreparedError, checked_manifest
from tests.sample_files import drop

WAREHOUSE_POOL = "warehouse"

# A snapshot: renaming an asset breaks lineage and the app's expectations.
EXPECTED_SOURCE_KEYS = {
    "generic/contract_lines",
    "generic/contracts",
    "generic/customers",
    "hubspot/companies",
    "hubspot/deals",
    "hubspot/line_items",
    "ingestion/loads",
    "ingestion/quarantine",
    "odoo/mrr_log",
    "odoo/subscription_lines",
    "odoo/subscriptions",
    "planning/fx_rates",
}
EXPECTED_MART_KEYS = {
    "marts/churn_events",
    "marts/cohort_retention",
    "marts/contract_health",
    "marts/contract_health_signals",
    "marts/mrr_forecast",
    "marts/product_mrr_movements",
    "marts/contract_deadlines",
    "marts/contract_lines",
    "marts/contracts",
    "marts/customer_months",
    "marts/customers",
    "marts/data_quality_findings",
    "marts/loads",
    "marts/monthly_metrics",
    "marts/mrr_movements",
    "marts/odoo_mrr_reconciliation",
    "marts/quarantine",
}


def asset_keys() -> set[str]:
    return {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}


def test_asset_keys_join_ingestion_to_dbt_sources() -> None:
    keys = asset_keys()
    assert keys >= EXPECTED_SOURCE_KEYS
    assert keys >= EXPECTED_MART_KEYS
    assert "serving_copy" in keys
    graph = defs.resolve_asset_graph()
    # The dbt staging model's upstream is the ingestion asset itself (same key).
    parents = graph.get(dg.AssetKey(["staging", "stg_hubspot__deals"])).parent_keys
    assert dg.AssetKey(["hubspot", "deals"]) in parents
    serving_parents = {
        k.to_user_string() for k in graph.get(dg.AssetKey("serving_copy")).parent_keys
    }
    assert serving_parents >= EXPECTED_MART_KEYS


def test_dbt_tests_are_asset_checks() -> None:
    checks = {k.name for k in defs.resolve_asset_graph().asset_check_keys}
    assert "unique_customers_customer_id" in checks
    assert any(name.startswith("expression_is_true_monthly_metrics") for name in checks)


def test_schedule_and_sensors_run_unattended_in_one_process() -> None:
    # One clock time: the morning refresh. Renewals and reminders follow its publish.
    assert [schedule.name for schedule in defs.schedules or []] == ["daily_refresh"]
    schedule = defs.resolve_schedule_def("daily_refresh")
    assert (schedule.cron_schedule, schedule.execution_timezone) == (
        "0 5 * * *",
        business_zone().key,
    )
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    # The morning refresh publishes even with nothing new: the day's renewals wait for it.
    assert schedule.tags == {"avtale/publish": "always"}
    sensors = {sensor.name: sensor.default_status for sensor in defs.sensors or []}
    assert set(sensors.values()) == {dg.DefaultSensorStatus.RUNNING}
    assert set(sensors) >= {"inbox_sensor", "app_writes_sensor", "freshness_checks_sensor"}
    assert defs.resolve_job_def("refresh").executor_def.name == "in_process"


def test_inbox_sensor_requests_one_run_per_set_of_waiting_files(tmp_path: Path) -> None:
    sensor = defs.resolve_sensor_def("inbox_sensor")

    def evaluate() -> object:
        return sensor(dg.build_sensor_context(resources={"avtale": AvtaleHome(home=str(tmp_path))}))

    (tmp_path / "inbox").mkdir()
    empty = evaluate()
    assert isinstance(empty, dg.SkipReason)
    # A file still being written waits until it has settled.
    (tmp_path / "inbox" / "deals.csv").write_text("Record ID,Deal Name\n", encoding="utf-8")
    writing = evaluate()
    assert isinstance(writing, dg.SkipReason) and "deals.csv" in str(writing.skip_message)
    drop(tmp_path / "inbox" / "deals.csv", "Record ID,Deal Name\n")
    first, again = evaluate(), evaluate()
    assert isinstance(first, dg.RunRequest) and isinstance(again, dg.RunRequest)
    assert first.run_key == again.run_key
    drop(tmp_path / "inbox" / "more.csv", "x\n")
    more = evaluate()
    assert isinstance(more, dg.RunRequest) and more.run_key != first.run_key


# --- runs that write the warehouse take turns -----------------------------------------------


def test_the_data_folders_instance_lets_one_warehouse_run_at_a_time(tmp_path: Path) -> None:
    from dagster_project.refresh import dagster_instance

    instance = dagster_instance(Paths(tmp_path).ensure())
    written = yaml.safe_load((tmp_path / "dagster" / "dagster.yaml").read_text(encoding="utf-8"))
    project = yaml.safe_load((PROJECT_ROOT / "dagster_project" / "dagster.yaml").read_text())
    # The project's settings, with the folder's event log path written in.
    assert written["event_log_storage"].pop("config") == {
        "base_dir": str(tmp_path.resolve() / "dagster" / "history" / "runs")
    }
    assert written == project
    granularity = instance.get_concurrency_config().pool_config.pool_granularity
    assert granularity is not None and granularity.value == "run"
    assert instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).limit == 1
    # Every asset writes the warehouse (ingestion, the app copy, dbt, publish): all in the pool.
    pools = {
        assets.op.name: assets.op.pool
        for assets in defs.resolve_asset_graph().assets_defs
        if assets.keys and assets.is_executable
    }
    assert pools == {
        "inbox_files": WAREHOUSE_POOL,
        "app_database": WAREHOUSE_POOL,
        "avtale_dbt_models": WAREHOUSE_POOL,
        "serving_copy": WAREHOUSE_POOL,
    }


def test_the_event_log_keeps_a_connection_and_every_event_of_a_run(tmp_path: Path) -> None:
    """The pooled event log stores what Dagster's own does, readable by a fresh instance
    (another process: the webserver), while connecting once per file, not per event, and
    looking once, not before every check result, whether its index has the checks' table."""

    from dagster_project.instance import PooledSqliteEventLogStorage
    from dagster_project.refresh import dagster_instance

    @dg.asset
    def numbers() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"n": 3})

    @dg.multi_asset_check(specs=[dg.AssetCheckSpec(f"rule_{n}", asset=numbers) for n in range(5)])
    def rules() -> Iterator[dg.AssetCheckResult]:
        for n in range(5):
            yield dg.AssetCheckResult(asset_key="numbers", check_name=f"rule_{n}", passed=True)

    opened: list[str] = []

    def connected(dbapi_connection: Any, _record: Any) -> None:
        (path,) = (row[2] for row in dbapi_connection.execute("PRAGMA database_list"))
        opened.append(path)

    instance = dagster_instance(Paths(tmp_path).ensure())
    assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
    sqlalchemy.event.listen(Engine, "connect", connected)  # every engine's new connections
    try:
        result = dg.materialize([numbers, rules], instance=instance)
    finally:
        sqlalchemy.event.remove(Engine, "connect", connected)
    assert result.success
    run_shard = [path for path in opened if result.run_id in path]
    # Dagster's own storage connects for every event (~20 here); this one once per file.
    assert len(run_shard) == 1, run_shard
    # The index: its own connection, and one look at its schema (Dagster's own storage
    # opens it again before each of the five check results and their planned events).
    index_shard = [path for path in opened if path.endswith("index.db")]
    assert len(index_shard) == 2, index_shard
    instance.dispose()

    again = dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "dagster"))
    stored_types = {
        entry.dagster_event_type.value
        for entry in again.all_logs(result.run_id)
        if entry.dagster_event_type
    }
    assert {"ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION", "PIPELINE_SUCCESS"} <= stored_types
    assert again.get_latest_materialization_event(dg.AssetKey("numbers")) is not None


# --- freshness ------------------------------------------------------------------------------


def declared_freshness() -> set[str]:
    """The source tables whose yml gives them a freshness rule, read from the yml itself."""
    found = set()
    for path in (PROJECT_ROOT / "dbt" / "models").rglob("*.yml"):
        for source in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("sources", []):
            inherited = source.get("freshness") or source.get("config", {}).get("freshness")
            for table in source.get("tables", []):
                config = table.get("config", {})
                own = table.get("freshness", config.get("freshness", inherited))
                if own and (own.get("warn_after") or own.get("error_after")):
                    found.add(f"{source['name']}/{table['name']}")
    return found


def test_sources_with_a_freshness_rule_have_a_freshness_check_evaluated_unattended() -> None:
    expected = declared_freshness()
    assert {"hubspot/deals", "ingestion/loads"} <= expected
    checked = {
        key.asset_key.to_user_string()
        for key in defs.resolve_asset_graph().asset_check_keys
        if key.name == "freshness_check"
    }
    assert checked == expected
    sensor = defs.resolve_sensor_def("freshness_checks_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


# --- the manifest is prepared once, not parsed on import -----------------------------------


def dbt_project_at(root: Path) -> Path:
    for name in ("dbt_project.yml", "models/marts/customers.sql"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("-- a project file\n", encoding="utf-8")
    return root


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_missing_manifest_is_refused_with_the_command_that_prepares_it(tmp_path: Path) -> None:
    project = dbt_project_at(tmp_path)
    with pytest.raises(ManifestNotPreparedError, match=re.escape(PREPARE)):
        checked_manifest(project / "target" / "manifest.json", project)


@pytest.mark.parametrize(
    ("changed", "refused"),
    [
        (None, False),
        ("models/marts/customers.sql", True),
        ("dbt_project.yml", True),
        # What dbt itself writes into the project is not a change of it.
        ("target/run_results.json", False),
        ("logs/dbt.log", False),
        (".user.yml", False),
    ],
)
def test_a_manifest_older_than_a_project_file_is_refused(
    tmp_path: Path, changed: str | None, refused: bool
) -> None:
    project = dbt_project_at(tmp_path)
    manifest = project / "target" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text("{}", encoding="utf-8")
    for path in project.rglob("*"):
        if path.is_file():
            age(path, 60)
    age(manifest, 30)
    if changed is not None:
        (project / changed).parent.mkdir(parents=True, exist_ok=True)
        (project / changed).write_text("changed\n", encoding="utf-8")
    if refused:
        with pytest.raises(ManifestNotPreparedError, match=re.escape(f"older than {changed}")):
            checked_manifest(manifest, project)
    else:
        assert checked_manifest(manifest, project) == manifest


# --- Dagster's own way: no environment changes, no private imports ---------------------------

OUR_CODE = sorted((PROJECT_ROOT / "dagster_project").rglob("*.py"))


def environment_writes(tree: ast.AST) -> list[int]:
    """Lines that change os.environ: assigning, deleting or updating an entry, putenv."""

    def is_environ(node: ast.AST) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "environ"

    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt | ast.expr):
            continue
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign | ast.Delete):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Subscript) and is_environ(t.value) for t in targets):
            lines.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            mutating = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__"}
            if (is_environ(node.func.value) and node.func.attr in mutating) or (
                node.func.attr in {"putenv", "unsetenv"}
            ):
                lines.append(node.lineno)
    return sorted(lines)


@pytest.mark.parametrize("path", [*OUR_CODE, PROJECT_ROOT / "avtale" / "cli.py"], ids=str)
def test_no_code_of_a_run_changes_the_environment(path: Path) -> None:
    assert environment_writes(ast.parse(path.read_text(encoding="utf-8"))) == []


def test_the_environment_check_finds_each_kind_of_write() -> None:
    source = (
        "import os\nos.environ['A'] = '1'\nos.environ.update(B='2')\ndel os.environ['A']\n"
        "os.putenv('C', '3')\nos.environ.setdefault('D', '4')\nx = os.environ.get('E')\n"
    )
    assert environment_writes(ast.parse(source)) == [2, 3, 4, 5, 6]


# Dagster's and dagster-dbt's public API is what their packages export at the top.
TOP_LEVEL_ONLY = {"dagster", "dagster_dbt"}
PRIVATE = re.compile(r"_(?!_).*")  # one leading underscore: `__future__` is no secret


def private_uses(tree: ast.AST) -> list[str]:
    """Imports of private names or of Dagster's internal modules, and private attributes."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt | ast.expr):
            continue
        imported: list[tuple[str, str | None]] = []
        if isinstance(node, ast.Import):
            imported = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported = [(node.module, alias.name) for alias in node.names]
        for module, name in imported:
            parts = [*module.split("."), *([name] if name else [])]
            internal = parts[0] in TOP_LEVEL_ONLY and "." in module
            if internal or any(PRIVATE.fullmatch(part) for part in parts):
                found.append(f"{node.lineno}: {'.'.join(parts)}")
        if isinstance(node, ast.Attribute) and PRIVATE.fullmatch(node.attr):
            found.append(f"{node.lineno}: .{node.attr}")
    return found


# The one module that must extend Dagster's internals: a storage class for the instance's
# dagster.yaml is, by Dagster's design, a subclass of its storage (dagster_project/instance.py
# says why it exists; test_the_event_log_keeps_a_connection_... catches an upgrade breaking it).
EXTENDS_DAGSTER_STORAGE = PROJECT_ROOT / "dagster_project" / "instance.py"


@pytest.mark.parametrize("path", [p for p in OUR_CODE if p != EXTENDS_DAGSTER_STORAGE], ids=str)
def test_no_private_imports_nor_dagster_internals(path: Path) -> None:
    assert private_uses(ast.parse(path.read_text(encoding="utf-8"))) == []


def test_the_private_import_check_finds_each_kind() -> None:
    source = (
        "import dagster as dg\nfrom dagster_dbt import dbt_assets\n"
        "from dbt.adapters.duckdb.connections import DuckDBConnectionManager\n"
        "from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage\n"
        "from dagster._core.errors import DagsterError\n"
        "from dbt.adapters.duckdb._impl import x\nimport dagster._utils\n"
        "dg._check\n"
    )
    assert private_uses(ast.parse(source)) == [
        "4: dagster_dbt.core.dbt_cli_event.DbtCoreCliEventMessage",
        "5: dagster._core.errors.DagsterError",
        "6: dbt.adapters.duckdb._impl.x",
        "7: dagster._utils",
        "8: ._check",
    ]


def test_a_copied_data_folder_logs_its_runs_into_itself(tmp_path: Path) -> None:
    """The instance config written into a folder names that folder's event log; a copy of
    the folder gets its own on the next run, and a file someone wrote is left alone."""
    import shutil

    from dagster_project.instance import prepare

    original = prepare(tmp_path / "first" / "dagster")
    shutil.copytree(tmp_path / "first", tmp_path / "copy")
    copied = prepare(tmp_path / "copy" / "dagster")
    event_log = yaml.safe_load(copied.read_text(encoding="utf-8"))["event_log_storage"]
    assert event_log["config"]["base_dir"] == str(
        (tmp_path / "copy").resolve() / "dagster" / "history" / "runs"
    )
    assert "first" in original.read_text(encoding="utf-8")
    own = "# mine\nevent_log_storage: {module: x, class: y}\n"
    original.write_text(own, encoding="utf-8")
    assert prepare(tmp_path / "first" / "dagster").read_text(encoding="utf-8") == own
