"""The dbt project on its own, as an analyst runs it: `dbt build` from dbt/.

This is also where the dbt unit tests (SPEC IX edge cases) run: refreshes skip
them because they test logic, not data.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from avtale.pipeline import export_operational, prepare_warehouse
from avtale.serving import connect, connect_warehouse
from avtale.settings import DBT_PROJECT_DIR, Paths

pytestmark = pytest.mark.slow


def test_dbt_build_runs_from_the_dbt_folder_with_unit_tests(tmp_path: Path) -> None:
    home = Paths(tmp_path).ensure()
    prepare_warehouse(home)  # the source tables, as `avtale ingest` leaves them
    export_operational(home)  # and the app source, as a refresh leaves it
    dbt = str(Path(sys.executable).parent / "dbt")
    done = subprocess.run(
        [dbt, "--no-use-colors", "build", "--vars", "as_of_date: 2025-06-30"]
        + ["--target-path", str(tmp_path / "target")],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "AVTALE_HOME": str(home.home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    for unit_test in (
        "line_mrr_per_billing_period",
        "generic_line_end_follows_contract",
        "month_end_snapshot",
        "customer_months_spine_and_reactivation",
        "customer_months_mrr_twelve_months_before",
        "customer_months_computes_only_changed_customers",
        "customer_months_computes_many_changed_customers_through_a_subquery",
        "forecast_contract_months_compute_only_changed_customers",
        "product_months_compute_only_changed_customers",
        "movements_classified",
        "monthly_rates",
        "deadlines_roll_auto_renewals_forward",
        "app_contract_versions_follow_each_other",
        "unvaluable_lines_become_findings",
        "only_valued_lines_reach_mrr",
        "odoo_subscriptions_end_when_closed",
        "odoo_mrr_reconciled_per_month_end",
        "an_adopted_contract_takes_over_from_its_export",
        "installed_assets_resolve_ids_of_any_source",
    ):
        assert re.search(rf"PASS \w+::{unit_test} ", done.stdout), unit_test
    with connect(home.marts, read_only=True) as con:
        marts = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {"customers", "customer_months", "mrr_movements", "monthly_metrics"} <= marts

    # The marts' not-null rules are contract constraints, enforced by DuckDB as each table
    # is filled (one statement, not a test node each): the built tables carry them.
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    declared = {
        (node["name"], column["name"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["contract"]["enforced"]
        for column in node["columns"].values()
        if any(c["type"] == "not_null" for c in column["constraints"])
    }
    assert ("customer_months", "mrr") in declared and len(declared) > 50
    with connect_warehouse(home.warehouse) as con:
        not_null = set(
            con.execute(
                "SELECT table_name, column_name FROM duckdb_columns() "
                "WHERE database_name = 'marts' AND NOT is_nullable"
            ).fetchall()
        )
        assert declared <= not_null, declared - not_null
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL constraint failed"):
            con.execute(
                "INSERT INTO marts.customer_months (customer_id, month, mrr) "
                "VALUES ('hubspot:1', DATE '2025-01-01', NULL)"
            )
