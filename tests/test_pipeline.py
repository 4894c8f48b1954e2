"""End to end on real components: demo exports -> ingest -> Dagster refresh -> serving copy.

The warehouse's MRR is compared, customer by customer and month by month, with
tests/oracle.py: a plain-Python reading of SPEC IX that shares no code with it.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from avtale.cli import refresh
from avtale.demo_data import write_demo_data
from avtale.pipeline import ingest
from avtale.serving import connect, connect_serving, connect_warehouse
from avtale.settings import PROJECT_ROOT, Paths
from dagster_project.instance import prepare
from tests.published_marts import differences, oracle_mismatches, published
from tests.sample_files import drop

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Paths, Path]:
    root = tmp_path_factory.mktemp("pipeline")
    exports = root / "exports"
    write_demo_data(exports, companies=400, seed=11, as_of=date(2025, 6, 15))
    home = Paths(root / "home").ensure()
    report = ingest(home, [exports])
    assert [f.path.name for f in report.files if f.status == "error"] == []
    assert refresh(home)
    return home, exports


def serving_rows(home: Paths, sql: str) -> list[tuple]:
    with connect_serving(home.serving) as con:
        return con.execute(sql).fetchall()


def test_customer_months_match_an_independent_computation(built) -> None:
    home, exports = built
    assert oracle_mismatches(home, exports) == []


def test_movements_add_up_to_the_change_in_total_mrr(built) -> None:
    home, _ = built
    gaps = serving_rows(
        home,
        "SELECT m.month FROM monthly_metrics m "
        "LEFT JOIN (SELECT month, sum(amount) AS moved FROM mrr_movements GROUP BY month) v "
        "USING (month) WHERE abs(coalesce(v.moved, 0) - (m.mrr - m.previous_mrr)) > 0.001",
    )
    assert gaps == []
    kinds = {row[0] for row in serving_rows(home, "SELECT DISTINCT movement FROM mrr_movements")}
    assert kinds == {"new", "expansion", "contraction", "churn", "reactivation"}


def test_every_deliberately_bad_row_is_in_quarantine(built) -> None:
    home, exports = built
    with (exports / "bad_rows.txt").open(encoding="utf-8") as f:
        manifest = {(Path(r["file"]).name, int(r["row_number"])) for r in csv.DictReader(f)}
    quarantined = set(serving_rows(home, "SELECT source_file, row_number FROM quarantine"))
    assert manifest and manifest <= quarantined


def test_sound_exports_make_no_data_quality_findings(built) -> None:
    home, _ = built
    assert serving_rows(home, "SELECT * FROM data_quality_findings") == []


def test_published_marts_carry_lineage_and_deadlines(built) -> None:
    home, _ = built
    tables = {row[0] for row in serving_rows(home, "SHOW TABLES")}
    assert {
        "customers",
        "contracts",
        "contract_lines",
        "customer_months",
        "mrr_movements",
        "monthly_metrics",
        "contract_deadlines",
        "data_quality_findings",
        "quarantine",
        "loads",
    } <= tables
    kinds = {
        row[0]
        for row in serving_rows(home, "SELECT DISTINCT deadline_type FROM contract_deadlines")
    }
    assert (
        {"expiry", "notice"}
        <= kinds
        <= {
            "expiry",
            "notice",
            "renegotiation_window",
            "lock_in_end",
            "price_adjustment",
            "discount_end",
            "next_renewal",
        }
    )
    hubspot = serving_rows(
        home,
        "SELECT count(*) FROM customers WHERE source_system = 'hubspot' AND source_id ~ '^[0-9]+$'",
    )
    assert hubspot[0][0] > 0


def test_a_failed_refresh_leaves_the_last_good_copy(built) -> None:
    home, _ = built
    before = home.serving.read_bytes()
    # Another process holds the warehouse, so this refresh cannot ingest.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "time.sleep(60)",
            str(home.warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        drop(home.inbox / "fx_rates.csv", "currency,rate\nEUR,12\n")
        assert refresh(home) is False
    finally:
        holder.kill()
        holder.wait()
    assert home.serving.read_bytes() == before
    assert (home.inbox / "fx_rates.csv").exists()  # not lost: the next refresh loads it
    assert refresh(home)
    assert not (home.inbox / "fx_rates.csv").exists()
    rates = serving_rows(home, "SELECT count(*) FROM loads WHERE kind = 'fx_rates'")
    assert rates[0][0] == 2


def test_app_renders_the_published_marts(
    built, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from streamlit.testing.v1 import AppTest

    from avtale.settings import STREAMLIT_APP
    from tests.app_ops_fixtures import app_formatter, log_in, make_template, sqlite_url

    home, _ = built
    monkeypatch.setenv("AVTALE_HOME", str(home.home))
    # The dashboards are behind the login; the users live in a database of their own.
    monkeypatch.setenv("AVTALE_DATABASE_URL", sqlite_url(make_template(tmp_path)))
    at = log_in(AppTest.from_file(str(STREAMLIT_APP), default_timeout=60).run(), "anna")
    assert not at.exception
    mrr_tile = next(m for m in at.metric if m.label == "MRR")
    # The tiles show the latest complete month: the running one is the last actual month.
    (latest_mrr,) = serving_rows(
        home,
        "SELECT mrr FROM monthly_metrics WHERE NOT is_future ORDER BY month DESC LIMIT 1 OFFSET 1",
    )[0]
    assert mrr_tile.value == app_formatter("nb").tile_money(latest_mrr)  # anna reads nb


def test_one_mart_materialises_alone_from_the_command_line(built, tmp_path: Path) -> None:
    home, _ = built
    dagster_home = tmp_path / "dagster"
    prepare(dagster_home)  # as `make dev` does
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "AVTALE_HOME": str(home.home)}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "asset", "materialize"]
        + ["-m", "dagster_project.definitions", "--select", "marts/customers"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # dbt built that one model (and ran its tests), nothing upstream or beside it (the
    # on-run-start hook, register_lake, runs nothing on DuckDB).
    results = json.loads((home.dbt_target / "run_results.json").read_text())
    built_nodes = {
        r["unique_id"]
        for r in results["results"]
        if r["status"] == "success" and not r["unique_id"].startswith("operation.")
    }
    assert built_nodes == {"model.avtale.customers"}
    tested = {r["unique_id"].split(".")[2] for r in results["results"] if r["status"] == "pass"}
    assert "unique_customers_customer_id" in tested
    instance = dg.DagsterInstance.local_temp(tempdir=str(dagster_home))
    (run,) = instance.get_run_records()
    materialised = instance.get_records_for_run(
        run.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    assert {r.asset_key.to_user_string() for r in materialised if r.asset_key} == {
        "marts/customers"
    }


def test_a_refresh_leaves_the_environment_of_its_process_alone(
    built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = built
    # Another folder in the environment: the refresh must use the one it is given.
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("AVTALE_HOME", str(elsewhere))
    monkeypatch.setenv("DAGSTER_HOME", str(elsewhere / "dagster"))
    before = dict(os.environ)
    assert refresh(home)
    assert dict(os.environ) == before
    assert not elsewhere.exists()


def test_a_refresh_with_nothing_new_builds_nothing_and_keeps_the_copy(
    built, capsys: pytest.CaptureFixture[str]
) -> None:
    home, _ = built
    assert refresh(home)  # whatever earlier tests left is built and published now
    copy = home.serving.stat()
    results = (home.dbt_target / "run_results.json").stat()

    assert refresh(home)
    assert "nothing new since the last build" in capsys.readouterr().err
    assert home.serving.stat().st_ino == copy.st_ino  # not published again
    assert (home.dbt_target / "run_results.json").stat().st_mtime_ns == results.st_mtime_ns

    # The business day's chain asks for a publish whatever is new (the reminders wait for one).
    from dagster_project.definitions import defs
    from dagster_project.defs.jobs import ALWAYS_PUBLISH
    from dagster_project.defs.resources import AvtaleHome, OperationalDatabase
    from dagster_project.refresh import dagster_instance

    avtale = AvtaleHome(home=str(home.home))
    chained = defs.resolve_job_def("refresh").execute_in_process(
        instance=dagster_instance(home),
        tags=ALWAYS_PUBLISH,
        resources={"avtale": avtale, "database": OperationalDatabase(avtale=avtale)},
    )
    assert chained.success
    assert home.serving.stat().st_ino != copy.st_ino
    copy = home.serving.stat()

    # A new load is something new: built and published, and the new rate is in the marts.
    drop(home.inbox / "fx_rates.csv", "currency,rate\nEUR,12.5\n")
    assert refresh(home)
    assert home.serving.stat().st_ino != copy.st_ino
    assert serving_rows(home, "SELECT count(*) FROM loads WHERE kind = 'fx_rates'")[0][0] >= 2

    # Asked to rebuild (`avtale refresh --rebuild` after editing the warehouse by hand).
    again = home.serving.stat()
    home.last_build.unlink()
    assert refresh(home)
    assert home.serving.stat().st_ino != again.st_ino
    assert home.last_build.exists()


def in_warehouse(home: Paths, sql: str, params: tuple = ()) -> list[tuple]:
    with connect_warehouse(home.warehouse) as con:
        return con.execute(sql, params).fetchall()


def test_customer_months_checks_repeated_months_in_the_customers_a_build_computed(built) -> None:
    """customer_months' one-row-per-month test reads only the customers the build computed
    (a build inserts rows for no others): all of them after a whole build, the changed
    ones after new loads; a month repeated there fails it and names the customer."""
    from dagster_project.dbt_runs import run_dbt, with_failing_rows
    from dagster_project.defs.dbt import dbt_variables

    home, _ = built

    computed = "SELECT customer_id FROM intermediate.customer_months_rebuilt ORDER BY 1"
    everyone = "SELECT DISTINCT customer_id FROM marts.customer_months ORDER BY 1"
    assert refresh(home)
    home.last_build.unlink()
    assert refresh(home)  # a whole build
    assert in_warehouse(home, computed) == in_warehouse(home, everyone)

    drop(home.inbox / "dup_customers.csv", "customer_id,name\nDUP-1,Dobbel AS\n")
    drop(
        home.inbox / "dup_contracts.csv",
        "contract_id,customer_id,start_date,term_months\nDUP-K1,DUP-1,2025-01-01,12\n",
    )
    drop(
        home.inbox / "dup_lines.csv",
        "line_id,contract_id,product,quantity,unit_price,billing_period\n"
        "DUP-L1,DUP-K1,Assist,2,100,monthly\n",
    )
    assert refresh(home)  # only what changed
    [(customer,)] = in_warehouse(
        home, "SELECT customer_id FROM marts.customers WHERE name = 'Dobbel AS'"
    )
    assert in_warehouse(home, computed) == [(customer,)]
    # The other models computed per customer computed that customer again, and no other;
    # their key tests read its rows only, and (the forecast's, below) still find a key it
    # repeats.
    for model in (
        "int_forecast_contract_months",
        "int_forecast_invoices_scheduled",
        "int_customer_product_months",
    ):
        rebuilt = in_warehouse(home, f"SELECT customer_id FROM intermediate.{model}_rebuilt")
        assert rebuilt == [(customer,)], model
    table = "intermediate.int_forecast_contract_months"
    repeated = "SELECT 'DUP-K9', ?, DATE '2030-01-01', 1.0, 1.0 FROM range(2)"
    in_warehouse(home, f"INSERT INTO {table} {repeated}", (customer,))
    try:
        args = [
            "test",
            "--select",
            "int_forecast_contract_months,test_name:unique_combination_of_columns",
        ]
        run = run_dbt(args, home.dbt_target, dbt_variables(home))
        assert not run.success
        [failed] = with_failing_rows(home.warehouse, run.failed)
        assert failed.rows == (("DUP-K9", date(2030, 1, 1), 2),)
    finally:
        in_warehouse(home, f"DELETE FROM {table} WHERE contract_id = 'DUP-K9'")

    month = "SELECT * FROM marts.customer_months WHERE customer_id = ? AND month = '2025-03-01'"
    in_warehouse(home, f"INSERT INTO marts.customer_months {month}", (customer,))
    try:
        args = ["test", "--select", "assert_customer_months_one_row_per_month"]
        run = run_dbt(args, home.dbt_target, dbt_variables(home))
        assert not run.success
        [failed] = with_failing_rows(home.warehouse, run.failed)
        assert failed.name == "assert_customer_months_one_row_per_month"
        assert failed.rows == ((customer, date(2025, 3, 1), 2),)
    finally:  # one of the two rows again, for the tests after this one
        in_warehouse(
            home,
            "DELETE FROM marts.customer_months WHERE rowid = (SELECT max(rowid) FROM "
            "marts.customer_months WHERE customer_id = ? AND month = '2025-03-01')",
            (customer,),
        )
    assert len(in_warehouse(home, month, (customer,))) == 1


def test_a_primary_key_test_fails_on_a_null_and_on_a_repeated_key(built) -> None:
    """A key's `primary_key` test is dbt's `unique` and `not_null` in one node: it still
    fails on either, and its failing rows name the NULL and the repeated key."""
    from dagster_project.dbt_runs import run_dbt, with_failing_rows
    from dagster_project.defs.dbt import dbt_variables

    home, _ = built
    table = "intermediate.int_contracts_unioned"
    [(contract,)] = in_warehouse(home, f"SELECT min(contract_id) FROM {table}")
    one_row = f"SELECT * FROM {table} WHERE contract_id = ?"
    in_warehouse(home, f"INSERT INTO {table} {one_row}", (contract,))
    in_warehouse(
        home,
        f"INSERT INTO {table} SELECT * REPLACE (NULL AS contract_id) FROM ({one_row}) LIMIT 1",
        (contract,),
    )
    try:
        args = ["test", "--select", "primary_key_int_contracts_unioned_contract_id"]
        run = run_dbt(args, home.dbt_target, dbt_variables(home))
        assert not run.success
        [failed] = with_failing_rows(home.warehouse, run.failed)
        assert failed.columns == ("key_value", "rows_with_key")
        assert set(failed.rows) == {(None, 1), (contract, 2)}
    finally:  # the table as it was, for the tests after this one
        in_warehouse(home, f"DELETE FROM {table} WHERE contract_id IS NULL")
        in_warehouse(
            home,
            f"DELETE FROM {table} WHERE rowid = (SELECT max(rowid) FROM {table} WHERE contract_id = ?)",
            (contract,),
        )
    assert len(in_warehouse(home, one_row, (contract,))) == 1


def test_a_table_whose_build_fails_keeps_its_rows(built) -> None:
    """Tables are replaced in one statement inside the model's transaction
    (macros/materialization_table.sql): when filling the new table fails, here on its
    contract's NOT NULL, the old table is still there, whole."""
    from dagster_project.dbt_runs import run_dbt
    from dagster_project.defs.dbt import dbt_variables

    home, _ = built
    table = "intermediate.int_contracts_unioned"
    before = in_warehouse(home, "SELECT * FROM marts.contracts ORDER BY contract_id")
    assert before
    in_warehouse(
        home, f"INSERT INTO {table} SELECT * REPLACE (NULL AS customer_id) FROM {table} LIMIT 1"
    )
    try:
        run = run_dbt(["run", "--select", "contracts"], home.dbt_target, dbt_variables(home))
        assert not run.success
        [failed] = run.failed
        assert "NOT NULL constraint failed" in failed.message
    finally:  # the table as it was, for the tests after this one
        in_warehouse(home, f"DELETE FROM {table} WHERE customer_id IS NULL")
    assert in_warehouse(home, "SELECT * FROM marts.contracts ORDER BY contract_id") == before
    run = run_dbt(["run", "--select", "contracts"], home.dbt_target, dbt_variables(home))
    assert run.success
    assert in_warehouse(home, "SELECT * FROM marts.contracts ORDER BY contract_id") == before


