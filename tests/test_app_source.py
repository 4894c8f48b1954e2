"""Contracts saved in the app reach the warehouse marts, and writes survive refreshes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import select

from avtale.cli import refresh
from avtale.repository import auth, library, service
from avtale.repository.db import database_url, make_engine, migrate, session_scope
from avtale.repository.models import Contract
from avtale.serving import connect_serving
from avtale.settings import Paths
from dagster_project.definitions import defs
from dagster_project.defs.resources import AvtaleHome, OperationalDatabase

pytestmark = pytest.mark.slow

TERMS = {"start_date": date(2025, 1, 1), "term_months": 12, "currency": "NOK", "title": "Assist"}
LICENCES = [{"product": "Assist", "quantity": 10, "unit_price": 100, "billing_period": "monthly"}]


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    monkeypatch.setenv("AVTALE_HOME", str(tmp_path))
    monkeypatch.delenv("AVTALE_DATABASE_URL", raising=False)
    home = Paths(tmp_path).ensure()
    migrate(database_url(home))
    return home


def save_contract(home: Paths, name: str) -> None:
    engine = make_engine(database_url(home))
    try:
        with session_scope(engine) as session:
            customer = service.create_customer(session, "kari", {"name": name, "country": "NO"})
            service.create_contract(session, "kari", customer, TERMS, LICENCES)
    finally:
        engine.dispose()


def test_a_revised_app_contract_shows_in_customer_months(home: Paths) -> None:
    engine = make_engine(database_url(home))
    with session_scope(engine) as session:
        customer = service.create_customer(session, "kari", {"name": "Bølgen AS", "country": "NO"})
        version = service.create_contract(session, "kari", customer, TERMS, LICENCES)
        service.revise_contract(
            session,
            "kari",
            version.contract,
            changes={},
            lines=[{**LICENCES[0], "quantity": 12}],
            effective_date=date(2025, 4, 15),
            reason="Two more licences",
        )
    engine.dispose()
    assert refresh(home)
    with connect_serving(home.serving) as con:
        months = dict(
            con.execute(
                "SELECT strftime(month, '%Y-%m'), mrr FROM customer_months m "
                "JOIN customers c USING (customer_id) WHERE c.source_system = 'app' "
                "AND month <= DATE '2026-01-01' ORDER BY month"
            ).fetchall()
        )
        contract = con.execute(
            "SELECT source_id, start_date, end_date, status FROM contracts "
            "WHERE source_system = 'app'"
        ).fetchone()
    assert months["2025-01"] == months["2025-03"] == 1000
    assert months["2025-04"] == months["2025-12"] == 1200
    assert months["2026-01"] == 0
    assert contract is not None and contract[1:3] == (date(2025, 1, 1), date(2025, 12, 31))


def test_the_sensor_asks_for_a_refresh_after_each_new_write(home: Paths) -> None:
    sensor = defs.resolve_sensor_def("app_writes_sensor")
    database = OperationalDatabase(avtale=AvtaleHome(home=str(home.home)))

    def tick(cursor: str | None = None) -> tuple[object, str | None]:
        """The sensor's answer from ``cursor``, and the cursor it leaves."""
        with dg.build_sensor_context(cursor=cursor, resources={"database": database}) as context:
            return sensor(context), context.cursor

    assert isinstance(tick()[0], dg.SkipReason)
    save_contract(home, "Ærø ApS")
    request, first = tick()
    assert isinstance(request, dg.RunRequest)
    assert isinstance(tick(first)[0], dg.SkipReason)
    save_contract(home, "Göteborgs Måleri AB")
    request, second = tick(first)
    assert isinstance(request, dg.RunRequest)
    # Writes that change nothing the warehouse copies (the template library, users)
    # are audited too, but start no refresh.
    engine = make_engine(database_url(home))
    try:
        with session_scope(engine) as session:
            assert library.install_defaults(session)["templates"]
            auth.create_user(session, "kari", "nils", "a long enough password", "analyst")
    finally:
        engine.dispose()
    assert isinstance(tick(second)[0], dg.SkipReason)


def test_writes_during_a_refresh_never_fail_and_are_never_lost(home: Paths) -> None:
    """Form writes go on while `avtale refresh` runs in another process."""
    running = subprocess.Popen(
        [str(Path(sys.executable).parent / "avtale"), "refresh"],
        env={**os.environ, "AVTALE_HOME": str(home.home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    saved: list[str] = []
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        n = 0
        while running.poll() is None and n < 200:
            try:
                save_contract(home, f"{prefix} {n} AS")
                saved.append(f"{prefix} {n} AS")
            except BaseException as exc:  # noqa: BLE001 - every failure is the finding
                errors.append(exc)
            n += 1

    threads = [threading.Thread(target=writer, args=(p,)) for p in ("Nord", "Sør")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _, stderr = running.communicate(timeout=300)
    assert running.returncode == 0, stderr[-2000:]
    assert errors == [] and len(saved) > 5
    assert refresh(home)  # what the sensor would start next
    with connect_serving(home.serving) as con:
        names = {
            r[0]
            for r in con.execute(
                "SELECT name FROM customers WHERE source_system = 'app'"
            ).fetchall()
        }
    assert set(saved) <= names


def test_an_unchanged_operational_database_is_not_copied_again(home: Paths) -> None:
    from avtale.pipeline import export_operational

    save_contract(home, "Bjørk AS")
    assert export_operational(home) == {
        "customers": 1,
        "contracts": 1,
        "contract_versions": 1,
        "contract_lines": 1,
        "installed_assets": 0,
        "invoices": 0,
        "invoice_lines": 0,
        "bank_payments": 0,
        "payment_allocations": 0,
        "unmatched_payments": 0,
    }
    assert export_operational(home) is None
    save_contract(home, "Lofoten AS")
    copied = export_operational(home)
    assert copied is not None and copied["customers"] == 2
    # An installed asset added by hand is a write the copy must follow (its audit entity).
    engine = make_engine(database_url(home))
    try:
        with session_scope(engine) as session:
            contract = session.scalars(select(Contract)).first()
            assert contract is not None
            service.add_installed_asset(session, "kari", contract, {"serial_number": "SN-1"})
    finally:
        engine.dispose()
    copied = export_operational(home)
    assert copied is not None and copied["installed_assets"] == 1
