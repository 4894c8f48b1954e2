"""The same dbt project on Apache Spark (AVTALE_ENGINE=spark, docs/spark.md): one demo
portfolio refreshed on DuckDB and on Spark publishes the same marts, row for row, and
Spark's customer_months matches tests/oracle.py to the cent.

Spark runs inside this process (dbt-spark's session method, pyspark's own Spark, Java
from Debian). Without the spark extra or Java the module is skipped, unless
AVTALE_REQUIRE_SPARK=1 (as .ci/run sets): then it fails, so CI cannot skip it unseen.
A process keeps the first Spark session it starts (its warehouse folder and catalogue
are fixed then), so this module builds one Spark data folder only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from avtale.cli import refresh
from avtale.demo_data import write_demo_data
from avtale.pipeline import ingest
from avtale.serving import connect_serving
from avtale.settings import ENGINE_ENV, Paths
from dagster_project.dbt_runs import describe_failure, run_dbt
from tests.published_marts import differences, oracle_mismatches, published

pytestmark = pytest.mark.slow

MISSING = [
    what
    for what, there in (
        ("the spark extra (make setup AVTALE_EXTRAS=spark)", importlib.util.find_spec("pyspark")),
        ("Java (Debian's openjdk-17-jre-headless)", shutil.which("java")),
    )
    if not there
]
if MISSING:
    if os.environ.get("AVTALE_REQUIRE_SPARK") == "1":
        raise RuntimeError(f"AVTALE_REQUIRE_SPARK=1 but this machine lacks {', '.join(MISSING)}")
    pytest.skip(f"dbt on Spark needs {', '.join(MISSING)}", allow_module_level=True)

# The marts the issue names first; every other mart is compared too.
CORE_MARTS = {"customer_months", "mrr_movements", "monthly_metrics", "contract_deadlines"}


def build(root: Path, exports: Path, engine: str) -> Paths:
    home = Paths(root / engine).ensure()
    report = ingest(home, [exports])
    assert [f.path.name for f in report.files if f.status == "error"] == []
    with pytest.MonkeyPatch.context() as env:
        env.setenv(ENGINE_ENV, engine)
        assert refresh(home), f"the refresh on {engine} failed"
    return home


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[Paths, Paths, Path]:
    root = tmp_path_factory.mktemp("engines")
    exports = root / "exports"
    write_demo_data(exports, companies=150, seed=11, as_of=date(2025, 6, 15))
    return build(root, exports, "duckdb"), build(root, exports, "spark"), exports


def test_spark_publishes_the_marts_duckdb_publishes(both) -> None:
    duckdb_home, spark_home, _ = both
    on_duckdb, on_spark = published(duckdb_home), published(spark_home)
    assert on_spark.keys() >= CORE_MARTS
    assert all(on_duckdb[mart] for mart in CORE_MARTS)  # rows to compare, not empty tables
    # The two folders loaded the same files at different times: `loads` differs in when.
    for marts in (on_duckdb, on_spark):
        marts["loads"] = [
            tuple(v for v in row if not isinstance(v, datetime)) for row in marts["loads"]
        ]
    assert differences(on_duckdb, on_spark) == []


def test_spark_marts_keep_their_contracts_types(both) -> None:
    duckdb_home, spark_home, _ = both
    query = (
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY ALL"
    )
    with connect_serving(duckdb_home.serving) as con:
        on_duckdb = con.execute(query).fetchall()
    with connect_serving(spark_home.serving) as con:
        on_spark = con.execute(query).fetchall()
    assert on_spark == on_duckdb


def test_spark_customer_months_match_an_independent_computation(both) -> None:
    _, spark_home, exports = both
    assert oracle_mismatches(spark_home, exports) == []


def test_spark_sources_are_the_lake_and_its_marts_are_spark_tables(both) -> None:
    _, spark_home, _ = both
    assert (spark_home.lake / "hubspot").is_dir()
    assert list(
        (spark_home.spark_home / "warehouse" / "marts.db" / "customer_months").glob("*.parquet")
    )
    # The data tests and unit tests ran on Spark too, and passed.
    results = json.loads((spark_home.home / "dbt-target" / "run_results.json").read_text())
    kinds = {r["unique_id"].split(".")[0] for r in results["results"]}
    assert kinds >= {"model", "test", "seed"}
    assert {r["status"] for r in results["results"]} <= {"success", "pass", "no-op"}


def test_dbt_unit_tests_pass_on_spark(both) -> None:
    """The unit tests (SPEC IX's edge cases, tests/test_dbt.py on DuckDB) on Spark."""
    _, spark_home, _ = both
    variables = json.dumps(
        {"as_of_date": "2025-06-30", "avtale_home": str(spark_home.home)}
        | {"warehouse_path": str(spark_home.warehouse)}
    )
    run = run_dbt(
        ["test", "--select", "test_type:unit"], spark_home.home / "dbt-unit", variables, "spark"
    )
    assert run.success, describe_failure(run.failed)
    units = [r for r in run.results if r.node.unique_id.startswith("unit_test.")]
    passed = {r.node.name for r in units if str(r.status) == "pass"}
    assert len(passed) == len(units) >= 40
    assert {"line_mrr_per_billing_period", "movements_classified", "monthly_rates"} <= passed
