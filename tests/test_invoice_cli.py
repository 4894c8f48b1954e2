"""`avtale invoice` as a user runs it, in its own process: run, export, payments and
journal end to end; bad input refused with one `error:` line and exit code 2; and a run
killed half-way completed by the next one without a gap or a duplicate, on SQLite and
PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from avtale.dates import add_months
from avtale.dates import today as business_today
from avtale.repository.db import session_scope
from avtale.repository.models import BilledPeriod, Invoice
from avtale.rules.loading import CONFIG_DIR
from avtale.settings import PROJECT_ROOT, Paths
from tests import invoice_fixtures as fx
from tests.conftest import Database


@pytest.fixture
def home(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "home").ensure()


def environment(home: Paths, url: str) -> dict[str, str]:
    return os.environ | {"AVTALE_HOME": str(home.home), "AVTALE_DATABASE_URL": url}


def avtale(home: Paths, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "avtale.cli", "invoice", *args],
        cwd=PROJECT_ROOT,
        env=environment(home, url),
        capture_output=True,
        text=True,
        timeout=300,
    )


def count(db: Database, column: object) -> int:
    with session_scope(db.engine, readonly=True) as session:
        return session.scalar(select(func.count(column))) or 0  # type: ignore[arg-type]


def test_run_export_payments_and_journal_from_the_command_line(
    db: Database, home: Paths, tmp_path: Path
) -> None:
    today = business_today()
    start = add_months(today.replace(day=1), -1)
    with session_scope(db.engine) as session:
        fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly()], start_date=start)
    first = avtale(home, db.url, "run")
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout.splitlines() == [
        "invoices issued: 1 (F10001)",
        "credit notes issued: 0",
        f"contracts billed through {today.isoformat()}: 1",
    ]
    assert avtale(home, db.url, "run").stdout.startswith("invoices issued: 0\n")

    out = tmp_path / "ehf"
    exported = avtale(home, db.url, "export", "--format", "ubl", "--out", str(out))
    assert exported.stdout == f"wrote 1 e-invoices to {out}\n"
    assert b"<cbc:ID>F10001</cbc:ID>" in (out / "F10001.xml").read_bytes()

    with session_scope(db.engine, readonly=True) as session:
        invoice = session.scalars(select(Invoice)).one()
        kid, total = invoice.payment_reference, invoice.total
    statement = tmp_path / "statement.xml"
    statement.write_bytes(fx.camt053(fx.Transfer(f"{total:.2f}", "X1", kid=kid, booked=today)))
    paid = avtale(home, db.url, "payments", str(statement))
    assert paid.stdout.splitlines() == [
        "statement.xml: 1 transactions, 1 payments imported, 0 imported before, 0 not incoming",
        "paid in full: 1; paid in part: 0; to the queue: 0",
    ]

    journal = tmp_path / "journal.csv"
    month = today.strftime("%Y-%m")
    booked = avtale(home, db.url, "journal", "--period", month, "--out", str(journal))
    assert booked.stdout == f"wrote the journal of {month} to {journal}\n"
    lines = journal.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "date,account,vat_code,amount,invoice,customer" and len(lines) == 6
    sie = tmp_path / "journal.se"
    assert (
        avtale(home, db.url, "journal", "--period", month, "--out", str(sie), "--sie").returncode
        == 0
    )
    assert sie.read_bytes().startswith(b"#FLAGGA 0\r\n")


BAD_INPUT = {
    "unknown format": (
        ["export", "--format", "pdf", "--out", "{tmp}/out"],
        "error: unknown format 'pdf': use ubl",
    ),
    "no such statement": (
        ["payments", "{tmp}/missing.xml"],
        "error: {tmp}/missing.xml: cannot be read (No such file or directory)",
    ),
    "not a statement": (
        ["payments", "{tmp}/page.xml"],
        "error: {tmp}/page.xml: not a camt.053 bank statement: the document is {{}}html",
    ),
    "a CSV without amounts": (
        ["payments", "{tmp}/bank.csv"],
        "error: {tmp}/bank.csv: the payment file has no column amount",
    ),
    "not a month": (
        ["journal", "--period", "2026-13", "--out", "{tmp}/j.csv"],
        "error: '2026-13' is not a month such as 2026-03",
    ),
    "no folder for the journal": (
        ["journal", "--period", "2026-03", "--out", "{tmp}/none/j.csv"],
        "error: {tmp}/none/j.csv: its folder does not exist",
    ),
    "not a date": (
        ["run", "--through", "31.03.2026"],
        "error: --through must be a date such as 2026-03-31, not '31.03.2026'",
    ),
}


@pytest.mark.parametrize(("args", "message"), BAD_INPUT.values(), ids=list(BAD_INPUT))
def test_bad_input_exits_2_with_one_error_line_naming_it(
    home: Paths, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "page.xml").write_text("<html/>", encoding="utf-8")
    (tmp_path / "bank.csv").write_text("booking_date,currency\n2026-03-01,NOK\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'avtale.db'}"
    refused = avtale(home, url, *(arg.format(tmp=tmp_path) for arg in args))
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [message.format(tmp=tmp_path)]
    assert refused.stdout == ""


CONTRACTS = 150


def test_a_run_killed_midway_is_completed_by_the_next_without_gaps_or_duplicates(
    db: Database, home: Paths
) -> None:
    start = add_months(business_today().replace(day=1), -1)
    with session_scope(db.engine) as session:
        buyer = fx.customer(session, fx.NORWAY)
        for _ in range(CONTRACTS):
            fx.contract(session, buyer, [fx.monthly(), fx.setup_fee()], start_date=start)
    killed = subprocess.Popen(
        [sys.executable, "-m", "avtale.cli", "invoice", "run"],
        cwd=PROJECT_ROOT,
        env=environment(home, db.url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while count(db, Invoice.id) < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    before = count(db, Invoice.id)
    assert 10 <= before < CONTRACTS, "the run must be killed half-way for this test to mean much"

    finished = avtale(home, db.url, "run")
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith(f"invoices issued: {CONTRACTS - before} ")
    with session_scope(db.engine, readonly=True) as session:
        rows = session.execute(select(Invoice.sequence, Invoice.contract_id)).all()
        periods = session.execute(
            select(BilledPeriod.contract_id, BilledPeriod.line_no, BilledPeriod.period_start)
        ).all()
    assert sorted(sequence for sequence, _ in rows) == list(range(10001, 10001 + CONTRACTS))
    assert sorted(contract for _, contract in rows) == list(range(1, CONTRACTS + 1))
    # Each contract: the month it started in, this month and the set-up fee, billed once.
    assert len(periods) == len(set(periods)) == 3 * CONTRACTS


def test_a_mistake_in_billing_yaml_stops_the_run_before_it_starts(
    home: Paths, tmp_path: Path
) -> None:
    shipped = (CONFIG_DIR / "billing.yaml").read_text(encoding="utf-8")
    own = home.home / "billing.yaml"
    own.write_text(shipped.replace("NO93 8601 1117 947", "NO94 8601 1117 947"), encoding="utf-8")
    refused = avtale(home, f"sqlite:///{tmp_path / 'avtale.db'}", "run")
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        f"error: {own}: accounts.*.number: NO9486011117947 is not an IBAN (its check digits are wrong)"
    ]
