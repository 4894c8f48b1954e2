"""Installed assets by CSV (issue 14, item 4; SPEC I1, R2; seed 002): an equipment register
loads as its own kind (bad rows quarantined with file, row, field and reason), reaches the
installed_assets mart with its contract, line and customer resolved across sources, shows on
the customer card, the CRM customer and the contract page, and selects the contracts a
co-termination changes; a CRM or accounting contract covered is taken over first."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from avtale.cli import refresh
from avtale.pipeline import ingest
from avtale.repository.db import session_scope
from avtale.repository.models import Contract
from avtale.repository.service import create_contract, create_customer, current_version
from avtale.services import bulk
from avtale.services import contracts as contract_service
from avtale.services.database import Database, open_database
from avtale.services.unit_of_work import Outcome
from avtale.settings import Paths
from ingestion.load import load_files
from tests.app_ops_fixtures import log_in, make_template, open_page, sqlite_url, start_app

CURRENCIES = ["NOK", "DKK", "SEK", "EUR", "USD"]
SALES = "sally"

# Excel on a Norwegian Windows: Windows-1252, semicolons, dd.mm.yyyy, Norwegian headers.
REGISTER = (
    "Serienummer;Modell;Plassering;Kundenr;Avtalenr;line_id;Installert;Pris\n"
    "SN-1;Kaffemaskin Ø2;Tromsø, 3. etg;G1;K1;L1;31.03.2025;1.234,50\n"
    "SN-2;Kaffemaskin Ø2;Ålesund;;K1;;01.04.2025;990,00\n"
    "SN-3;Vannkjøler;Bodø;G1;K1;;2025-02-30;0\n"
    "SN-1;Kopi;Oslo;G1;K1;;01.05.2025;0\n"
    ";Uten nummer;Oslo;G1;K1;;;0\n"
    "SN-4;Vannkjøler;Oslo;;;;;0\n"
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def test_a_register_loads_its_good_rows_and_quarantines_the_bad(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    report = load_files(con, [write(tmp_path / "utstyr.csv", REGISTER, "cp1252")], CURRENCIES)
    (result,) = report.files
    assert (result.kind, result.status) == ("generic_assets", "loaded")
    assert "windows-1252, ';'" in result.read_as
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (6, 2, 4)
    rows = con.execute(
        "SELECT serial_number, model, location, customer_id, contract_id, line_id, "
        "install_date, source_file, row_number FROM generic.assets ORDER BY row_number"
    ).fetchall()
    assert rows == [
        ("SN-1", "Kaffemaskin Ø2", "Tromsø, 3. etg", "G1", "K1", "L1", date(2025, 3, 31),
         "utstyr.csv", 2),
        ("SN-2", "Kaffemaskin Ø2", "Ålesund", None, "K1", None, date(2025, 4, 1),
         "utstyr.csv", 3),
    ]  # fmt: skip
    quarantined = con.execute(
        "SELECT source_file, row_number, field, reason FROM ingestion.quarantine ORDER BY 2"
    ).fetchall()
    assert quarantined == [
        ("utstyr.csv", 4, "Installert", "not a valid date: '2025-02-30'"),
        ("utstyr.csv", 5, "Serienummer", "serial number SN-1 is also in row 2 of this file"),
        ("utstyr.csv", 6, "Serienummer", "required value is missing"),
        (
            "utstyr.csv",
            7,
            "Avtalenr",
            "needs the contract that covers it (contract_id) or its customer (customer_id)",
        ),
    ]


def test_the_same_register_as_utf8_with_commas_loads_the_same(tmp_path: Path) -> None:
    text = "\ufeff" + REGISTER.replace(";", ",").replace("Tromsø, 3. etg", '"Tromsø, 3. etg"')
    text = text.replace("1.234,50", '"1.234,50"').replace("990,00", '"990,00"')
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    (result,) = load_files(con, [write(tmp_path / "assets.csv", text)], CURRENCIES).files
    assert (result.kind, result.rows_loaded, result.rows_quarantined) == ("generic_assets", 2, 4)
    assert con.execute(
        "SELECT location FROM generic.assets WHERE serial_number = 'SN-1'"
    ).fetchall() == [("Tromsø, 3. etg",)]


def test_english_headers_are_recognised_but_a_price_list_with_serials_is_not(
    tmp_path: Path,
) -> None:
    english = (
        "Serial Number,Model,Location,Contract,Install date\nX-1,T2,Oslo,CT-000001,2025-01-02\n"
    )
    priced = "Serial Number,Model,Quantity,Unit price\nX-1,T2,1,100\n"
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    report = load_files(
        con, [write(tmp_path / "a.csv", english), write(tmp_path / "b.csv", priced)], CURRENCIES
    )
    by_name = {f.name: f for f in report.files}
    assert by_name["a.csv"].kind == "generic_assets" and by_name["a.csv"].rows_loaded == 1
    assert by_name["b.csv"].status == "error"


# --- the mart, the pages and co-termination on a built data folder -------------------


@dataclass
class Built:
    home: Paths
    db: Database
    first: str  # an app contract covered by register asset SN-A1 (its line 1)
    second: str  # an app contract with an asset added by hand (HAND-1)
    customer: str  # the app customer of both


GENERIC = {
    "generic/customers.csv": "customer_id,name,country\nG1,Fjellvann Service AS,NO\n",
    "generic/contracts.csv": (
        "contract_id,customer_id,start_date,term_months,currency\nK1,G1,2025-01-01,36,NOK\n"
    ),
    "generic/contract_lines.csv": (
        "line_id,contract_id,product,quantity,unit_price,billing_period\n"
        "L1,K1,Hardware service,2,450,monthly\n"
    ),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("assets")
    home = Paths(root / "home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AVTALE_HOME", str(home.home))
        env.setenv("DAGSTER_HOME", str(home.dagster_home))
        home.ensure()
        shutil.copy(make_template(root), home.home / "avtale.db")
        env.setenv("AVTALE_DATABASE_URL", sqlite_url(home.home / "avtale.db"))
        db = open_database(home)
        with session_scope(db.engine) as session:
            customer = create_customer(session, SALES, {"name": "Kaffebrenneriet AS"})
            terms = {"start_date": date(2025, 1, 1), "term_months": 36, "currency": "NOK"}
            made = [
                create_contract(
                    session,
                    SALES,
                    customer,
                    terms,
                    [
                        {
                            "product": product,
                            "quantity": 1,
                            "unit_price": "500",
                            "billing_period": "monthly",
                        }
                    ],
                ).contract.contract_number
                for product in ("Kaffeservice", "Vannservice")
            ]
            number = customer.customer_number
        added = contract_service.add_asset(
            db, SALES, made[1], {"serial_number": "HAND-1", "model": "Vannkjøler V1"}
        )
        assert added.ok, added.errors
        exports = root / "exports"
        for name, text in GENERIC.items():
            write(exports / name, text)
        write(
            exports / "generic" / "assets.csv",
            "Serienummer;Modell;Plassering;Kundenr;Avtalenr;line_id;Installert\n"
            f"SN-A1;Kaffemaskin Ø2;Tromsø;;{made[0]};1;01.02.2025\n"
            "SN-G1;Kaffemaskin Ø3;Bodø;G1;K1;L1;15.01.2025\n"
            "SN-X;Kopimaskin;Oslo;G1;K999;;\n",
            "cp1252",
        )
        report = ingest(home, [exports])
        assert report.ok and all(f.rows_quarantined == 0 for f in report.files), report.format()
        assert refresh(home)
        yield Built(home, db, made[0], made[1], number)


def marts(home: Paths, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(home.serving), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.slow
def test_the_mart_resolves_contracts_lines_and_customers_of_every_source(built: Built) -> None:
    rows = marts(
        built.home,
        "select asset_key, source_system, serial_number, customer_id, contract_id, line_id, "
        "covering_contract_id, install_date from installed_assets order by asset_key",
    )
    first, second, customer = built.first, built.second, f"app:{built.customer}"
    hand = next(row for row in rows if row[1] == "app")
    assert hand[2:7] == ("HAND-1", customer, f"app:{second}", None, f"app:{second}")
    assert [row for row in rows if row[1] == "generic"] == [
        ("generic:SN-A1", "generic", "SN-A1", customer, f"app:{first}", f"app:{first}#1.1",
         f"app:{first}", date(2025, 2, 1)),
        ("generic:SN-G1", "generic", "SN-G1", "generic:G1", "generic:K1", "generic:L1",
         "generic:K1", date(2025, 1, 15)),
        ("generic:SN-X", "generic", "SN-X", "generic:G1", None, None, None, None),
    ]  # fmt: skip
    findings = marts(
        built.home,
        "select asset_key, field, value, reason, source_file, row_number "
        "from data_quality_findings",
    )
    assert findings == [
        (
            "generic:SN-X",
            "contract_id",
            "K999",
            "no contract with id K999 (not loaded, or not a contract: a HubSpot deal must be "
            "closed won)",
            "assets.csv",
            4,
        )
    ]


def app_as(built: Built, monkeypatch: pytest.MonkeyPatch, username: str) -> AppTest:
    monkeypatch.setenv("AVTALE_HOME", str(built.home.home))
    monkeypatch.setenv("AVTALE_DATABASE_URL", sqlite_url(built.home.home / "avtale.db"))
    at = log_in(start_app(), username)
    assert not at.exception, at.exception
    return at


def assets_shown(at: AppTest) -> list[tuple[Any, ...]]:
    """The rows of the page's one table of installed assets (the one with serial numbers)."""
    (table,) = [df for df in at.dataframe if "serial_number" in df.value.columns]
    return [tuple(row) for row in table.value.itertuples(index=False)]


