"""One bad entry never stops the pipeline, and a refresh that does fail says what failed.

A contract line the warehouse cannot value (a currency without a planning rate, a
price that is not a finite number) is put straight into the operational database,
as an old row or a hand edit would be, bypassing the app's validation. The refresh
must still publish: the line is a row of `data_quality_findings` (and a failed
warning check), and no MRR figure counts it. A build that fails for real must name
the failing model or test and show a test's first failing rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import text

from avtale.cli import refresh
from avtale.pipeline import ingest
from avtale.repository import service
from avtale.repository.db import database_url, make_engine, migrate, session_scope
from avtale.serving import connect, connect_serving
from avtale.settings import Paths
from tests.postgres import PostgresServer

pytestmark = pytest.mark.slow

TERMS = {"start_date": date(2025, 1, 1), "term_months": 12, "currency": "NOK", "title": "Assist"}
LICENCES = [{"product": "Assist", "quantity": 10, "unit_price": 100, "billing_period": "monthly"}]


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    monkeypatch.setenv("AVTALE_HOME", str(tmp_path))
    monkeypatch.delenv("AVTALE_DATABASE_URL", raising=False)
    return Paths(tmp_path).ensure()


def save_contracts(url: str, names: list[str]) -> dict[str, tuple[str, int]]:
    """One NOK contract per customer name, through the app's service; name -> (contract
    number, version id)."""
    engine = make_engine(url)
    saved = {}
    try:
        with session_scope(engine) as session:
            for name in names:
                customer = service.create_customer(session, "kari", {"name": name, "country": "NO"})
                version = service.create_contract(session, "kari", customer, TERMS, LICENCES)
                session.flush()
                saved[name] = (version.contract.contract_number, version.id)
    finally:
        engine.dispose()
    return saved


def edit_directly(url: str, statement: str, **params: object) -> None:
    """A write that skips the app's validation and audit: an old row, a hand edit."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            assert connection.execute(text(statement), params).rowcount == 1
    finally:
        engine.dispose()


def serving_rows(home: Paths, sql: str) -> list[tuple]:
    with connect_serving(home.serving) as con:
        return con.execute(sql).fetchall()


# SQLite cannot store a NaN in a number column (it becomes NULL) but stores infinity,
# and text typed in by hand; PostgreSQL's numeric holds NaN.
@pytest.mark.parametrize(
    ("backend", "bad_price", "shown"),
    [
        ("sqlite", float("inf"), "inf"),
        ("sqlite", "not a price", "nan"),
        ("postgresql", Decimal("NaN"), "nan"),
    ],
)
def test_unvaluable_app_lines_become_findings_and_the_refresh_publishes(
    home: Paths,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    backend: str,
    bad_price: object,
    shown: str,
) -> None:
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        database = server.create_database()
        request.addfinalizer(lambda: server.drop_database(database))
        monkeypatch.setenv("AVTALE_DATABASE_URL", server.url(database))
    url = database_url(home)
    migrate(url)
    saved = save_contracts(url, ["Fjord AS", "Pound Ltd", "Broken Price AS"])
    good, pound, broken = (saved[n] for n in ("Fjord AS", "Pound Ltd", "Broken Price AS"))
    # A new version is audited, so the export sees the change; these edits are not.
    edit_directly(url, "UPDATE contract_versions SET currency = 'GBP' WHERE id = :id", id=pound[1])
    edit_directly(
        url,
        "UPDATE contract_lines SET unit_price = :price WHERE version_id = :id",
        price=bad_price,
        id=broken[1],
    )

    assert refresh(home)

    assert "warning: check data_quality_findings_is_empty" in capsys.readouterr().err
    findings = serving_rows(
        home,
        "SELECT source_system, contract_id, field, value, reason FROM data_quality_findings "
        "ORDER BY contract_id",
    )
    assert findings == [
        (
            "app",
            f"app:{pound[0]}",
            "currency",
            "GBP",
            "no planning FX rate: load an FX rates file that has it",
        ),
        ("app", f"app:{broken[0]}", "unit_price", shown, "not a finite number"),
    ]
    # Only the sound contract counts: 10 x 100 NOK a month through 2025.
    months = serving_rows(
        home,
        "SELECT contract_id, sum(mrr) FROM contract_lines "
        "JOIN customer_months USING (customer_id) GROUP BY contract_id",
    )
    assert months == [(f"app:{good[0]}", 12 * 1000.0)]
    totals = serving_rows(
        home, "SELECT DISTINCT mrr FROM monthly_metrics WHERE month < '2026-01-01'"
    )
    assert totals == [(1000.0,)]
    # The contract and its customer are still published, in the currency they trade in.
    pound_contract = serving_rows(
        home,
        "SELECT c.currency, c.current_mrr, k.currency FROM contracts c "
        f"JOIN customers k USING (customer_id) WHERE c.contract_id = 'app:{pound[0]}'",
    )
    assert pound_contract == [("GBP", 0.0, "GBP")]