def nodes_built(home: Paths) -> int:
    results = json.loads((home.dbt_target / "run_results.json").read_text())
    return len(results["results"])


def per_customer_rows(home: Paths) -> dict[str, list[tuple]]:
    """The intermediates computed per customer (the marts are compared as published),
    amounts to a millionth (the order a sum adds its terms in changes from build to
    build)."""
    return {
        "product_months": in_warehouse(
            home,
            "SELECT customer_id, product, month, round(mrr, 6), round(previous_mrr, 6), "
            "is_first_month, is_future FROM intermediate.int_customer_product_months "
            "ORDER BY ALL",
        ),
        "contract_months": in_warehouse(
            home,
            "SELECT contract_id, customer_id, month, round(contracted_mrr, 6), "
            "round(adjusted_mrr, 6) FROM intermediate.int_forecast_contract_months ORDER BY ALL",
        ),
        "invoices": in_warehouse(
            home,
            "SELECT line_id, contract_id, customer_id, invoice_date, round(amount, 6) "
            "FROM intermediate.int_forecast_invoices_scheduled ORDER BY ALL",
        ),
    }


def test_a_build_of_what_changed_equals_a_whole_build(
    built, capsys: pytest.CaptureFixture[str]
) -> None:
    """After loads or app writes only, a refresh builds the models downstream of the sources
    that changed (and every mart); on random change sets its marts equal a whole build's."""
    import random

    from avtale.repository import service
    from avtale.repository.db import database_url, make_engine, session_scope

    home, exports = built
    assert refresh(home)
    home.last_build.unlink()
    assert refresh(home)  # a whole build, recorded
    whole = nodes_built(home)
    with (exports / "generic" / "contracts.csv").open(encoding="utf-8-sig") as f:
        contracts = [row["contract_id"] for row in csv.DictReader(f, delimiter=";")]
    engine = make_engine(database_url(home))

    def generic_trio(n: int) -> None:
        drop(home.inbox / f"c{n}.csv", f"customer_id,name\nSEL-{n},Valgt {n} AS\n")
        drop(
            home.inbox / f"k{n}.csv",
            f"contract_id,customer_id,start_date,term_months\nSEL-K{n},SEL-{n},2025-01-01,12\n",
        )
        drop(
            home.inbox / f"l{n}.csv",
            "line_id,contract_id,product,quantity,unit_price,billing_period\n"
            f"SEL-L{n},SEL-K{n},Assist,{n},100,monthly\n",
        )

    def line_on_a_known_contract(n: int) -> None:
        contract = random.Random(n).choice(contracts)
        drop(
            home.inbox / f"x{n}.csv",
            "line_id,contract_id,product,quantity,unit_price,billing_period,start_date\n"
            f"SEL-X{n},{contract},Extra,{n},250,quarterly,2024-03-01\n",
        )

    def fx_rate(n: int) -> None:
        drop(home.inbox / f"fx{n}.csv", f"currency,rate\nEUR,{11 + n / 10}\n")

    def app_save(n: int) -> None:
        with session_scope(engine) as session:
            customer = service.create_customer(session, "kari", {"name": f"App {n} AS"})
            terms = {"start_date": date(2025, 2, 1), "term_months": 12, "currency": "NOK"}
            line = {
                "product": "Assist",
                "quantity": n,
                "unit_price": 90,
                "billing_period": "monthly",
            }
            service.create_contract(session, "kari", customer, terms, [line])

    changes = [generic_trio, line_on_a_known_contract, fx_rate, app_save]
    pick = random.Random(20261204)
    try:
        for n in range(1, 4):
            for change in pick.sample(changes, pick.randint(1, 2)):
                change(n)
            capsys.readouterr()
            assert refresh(home)
            assert "--select source:" in capsys.readouterr().err
            assert nodes_built(home) < whole
            changed = published(home)
            intermediates = per_customer_rows(home)
            home.last_build.unlink()
            assert refresh(home)
            assert nodes_built(home) == whole
            assert differences(published(home), changed) == [], n
            # Intermediates computed per customer too (whole above).
            assert per_customer_rows(home) == intermediates, n
    finally:
        engine.dispose()
    assert serving_rows(home, "SELECT count(*) FROM customers WHERE name LIKE 'App % AS'")


