"""The daily invoice job on a real Dagster instance: requested by the day's renewals'
success with the day in its run key, it issues the day's invoices, leaves their e-invoices
in the outgoing folder and mails their PDFs to a real SMTP server on localhost; a second
run sends nothing; a credit note issued later goes out on the next run, naming the invoice
it corrects, and its e-invoice passes the official Peppol Schematron. A longer run lays its
PDFs out in worker processes, and each customer still gets its own invoice's PDF."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from avtale.billing.pdf import invoice_pdf_job
from avtale.notify.mail import mail_settings, make_mailer
from avtale.repository.db import make_engine, migrate, session_scope
from avtale.repository.models import Document, Invoice
from avtale.services import invoices, templates
from avtale.services.database import database_at
from avtale.services.documents import document_bytes
from avtale.services.invoice_delivery import deliver_unsent
from avtale.services.unit_of_work import FORM, System
from avtale.settings import Paths
from docgen.pdf import cores
from tests import invoice_fixtures as fx
from tests.peppol import Schematron, peppol

__all__ = ["peppol"]

DAY = date(2026, 3, 2)
APP_URL = "https://avtale.example.no"
ACCOUNTS = System("accounts")  # who credits by hand here; the app passes its user


@dataclass
class Inbox:
    """What the server accepted, one entry per message."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in {
        "AVTALE_SMTP_HOST": "127.0.0.1",
        "AVTALE_SMTP_PORT": str(port),
        "AVTALE_SMTP_TLS": "none",
        "AVTALE_APP_URL": APP_URL,
    }.items():
        monkeypatch.setenv(name, value)
    yield inbox
    controller.stop()


@pytest.fixture
def home(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "home").ensure()


@pytest.fixture
def url(home: Paths) -> str:
    """A Norwegian customer with a billing e-mail and a Swedish one without, each with a
    contract that started on DAY."""
    url = f"sqlite:///{home.home / 'avtale.db'}"
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        norway = fx.customer(session, fx.NORWAY, email="faktura@fjordkraft.example.com")
        fx.contract(session, norway, [fx.monthly()], start_date=DAY)
        fx.contract(session, fx.customer(session, fx.SWEDEN), [fx.monthly(price="90")],
                    start_date=DAY, currency="SEK")  # fmt: skip
    engine.dispose()
    templates.install_builtins(database_at(url))  # the invoice template, as the app does
    return url


def renewals_success(instance: dg.DagsterInstance, url: str, home: Paths, tags: dict[str, str]):  # type: ignore[no-untyped-def]
    from dagster_project.defs.renewals import renewals_job
    from dagster_project.defs.resources import AvtaleHome, OperationalDatabase

    result = renewals_job.execute_in_process(
        run_config={"ops": {"renew_contracts": {"config": {"today": DAY.isoformat()}}}},
        tags=tags,
        instance=instance,
        resources={
            "database": OperationalDatabase(avtale=AvtaleHome(home=str(home.home)), url=url)
        },
    )
    assert result.success
    return result


def requested(instance: dg.DagsterInstance, run: Any) -> dg.RunRequest | dg.SkipReason:
    from dagster_project.defs.daily import invoice_after_renewals

    context = dg.build_run_status_sensor_context(
        sensor_name=invoice_after_renewals.name,
        dagster_event=run.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=run.dagster_run,
    )
    return invoice_after_renewals(context)  # type: ignore[return-value]


