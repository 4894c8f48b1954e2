"""The vocabulary (avtale.vocabulary) is the one the rest of the system speaks: the dbt
project's accepted values and MRR macro, the operational database's CHECK constraints, the
phrase books of the documents and the spellings ingestion reads."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

import docgen
from avtale.repository.db import migrate
from avtale.settings import DBT_PROJECT_DIR
from avtale.valuation import line_mrr
from avtale.vocabulary import (
    APP_BILLING_PERIODS,
    BILLING_PERIODS,
    DEADLINE_TYPES,
    MOVEMENT_TYPES,
    PRICE_ADJUSTMENT_RULES,
)
from ingestion.parsing import BILLING_SPELLINGS, install_macros

D = Decimal

# (quantity, unit price, discount percent, billing period, interval months)
LINES = [
    ("3", "149", "0", "monthly", None),
    ("1", "300", "0", "weekly", None),
    ("1", "1234.56", "0", "weekly", None),
    ("7", "99.95", "12.5", "weekly", None),
    ("1", "2600", "0", "biweekly", None),
    ("2", "249", "10", "biweekly", None),
    ("2", "1200", "25", "quarterly", None),
    ("1", "6000", "0", "half_yearly", None),
    ("1", "12000", "33.3333", "yearly", None),
    ("1", "24000", "0", "two_yearly", None),
    ("1", "36000", "0", "three_yearly", None),
    ("1", "48000", "0", "four_yearly", None),
    ("1", "60000", "5", "five_yearly", None),
    ("1", "2400", "0", "every_n_months", 4),
    ("1", "2400", "0", "every_n_months", 1),
    ("1", "999", "0", "every_n_months", 7),
    ("1", "5000", "0", "one_off", None),
]
# The columns of the sources (and of int_contract_lines_priced) are doubles.
AMOUNT = "quantity * unit_price * (1 - discount_percent / 100)"


def _values() -> str:
    rows = [
        f"({i}, {q}::double, {p}::double, {d}::double, '{period}', {n or 'null'}::integer)"
        for i, (q, p, d, period, n) in enumerate(LINES)
    ]
    return ", ".join(rows)


@pytest.fixture(scope="module")
def dbt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, list[str]]]:
    """The parsed dbt project (its manifest) and the arguments that reach it; the profile's
    warehouse in a temporary data folder."""
    from dbt.cli.main import dbtRunner

    home = tmp_path_factory.mktemp("home")
    args = [
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
    before = os.environ.get("AVTALE_HOME")
    os.environ["AVTALE_HOME"] = str(home)
    try:
        parsed = dbtRunner().invoke(["parse", *args])
        assert parsed.success, parsed.exception
        yield parsed.result, args
    finally:
        if before is None:
            del os.environ["AVTALE_HOME"]
        else:
            os.environ["AVTALE_HOME"] = before


@pytest.mark.slow
def test_line_mrr_is_the_dbt_macro_on_every_billing_period(dbt: tuple[Any, list[str]]) -> None:
    from dbt.cli.main import dbtRunner

    manifest, args = dbt
    assert {period for *_, period, _ in LINES} == set(BILLING_PERIODS)
    sql = (
        "select id, {{ line_mrr('" + AMOUNT + "', 'billing_period', "
        "billing_months('billing_period', 'interval_months')) }} as mrr "
        f"from (values {_values()}) as lines(id, quantity, unit_price, discount_percent, "
        "billing_period, interval_months) order by id"
    )
    shown = dbtRunner(manifest=manifest).invoke(["show", *args, "--inline", sql, "--limit", "-1"])
    assert shown.success, shown.exception
    from_dbt = {int(row[0]): row[1] for row in shown.result.results[0].agate_table.rows}
    for index, (quantity, price, discount, period, interval) in enumerate(LINES):
        values = {
            "quantity": D(quantity),
            "unit_price": D(price),
            "discount_percent": D(discount),
            "billing_period": period,
            "billing_interval_months": interval,
        }
        expected = float(line_mrr(values))
        assert float(from_dbt[index]) == pytest.approx(expected, rel=1e-12), (period, price)


# Column of an accepted_values test -> the vocabulary it must use.
VOCABULARY_COLUMNS = {
    "billing_period": BILLING_PERIODS,
    "deadline_type": DEADLINE_TYPES,
    "price_adjustment_rule": PRICE_ADJUSTMENT_RULES,
    "movement": MOVEMENT_TYPES,
}


@pytest.mark.slow
def test_the_marts_accept_exactly_the_vocabulary(dbt: tuple[Any, list[str]]) -> None:
    from dbt.cli.main import dbtRunner

    manifest, args = dbt
    # Compiled, so the values are the ones the test runs with, wherever they are kept.
    compiled = dbtRunner(manifest=manifest).invoke(
        ["compile", *args, "--select", "test_name:accepted_values"]
    )
    assert compiled.success, compiled.exception
    checked: dict[str, list[str]] = {column: [] for column in VOCABULARY_COLUMNS}
    for result in compiled.result.results:
        node = result.node
        if node.column_name not in VOCABULARY_COLUMNS:
            continue
        listed = re.search(r"not in \(([^)]*)\)", node.compiled_code)
        assert listed is not None, node.unique_id
        values = set(re.findall(r"'([^']*)'", listed.group(1)))
        vocabulary = set(VOCABULARY_COLUMNS[node.column_name])
        # A mart publishes the whole vocabulary; an intermediate model may hold a part.
        if node.original_file_path.startswith("models/marts/"):
            assert values == vocabulary, (node.attached_node, node.column_name)
        else:
            assert values <= vocabulary, (node.attached_node, node.column_name)
        checked[node.column_name].append(node.attached_node)
    assert checked["billing_period"] == ["model.avtale.contract_lines"]
    assert "model.avtale.contract_deadlines" in checked["deadline_type"]
    assert "model.avtale.mrr_movements" in checked["movement"]


def test_the_operational_database_accepts_the_app_billing_periods(tmp_path: Path) -> None:
    migrate(f"sqlite:///{tmp_path / 'avtale.db'}")
    with sqlite3.connect(tmp_path / "avtale.db") as con:
        for table in ("contract_lines", "products"):
            (schema,) = con.execute(
                "select sql from sqlite_master where type = 'table' and name = ?", [table]
            ).fetchone()
            check = re.search(r"billing_period IN \(([^)]*)\)", schema)
            assert check is not None, table
            accepted = {value.strip().strip("'") for value in check.group(1).split(",")}
            assert accepted == set(APP_BILLING_PERIODS), table
    assert set(APP_BILLING_PERIODS) < set(BILLING_PERIODS)


def test_documents_name_every_app_billing_period() -> None:
    assert set(docgen.BILLING_PERIODS) == set(APP_BILLING_PERIODS)
    for period in APP_BILLING_PERIODS:
        assert docgen.Formatter("en").period(period, 3)


def test_ingestion_reads_every_billing_period_and_nothing_else() -> None:
    spellings = [spelling for forms in BILLING_SPELLINGS.values() for spelling in forms]
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    install_macros(con)
    read = {
        spelling: con.execute("select avt_billing(?, null)", [spelling.upper()]).fetchone()[0]
        for spelling in spellings
    }
    assert {read[s]: None for s in spellings}.keys() == set(BILLING_PERIODS)
    for period, forms in BILLING_SPELLINGS.items():
        assert {read[form] for form in forms} == {period}