def test_a_parse_ahead_is_the_one_the_next_build_uses(built) -> None:
    """The warm worker parses dbt as it starts (parse_ahead_for): the manifest it keeps
    must be the one a refresh's build then finds, or the first refresh parses again."""
    from dagster_project import dbt_runs
    from dagster_project.defs.dbt import parse_ahead_for

    home, _ = built
    dbt_runs._manifests.clear()
    assert parse_ahead_for(home)
    [ahead] = dbt_runs._manifests.values()

    drop(home.inbox / "ahead_customers.csv", "customer_id,name\nAHEAD-1,Forut AS\n")
    assert refresh(home)  # builds what the file changed

    assert serving_rows(home, "SELECT count(*) FROM customers WHERE name = 'Forut AS'") == [(1,)]
    [used] = dbt_runs._manifests.values()
    assert used is ahead


def test_after_new_data_the_views_stand_and_their_tests_run(built) -> None:
    """A build after new loads only builds the tables downstream of them again; a view
    reads its source as it is now, so it stands, and its tests run on the new rows."""
    home, _ = built
    drop(home.inbox / "view_customers.csv", "customer_id,name\nVIEW-1,Utsikt AS\n")
    assert refresh(home)

    results = json.loads((home.dbt_target / "run_results.json").read_text())["results"]
    ran = {result["unique_id"] for result in results}
    assert "model.avtale.int_customers_unioned" in ran  # a table downstream: built again
    assert "model.avtale.stg_generic__customers" not in ran  # its view stands
    assert any(u.startswith("test.avtale.primary_key_stg_generic__customers_") for u in ran)
    assert serving_rows(home, "SELECT count(*) FROM customers WHERE name = 'Utsikt AS'") == [(1,)]


def test_a_warehouse_holding_the_old_marts_schema_loses_it_at_the_next_build(built) -> None:
    """Before the marts had a file of their own they were the warehouse's schema `marts`:
    the next build drops it, so `marts.x` names the marts file's table alone (DuckDB
    refuses a name that could be either) and no stale copy stays behind."""
    home, _ = built
    with connect(home.warehouse) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.customers AS SELECT 'stale' AS customer_id")
    old_schema = (
        "SELECT count(*) FROM duckdb_schemas() "
        "WHERE database_name = 'warehouse' AND schema_name = 'marts'"
    )
    assert in_warehouse(home, old_schema) == [(1,)]
    home.last_build.unlink(missing_ok=True)  # a whole build, as `avtale refresh --rebuild`
    assert refresh(home)
    assert in_warehouse(home, old_schema) == [(0,)]
    assert in_warehouse(home, "SELECT count(*) > 0 FROM marts.customers") == [(True,)]
    assert serving_rows(home, "SELECT count(*) FROM customers WHERE customer_id = 'stale'") == [
        (0,)
    ]
