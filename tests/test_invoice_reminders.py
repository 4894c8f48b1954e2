"""Overdue invoices through the reminder machinery: a contract's invoice unpaid past its due
date gets one reminder to the contract's owner, however many runs see it overdue, by the
command line's run and by the Dagster job alike; a paid one gets none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select

from avtale.notify.deadlines import COLUMNS as DEADLINE_COLUMNS
from avtale.repository.db import make_engine, migrate, session_scope
from avtale.repository.models import Reminder, User
from avtale.services import invoices, notifications
from avtale.services.database import Database, database_at
from avtale.services.unit_of_work import System
from avtale.settings import Paths
from tests import invoice_fixtures as fx

START = date(2026, 3, 2)
TODAY = START + timedelta(days=30)  # 14 days to pay: the March invoices are overdue


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """A data folder with no deadline published (the reminders read it all the same) and
    its outbox for mail."""
    home = Paths(tmp_path / "home").ensure()
    con = duckdb.connect(str(home.serving))
    columns = ", ".join(
        f"{column} {'DATE' if column == 'deadline_date' else 'VARCHAR'}"
        for column in DEADLINE_COLUMNS
    )
    con.execute(f"CREATE TABLE contract_deadlines ({columns})")
    con.close()
    monkeypatch.delenv("AVTALE_SMTP_HOST", raising=False)
    return home


@pytest.fixture
def db(home: Paths, monkeypatch: pytest.MonkeyPatch) -> Database:
    """Sally owns two contracts invoiced on START: Fjordkraft's unpaid, Nordlys's paid."""
    url = f"sqlite:///{home.home / 'avtale.db'}"
    migrate(url)
    monkeypatch.setenv("AVTALE_DATABASE_URL", url)
    with session_scope(make_engine(url)) as session:
        session.add(User(username="sally", password_hash="x", role="sales_ops",
                         email="sally@example.no"))  # fmt: skip
        for who in (fx.NORWAY, ("Nordlys Regnskap AS", "912 345 688", "NO")):
            fx.contract(session, fx.customer(session, who), [fx.monthly()], start_date=START,
                        owner="sally")  # fmt: skip
    database = database_at(url)
    unpaid, paid = invoices.run_invoices(database, home, START, today=START).invoices
    kid = invoices.payment_references(database, [paid])[paid]
    statement = fx.camt053(fx.Transfer("1250.00", "P1", kid=kid, payer="Nordlys Regnskap AS"))
    report = invoices.import_payments(database, System("bank"), "march.xml", statement)
    assert report.paid_invoices == [paid]
    return database


def by_command_line(db: Database, home: Paths) -> None:
    notifications.run_reminders(db, home, TODAY)


def by_dagster_job(db: Database, home: Paths) -> None:
    from dagster_project.definitions import defs
    from dagster_project.defs.resources import AvtaleHome

    result = defs.resolve_job_def("reminders").execute_in_process(
        run_config={"ops": {"queue_reminders": {"config": {"today": TODAY.isoformat()}}}},
        resources={"avtale": AvtaleHome(home=str(home.home))},
    )
    assert result.success


@pytest.mark.parametrize("remind", [by_command_line, by_dagster_job])
def test_an_overdue_invoice_is_reminded_once_across_runs(
    db: Database, home: Paths, remind: Callable[[Database, Paths], None]
) -> None:
    remind(db, home)
    remind(db, home)
    with session_scope(db.engine, readonly=True) as session:
        found = session.scalars(select(Reminder)).all()
        (reminder,) = found
        assert (reminder.deadline_type, reminder.deadline_date) == (
            "invoice_overdue", START + timedelta(days=14)
        )  # fmt: skip
        assert (reminder.recipient, reminder.status) == ("sally", "sent")
        assert reminder.customer_name == "Fjordkraft Kunde AS"
        assert "F10001: NOK 1,250.00 open" in reminder.body
        assert reminder.link == f"contract?contract={reminder.contract_id.removeprefix('app:')}"
    assert len(list((home.home / "outbox").iterdir())) == 1
