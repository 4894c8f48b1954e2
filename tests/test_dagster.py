"""The Dagster definitions: what exists, how it is keyed, and what the sensor does."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from dagster_project.definitions import defs
from tests.sample_files import drop

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


def test_schedule_and_sensor_run_unattended_in_one_process() -> None:
    schedule = defs.resolve_schedule_def("daily_refresh")
    assert schedule.cron_schedule == "0 5 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert defs.resolve_sensor_def("inbox_sensor").default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.resolve_job_def("refresh").executor_def.name == "in_process"


def test_inbox_sensor_requests_one_run_per_set_of_waiting_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVTALE_HOME", str(tmp_path))
    sensor = defs.resolve_sensor_def("inbox_sensor")
    (tmp_path / "inbox").mkdir()
    empty = sensor(dg.build_sensor_context())
    assert isinstance(empty, dg.SkipReason)
    # A file still being written waits until it has settled.
    (tmp_path / "inbox" / "deals.csv").write_text("Record ID,Deal Name\n", encoding="utf-8")
    writing = sensor(dg.build_sensor_context())
    assert isinstance(writing, dg.SkipReason) and "deals.csv" in str(writing.skip_message)
    drop(tmp_path / "inbox" / "deals.csv", "Record ID,Deal Name\n")
    first = sensor(dg.build_sensor_context())
    again = sensor(dg.build_sensor_context())
    assert isinstance(first, dg.RunRequest) and first.run_key == again.run_key
    drop(tmp_path / "inbox" / "more.csv", "x\n")
    assert sensor(dg.build_sensor_context()).run_key != first.run_key