def test_the_days_invoices_follow_its_renewals_and_go_out_once(
    smtp: Inbox, url: str, home: Paths, peppol: Schematron
) -> None:
    from dagster_project.definitions import defs
    from dagster_project.defs.daily import DAY_TAG
    from dagster_project.defs.resources import AvtaleHome, OperationalDatabase

    sensor = defs.resolve_sensor_def("invoice_after_renewals")
    assert (sensor.job_name, sensor.default_status) == ("invoices", dg.DefaultSensorStatus.RUNNING)
    instance = dg.DagsterInstance.ephemeral()
    request = requested(instance, renewals_success(instance, url, home, {DAY_TAG: "2026-03-02"}))
    assert isinstance(request, dg.RunRequest)
    assert (request.run_key, request.tags) == ("invoices-2026-03-02", {DAY_TAG: "2026-03-02"})
    # Renewals run by hand (no day) start no invoice run of their own.
    assert isinstance(requested(instance, renewals_success(instance, url, home, {})), dg.SkipReason)

    job = defs.resolve_job_def("invoices")
    avtale = AvtaleHome(home=str(home.home))
    resources = {"avtale": avtale, "database": OperationalDatabase(avtale=avtale, url=url)}

    def run() -> dict[str, Any]:
        result = job.execute_in_process(
            run_config=request.run_config, tags=request.tags, instance=instance,
            resources=resources,
        )  # fmt: skip
        assert result.success
        return {
            str(event.step_key): event.event_specific_data.metadata  # type: ignore[union-attr]
            for event in result.all_events
            if event.event_type_value == "STEP_OUTPUT"
        }

    first = run()
    assert first["issue_invoices"]["invoices"].value == 2
    assert first["send_invoices"]["einvoices"].value == 2
    assert first["send_invoices"]["emailed"].value == 1  # the Swedish customer gave no e-mail
    outgoing = home.home / "outgoing"
    assert sorted(path.name for path in outgoing.iterdir()) == ["F10001.xml", "F10002.xml"]
    ((to, mail),) = smtp.messages
    assert to == ["faktura@fjordkraft.example.com"]
    assert (mail["Subject"], mail["Message-ID"]) == (
        "Invoice F10001", "<invoice.f10001@avtale.invoices>"
    )  # fmt: skip
    # The billing address is none of the customer's contacts: no personal portal link.
    assert "/portal" not in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (attachment,) = mail.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")
    assert sent(url) == {"F10001": "peppol+email", "F10002": "peppol"}

    # The access point takes the files away; a second run issues and sends nothing.
    for path in outgoing.iterdir():
        path.unlink()
    second = run()
    assert second["issue_invoices"]["invoices"].value == 0
    assert second["send_invoices"]["einvoices"].value == 0
    assert second["send_invoices"]["emailed"].value == 0
    assert len(smtp.messages) == 1 and not list(outgoing.iterdir())

    # A credit note issued by hand goes out on the next run; the contract still owes the
    # month, so that run bills it again on a new invoice (credit and re-issue).
    db = database_at(url)
    credited = invoices.credit_invoice(db, ACCOUNTS, home, "F10001", "Wrong licence count", DAY)
    assert credited.ok, credited.errors
    third = run()
    assert third["issue_invoices"]["invoices"].value == 1
    assert third["send_invoices"]["einvoices"].value == 2
    assert sorted(path.name for path in outgoing.iterdir()) == ["F10003.xml", "K10001.xml"]
    credit_note = (outgoing / "K10001.xml").read_bytes()
    assert peppol.fatal(credit_note) == []
    assert b"Wrong licence count" in credit_note and b"<cbc:ID>F10001</cbc:ID>" in credit_note
    assert [message["Subject"] for _, message in smtp.messages] == [
        "Invoice F10001", "Credit note K10001", "Invoice F10003"
    ]  # fmt: skip


def sent(url: str) -> dict[str, str | None]:
    engine = make_engine(url)
    with session_scope(engine, readonly=True) as session:
        rows = session.execute(select(Invoice.number, Invoice.sent_via))
        found = {row.number: row.sent_via for row in rows}
    engine.dispose()
    return found


@pytest.mark.skipif(cores() < 2, reason="a pool needs two cores")
def test_a_long_run_lays_its_pdfs_out_ahead_in_a_pool(
    smtp: Inbox, home: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From POOL_FROM PDFs on (three here, to keep the test short), delivery lays them out
    in a pool of processes: each customer gets its own invoice's PDF, byte for byte what
    this process makes from the same template, stored once on its invoice."""
    from docgen import pdf

    monkeypatch.setattr(pdf, "POOL_FROM", 3)
    url = f"sqlite:///{home.home / 'avtale.db'}"
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        for number, org in enumerate(("987 654 325", "923 609 016", "914 778 271"), 1):
            buyer = (f"Nordlys Kunde {number} AS", org, "NO")
            made = fx.customer(session, buyer, email=f"faktura{number}@nordlys.example.com")
            fx.contract(session, made, [fx.monthly(quantity=number)], start_date=DAY)
    engine.dispose()
    db = database_at(url)
    templates.install_builtins(db)
    assert len(invoices.run_invoices(db, home, DAY, today=DAY).invoices) == 3
    logged: list[str] = []
    # One who may not write gets the refusal, and no template is filled for them.
    with invoices.InvoicePdfs(db, "nobody", home, ["F10001", "F10002", "F10003"],
                              log=logged.append) as refused:  # fmt: skip
        assert refused.make("F10001").errors == {FORM: "your account is not active: log in again"}
    assert logged == []
    mailer = make_mailer(mail_settings(home))
    try:
        report = deliver_unsent(db, home, mailer, log=logged.append)
    finally:
        mailer.close()
    assert f"laying out 3 PDFs in {min(cores(), 3)} processes" in logged
    assert sorted(report.emailed) == ["F10001", "F10002", "F10003"]
    with session_scope(make_engine(url), readonly=True) as session:
        for to, mail in smtp.messages:
            number = mail["X-Avtale-Invoice"]
            invoice = session.scalar(select(Invoice).where(Invoice.number == number))
            assert invoice is not None
            buyer = invoice.buyer["name"].split()[2]  # Nordlys Kunde <n> AS
            assert to == [f"faktura{buyer}@nordlys.example.com"]
            (attachment,) = mail.iter_attachments()
            stored = session.get(Document, invoice.pdf_document_id)
            assert stored is not None and stored.filename == f"{number}.pdf"
            job = invoice_pdf_job(session, home, invoice)
            here = pdf.html_to_pdf(job.job.html)
            assert attachment.get_content() == document_bytes(home, stored.stored_path) == here
        assert session.scalar(select(func.count()).select_from(Document)) == 3