@pytest.mark.slow
def test_the_customer_card_and_the_contract_pages_list_assets_once(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app_as(built, monkeypatch, "anna")
    at = open_page(at, "operations/pages/customer.py", customer=built.customer)
    card = {row[0]: row for row in assets_shown(at)}
    # The hand-added asset from the operational database, once; the register's from the mart.
    assert sorted(card) == ["HAND-1", "SN-A1"]
    assert card["HAND-1"][3] == built.second and card["HAND-1"][5] == "Added on the contract"
    assert card["SN-A1"][1:4] == ("Kaffemaskin Ø2", "Tromsø", built.first)
    assert card["SN-A1"][5] == "Register assets.csv"

    at = open_page(at, "operations/pages/contract.py", contract=built.first)
    assert [row[0] for row in assets_shown(at)] == ["SN-A1"]
    at = open_page(at, "operations/pages/contract.py", contract=built.second)
    assert [row[0] for row in assets_shown(at)] == ["HAND-1"]

    at = open_page(at, "operations/pages/crm_customer.py", crm_customer="generic:G1")
    crm = {row[0]: row for row in assets_shown(at)}
    assert sorted(crm) == ["SN-G1", "SN-X"]
    assert crm["SN-G1"][3] == "generic:K1" and crm["SN-X"][3] == "K999 (unknown)"


@pytest.mark.slow
def test_the_bulk_page_previews_a_co_termination_by_asset(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page(app_as(built, monkeypatch, SALES), "operations/pages/bulk.py")
    at.button_group(key="bulk_kind").set_value("co_terminate").run()
    at.button_group(key="bulk_select_by").set_value("assets").run()
    assert not at.exception, at.exception
    # Only assets of running contracts are offered: SN-X's contract is unknown.
    assert sorted(at.multiselect(key="bulk_serials").options) == [
        "HAND-1 · Vannkjøler V1 · Kaffebrenneriet AS",
        "SN-A1 · Kaffemaskin Ø2 · Kaffebrenneriet AS",
        "SN-G1 · Kaffemaskin Ø3 · Fjellvann Service AS",
    ]
    at.multiselect(key="bulk_models").select("Kaffemaskin Ø3").run()
    at.date_input(key="bulk_end_date").set_value(date(2027, 6, 30))
    at.button(key="bulk_preview_submit").click().run()
    assert not at.exception, at.exception
    assert any("from the accounting export (generic:K1)" in i.value for i in at.info)
    table = at.main.dataframe[0].value
    assert table.contract_number.tolist() == ["generic:K1"]
    assert table.new_end.tolist() == [date(2027, 6, 30)]


def end_date(db: Database, number: str) -> date | None:
    with session_scope(db.engine, readonly=True) as session:
        contract = session.scalar(select(Contract).where(Contract.contract_number == number))
        assert contract is not None
        return current_version(contract).end_date


@pytest.mark.slow
def test_co_terminating_by_asset_selects_the_covering_contracts_and_takes_exports_over(
    built: Built,
) -> None:
    new_end = date(2027, 6, 30)
    before = end_date(built.db, built.first), end_date(built.db, built.second)
    made = bulk.preview_by_assets(built.db, built.home.serving, ["SN-A1", "SN-G1"], new_end)
    assert isinstance(made, bulk.Preview), made
    # The app contract is planned; the accounting one is listed and taken over on apply.
    assert [plan.contract_number for plan in made.planned] == [built.first]
    assert [source.contract["contract_id"] for source in made.adopt_first] == ["generic:K1"]
    assert {(row.contract_number, row.new_end) for row in made.rows} == {
        (built.first, new_end),
        ("generic:K1", new_end),
    }
    assert "1 contract from the accounting export (generic:K1)" in bulk.taking_over(made)
    # Nothing is written by a preview.
    assert (end_date(built.db, built.first), end_date(built.db, built.second)) == before

    applied = bulk.apply(built.db, SALES, made)
    assert applied.ok, applied.errors
    with session_scope(built.db.engine, readonly=True) as session:
        taken = session.scalar(select(Contract).where(Contract.source_ref == "generic:K1"))
        assert taken is not None
        number = taken.contract_number
    assert f"generic:K1 as {number}" in applied.message
    assert "to 2 contracts" in applied.message
    assert end_date(built.db, built.first) == new_end
    assert end_date(built.db, number) == new_end
    assert end_date(built.db, built.second) == before[1]  # HAND-1 was not chosen

    undone = bulk.undo(built.db, SALES, int(applied.target or 0))
    assert undone.ok, undone.errors
    assert end_date(built.db, built.first) == before[0]
    assert end_date(built.db, number) == date(2027, 12, 31)  # the export's own end again


@pytest.mark.slow
def test_an_asset_not_covered_by_a_running_contract_cannot_be_chosen(built: Built) -> None:
    made = bulk.preview_by_assets(built.db, built.home.serving, ["SN-X"], date(2027, 1, 31))
    assert isinstance(made, Outcome)
    assert made.errors == {"assets": "not covered by a running contract: SN-X"}
    made = bulk.preview_by_assets(built.db, built.home.serving, [], date(2027, 1, 31))
    assert isinstance(made, Outcome) and "assets" in made.errors
