"""The dbt project's shape, read from its manifest: the DAG runs one way (staging ->
intermediate -> marts), every published column says what it is, the sources say what
they hold and how fresh they must be, the dashboards are exposures, and the vocabulary
is the Python one."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from avtale import metrics, vocabulary
from avtale.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Paths
from tests.demo_home import demo_home

# The pages of the app's Dashboards section; each is one exposure.
DASHBOARD_PAGES = {
    "mrr_overview",
    "kpis",
    "churn",
    "cohorts",
    "sales_team",
    "forecast",
    "portfolio",
}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The parsed project, in a temporary target folder and data folder."""
    from dbt.cli.main import dbtRunner

    home = tmp_path_factory.mktemp("home")
    before = os.environ.get("AVTALE_HOME")
    os.environ["AVTALE_HOME"] = str(home)
    try:
        parsed = dbtRunner().invoke(
            [
                "parse",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(home / "dbt-target"),
                "--log-path",
                str(home / "dbt-logs"),
                "--quiet",
            ]
        )
        assert parsed.success, parsed.exception
        yield parsed.result
    finally:
        if before is None:
            del os.environ["AVTALE_HOME"]
        else:
            os.environ["AVTALE_HOME"] = before


def models(manifest: Any, layer: str) -> dict[str, Any]:
    return {
        node.name: node
        for node in manifest.nodes.values()
        if node.resource_type == "model" and node.original_file_path.startswith(f"models/{layer}/")
    }


def test_no_intermediate_model_reads_a_mart(manifest: Any) -> None:
    marts = {node.unique_id for node in models(manifest, "marts").values()}
    reading_marts = {
        name: sorted(set(node.depends_on.nodes) & marts)
        for name, node in models(manifest, "intermediate").items()
        if set(node.depends_on.nodes) & marts
    }
    assert reading_marts == {}


def test_every_mart_column_is_described_under_an_enforced_contract(manifest: Any) -> None:
    """An enforced contract makes the yml's columns the table's, so none goes unlisted."""
    marts = models(manifest, "marts")
    assert {"monthly_segments", "monthly_product_segments", "monthly_metrics"} <= marts.keys()
    without_contract = sorted(name for name, node in marts.items() if not node.contract.enforced)
    undescribed = sorted(
        f"{name}.{column.name}"
        for name, node in marts.items()
        for column in node.columns.values()
        if not column.description.strip()
    )
    assert (without_contract, undescribed) == ([], [])


def test_the_dashboards_are_exposures_of_the_marts_they_read(manifest: Any) -> None:
    exposures = {exposure.name: exposure for exposure in manifest.exposures.values()}
    assert exposures.keys() == DASHBOARD_PAGES
    pages = {page.stem for page in (PROJECT_ROOT / "apps" / "streamlit").rglob("*.py")}
    marts = {node.unique_id for node in models(manifest, "marts").values()}
    for name, exposure in exposures.items():
        assert name in pages, f"no page {name}.py for the exposure"
        assert exposure.type == "dashboard" and exposure.owner.name == "Avtale"
        assert set(exposure.depends_on.nodes) <= marts, name
        assert "model.avtale.customers" in exposure.depends_on.nodes  # the sidebar filters
    assert "model.avtale.monthly_segments" in exposures["kpis"].depends_on.nodes


def test_every_source_declares_typed_columns_and_freshness_warns_only(manifest: Any) -> None:
    sources = {f"{s.source_name}.{s.name}": s for s in manifest.sources.values()}
    untyped = sorted(
        f"{name}.{column.name}"
        for name, source in sources.items()
        for column in source.columns.values()
        if not column.data_type
    )
    assert untyped == [] and all(source.columns for source in sources.values())
    loads = sources["ingestion.loads"]
    assert loads.loaded_at_field == "loaded_at"
    fresh = [name for name, source in sources.items() if source.freshness]
    assert {"ingestion.loads", "hubspot.deals", "generic.contract_lines"} <= set(fresh)
    for name in fresh:
        freshness = sources[name].freshness
        # A stale export is a warning: it must never stop a refresh.
        assert freshness.warn_after.count and freshness.error_after.count is None, name


@pytest.mark.slow
def test_source_columns_are_the_warehouses(manifest: Any, tmp_path_factory) -> None:
    home: Paths = demo_home(tmp_path_factory)
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        actual = {
            (schema, table): {column: kind.lower() for column, kind in columns}
            for schema, table, columns in con.execute(
                "select table_schema, table_name, list((column_name, data_type) "
                "order by ordinal_position) from information_schema.columns group by all"
            ).fetchall()
        }
    for source in manifest.sources.values():
        declared = {name: column.data_type for name, column in source.columns.items()}
        assert declared == actual[(source.schema, source.identifier)], source.unique_id


def test_the_vocabulary_is_listed_once_as_the_python_one() -> None:
    """The accepted values of the marts come from these project vars
    (tests/test_vocabulary.py checks the compiled tests use them)."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    listed = project["vars"]
    assert tuple(listed["billing_periods"]) == vocabulary.BILLING_PERIODS
    assert tuple(listed["movement_types"]) == vocabulary.MOVEMENT_TYPES
    assert tuple(listed["deadline_types"]) == vocabulary.DEADLINE_TYPES
    assert tuple(listed["price_adjustment_rules"]) == vocabulary.PRICE_ADJUSTMENT_RULES


def test_the_python_rates_read_the_marts_columns(manifest: Any) -> None:
    marts = models(manifest, "marts")
    segments = list(marts["monthly_segments"].columns)
    assert set(metrics.COMPONENTS) <= set(segments)
    assert list(marts["monthly_metrics"].columns) == list(metrics.METRICS)


def test_macros_are_one_per_file_with_a_reason() -> None:
    """One macro per file; a dispatched one (`adapter.dispatch`) keeps its engines'
    implementations beside it: `default__name` (DuckDB's SQL) and `spark__name`. A file
    holding only `spark__name` replaces that adapter's own macro of the name, and
    `materialization_name.sql` holds one materialisation of that name."""
    for path in sorted(Path(DBT_PROJECT_DIR / "macros").glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("-- "), f"{path.name}: say why the macro exists"
        materializations = re.findall(r"{% materialization (\w+),", text)
        if materializations:
            assert [f"materialization_{m}" for m in materializations] == [path.stem], path.name
            assert "{% macro " not in text, path.name
            continue
        names = re.findall(r"{% macro (\w+)\(", text)
        assert names[0] in (path.stem, f"spark__{path.stem}"), path.name
        assert text.count("{% macro ") == len(names), path.name
        assert {re.sub(r"^(default|spark)__", "", name) for name in names} == {path.stem}
        assert len(names) == 1 or f"adapter.dispatch('{path.stem}')" in text, path.name