def test_a_generic_line_whose_currency_lost_its_rate_is_a_finding(home: Paths) -> None:
    """A warehouse loaded before today's checks, or a rate taken out of the built-in
    seed, can hold lines in a currency without a rate: those degrade the same way."""
    files = home.home / "files"
    files.mkdir()
    (files / "customers.csv").write_text("customer_id,name\nG1,Gamle AS\n", encoding="utf-8")
    (files / "contracts.csv").write_text(
        "contract_id,customer_id,start_date,term_months\nK1,G1,2025-01-01,12\n", encoding="utf-8"
    )
    (files / "lines.csv").write_text(
        "line_id,contract_id,product,quantity,unit_price,billing_period\n"
        "L1,K1,Assist,2,100,monthly\nL2,K1,Extra,1,50,monthly\n",
        encoding="utf-8",
    )
    report = ingest(home, [files])
    assert [f.status for f in report.files] == ["loaded"] * 3
    with connect(home.warehouse) as con:
        con.execute("UPDATE generic.contract_lines SET currency = 'ISK' WHERE line_id = 'L2'")

    assert refresh(home)

    assert serving_rows(
        home, "SELECT line_id, field, value, source_file, row_number FROM data_quality_findings"
    ) == [("generic:L2", "currency", "ISK", "lines.csv", 3)]
    in_term = "SELECT DISTINCT mrr FROM customer_months WHERE month < '2026-01-01'"
    assert serving_rows(home, in_term) == [(200.0,)]


def test_large_sound_amounts_pass_the_invariants(home: Paths) -> None:
    """Ingestion accepts up to 1 000 000 x 1 000 000 000 a line. Sums of such doubles
    carry rounding far above a fixed 0.0001, so the invariants' tolerance grows with
    the amounts, or a sound portfolio would fail its own tests."""
    files = home.home / "files"
    files.mkdir()
    customers = ["customer_id,name"] + [f"G{i},Kunde {i} AS" for i in range(12)]
    contracts = ["contract_id,customer_id,start_date,term_months,currency"] + [
        f"K{i},G{i},2025-{1 + i % 6:02d}-01,{6 + i},{'NOK' if i % 4 == 0 else ('EUR', 'SEK')[i % 2]}"
        for i in range(12)
    ]
    lines = ["line_id,contract_id,product,quantity,unit_price,billing_period"] + [
        f"L{i},K{i},Assist,{100000 if i % 4 == 0 else 3},"
        f"{9000001.3 + i if i % 4 == 0 else 100.7 + i},{('monthly', 'weekly', 'quarterly')[i % 3]}"
        for i in range(12)
    ]
    for name, rows in (("customers", customers), ("contracts", contracts), ("lines", lines)):
        (files / f"{name}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert [f.status for f in ingest(home, [files]).files] == ["loaded"] * 3

    assert refresh(home)

    assert serving_rows(home, "SELECT max(mrr) > 1e12 FROM monthly_metrics") == [(True,)]
    assert serving_rows(home, "SELECT count(*) FROM data_quality_findings") == [(0,)]


def ingest_rates(home: Paths) -> None:
    rates = home.home / "fx_rates.csv"
    rates.write_text("currency,rate\nGBP,13.5\n", encoding="utf-8")
    assert [f.status for f in ingest(home, [rates]).files] == ["loaded"]


def duplicate_a_load(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The same file twice in the load log: ingestion never does it, marts.loads tests it.
    What the refresh must tell: the test, dbt's count, and the failing row (the hash)."""
    con.execute(
        "INSERT INTO ingestion.loads SELECT * REPLACE (load_id + 1 AS load_id) FROM ingestion.loads"
    )
    file_hash = con.execute("SELECT any_value(file_hash) FROM ingestion.loads").fetchall()[0][0]
    return ["test unique_loads_file_hash", "Got 1 result", f"{file_hash} | 2"]


def misname_a_rate_column(con: duckdb.DuckDBPyConnection) -> list[str]:
    """A model that cannot build: the refresh must tell the model and the database's message."""
    con.execute("ALTER TABLE planning.fx_rates RENAME COLUMN rate TO rate_typo")
    return ["model stg_planning__fx_rates", 'does not have a column named "rate"']


@pytest.mark.parametrize("damage", [duplicate_a_load, misname_a_rate_column])
def test_a_failed_refresh_names_what_failed_and_shows_its_rows(
    home: Paths, damage: Callable[[duckdb.DuckDBPyConnection], list[str]]
) -> None:
    ingest_rates(home)
    with connect(home.warehouse) as con:
        expected = damage(con)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "avtale"), "refresh"],
        env={**os.environ, "AVTALE_HOME": str(home.home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    told = done.stderr[done.stderr.index("refresh FAILED") :]
    for words in expected:
        assert words in told, told
    assert not home.serving.exists()
