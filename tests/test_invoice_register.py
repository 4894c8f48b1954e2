"""The invoice register (issue 13): the billing schedule's pro rata rule by hand-computed
cases; runs on SQLite and PostgreSQL that number without gaps, bill each period once,
credit terminations, re-price changed periods and invoice renewals; e-invoices the official
Peppol Schematron accepts; the PDF from the register; payments matched and imported once;
the accounting export; the status of every document; billing.yaml checked when loaded."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from avtale.billing.config import BILLING_FILE, load_billing
from avtale.billing.model import VatCategory
from avtale.billing.references import KidMethod, is_valid_kid, is_valid_ocr
from avtale.billing.schedule import owed
from avtale.billing.status import InvoiceStatus, status_of
from avtale.repository import library, renewals
from avtale.repository.db import session_scope
from avtale.repository.documents import documents_dir
from avtale.repository.models import AuditLog, Contract, Invoice
from avtale.repository.service import revise_contract, terminate_contract, update_customer
from avtale.rules.loading import CONFIG_DIR, RuleError
from avtale.services import invoices
from avtale.services.database import Database, close_database, database_at
from avtale.settings import Paths
from tests import invoice_fixtures as fx
from tests.conftest import Database as Backend
from tests.peppol import Schematron, peppol

__all__ = ["peppol"]

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
D = Decimal


# --- the schedule: the pro rata rule, by hand-computed cases ------------------------------


@dataclass
class L:
    line_no: int
    unit_price: Decimal
    billing_period: str
    start_date: date
    quantity: Decimal = D(10)
    product: str = "Licence"
    end_date: date | None = None
    discount_percent: Decimal | None = None
    discount_end_date: date | None = None
    billing_interval_months: int | None = None


@dataclass
class V:
    version_no: int
    effective_date: date
    lines: list[L]
    start_date: date = date(2026, 1, 1)
    end_date: date | None = None
    currency: str = "NOK"


JAN1, MAR1 = date(2026, 1, 1), date(2026, 3, 1)


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


# (versions, through, bill_from, [(line, first day, last day, unit price, quantity[, discount %])])
SCHEDULES = {
    "monthly from the contract's start, each period whole": (
        [V(1, JAN1, [L(1, D(100), "monthly", JAN1)])], MAR1, None,
        [(1, d(1, 1), d(1, 31), "100", "10"), (1, d(2, 1), d(2, 28), "100", "10"),
         (1, d(3, 1), d(3, 31), "100", "10")],
    ),
    "a period is billed once its first day has come": (
        [V(1, JAN1, [L(1, D(100), "monthly", JAN1)])], d(2, 28), None,
        [(1, d(1, 1), d(1, 31), "100", "10"), (1, d(2, 1), d(2, 28), "100", "10")],
    ),
    # 310 x 15/31 = 150: the line starts on the 17th, the contract bills on the 1st.
    "a line starting mid-period is prorated to the contract's billing day": (
        [V(1, JAN1, [L(1, D(100), "monthly", JAN1), L(2, D(310), "monthly", d(3, 17))])],
        d(4, 1), MAR1,
        [(1, d(3, 1), d(3, 31), "100", "10"), (1, d(4, 1), d(4, 30), "100", "10"),
         (2, d(3, 17), d(3, 31), "150.0000", "10"), (2, d(4, 1), d(4, 30), "310", "10")],
    ),
    # 100 x 15/31 = 48.38709… and 200 x 16/31 = 103.22580…, rounded half up to 4 places.
    "a price change mid-period splits the period by days": (
        [V(1, JAN1, [L(1, D(100), "monthly", JAN1)]),
         V(2, d(3, 16), [L(1, D(200), "monthly", JAN1)])], MAR1, MAR1,
        [(1, d(3, 1), d(3, 15), "48.3871", "10"), (1, d(3, 16), d(3, 31), "103.2258", "10")],
    ),
    "more licences from mid-period": (
        [V(1, JAN1, [L(1, D(100), "monthly", JAN1)]),
         V(2, d(3, 16), [L(1, D(100), "monthly", JAN1, quantity=D(12))])], MAR1, MAR1,
        [(1, d(3, 1), d(3, 15), "48.3871", "10"), (1, d(3, 16), d(3, 31), "51.6129", "12")],
    ),
    # The discount counts through the 10th: 100 x 10/31 = 32.2580… and 100 x 21/31 = 67.7419…
    "a discount ending mid-period splits it": (
        [V(1, JAN1, [L(1, D(100), "monthly", JAN1, discount_percent=D(20),
                       discount_end_date=d(3, 10))])], MAR1, d(2, 1),
        [(1, d(2, 1), d(2, 28), "100", "10", "20"), (1, d(3, 1), d(3, 10), "32.2581", "10", "20"),
         (1, d(3, 11), d(3, 31), "67.7419", "10", "0")],
    ),
    "a version that changes nothing priced does not split a period": (
        [V(1, JAN1, [L(1, D(100), "monthly", JAN1)]),
         V(2, d(3, 16), [L(1, D(100), "monthly", JAN1, product="Licence (renamed)")])],
        MAR1, MAR1,
        [(1, d(3, 1), d(3, 31), "100", "10")],
    ),
    "a term ending inside a period is billed to its end, not past it": (
        [V(1, JAN1, [L(1, D(100), "monthly", JAN1)], end_date=d(3, 15))], d(4, 1), MAR1,
        [(1, d(3, 1), d(3, 15), "48.3871", "10")],
    ),
    "yearly, in advance for the whole year": (
        [V(1, JAN1, [L(1, D(12000), "yearly", JAN1, quantity=D(1))])], d(6, 1), None,
        [(1, d(1, 1), d(12, 31), "12000", "1")],
    ),
    "quarterly from the 31st keeps to the months' ends": (
        [V(1, d(1, 31), [L(1, D(300), "quarterly", d(1, 31))], start_date=d(1, 31))], d(5, 1),
        None,
        [(1, d(1, 31), d(4, 29), "300", "10"), (1, d(4, 30), d(7, 30), "300", "10")],
    ),
    "every second month": (
        [V(1, d(1, 15), [L(1, D(200), "every_n_months", d(1, 15), billing_interval_months=2)],
           start_date=d(1, 15))], d(3, 15), None,
        [(1, d(1, 15), d(3, 14), "200", "10"), (1, d(3, 15), d(5, 14), "200", "10")],
    ),
    # Weeks count from the contract's start (a Monday); the second line starts on Thursday:
    # 70 x 4/7 = 40.
    "weekly, 7 days from the contract's start": (
        [V(1, d(3, 2), [L(1, D(70), "weekly", d(3, 2)), L(2, D(70), "weekly", d(3, 5))],
           start_date=d(3, 2))], d(3, 9), None,
        [(1, d(3, 2), d(3, 8), "70", "10"), (1, d(3, 9), d(3, 15), "70", "10"),
         (2, d(3, 5), d(3, 8), "40.0000", "10"), (2, d(3, 9), d(3, 15), "70", "10")],
    ),
    "a one-off line once, at the terms of its start": (
        [V(1, JAN1, [L(1, D(5000), "one_off", JAN1, quantity=D(1))]),
         V(2, MAR1, [L(1, D(6000), "one_off", JAN1, quantity=D(1))])], d(6, 1), None,
        [(1, None, None, "5000", "1")],
    ),
    "nothing before bill_from": (
        [V(1, JAN1, [L(1, D(100), "monthly", JAN1),
                     L(2, D(5000), "one_off", JAN1, quantity=D(1))])], MAR1, MAR1,
        [(1, d(3, 1), d(3, 31), "100", "10")],
    ),
}  # fmt: skip


@pytest.mark.parametrize(("case"), SCHEDULES.values(), ids=list(SCHEDULES))
def test_the_schedule_bills_in_advance_and_prorates_by_days(case: tuple) -> None:  # type: ignore[type-arg]
    versions, through, bill_from, expected = case
    charges = owed(versions, through, bill_from=bill_from)
    found = sorted(
        (c.line_no, c.start, c.end, c.unit_price, o.quantity, c.discount_percent)
        for c, o in charges.items()
    )
    wanted = sorted(
        (n, s, e, D(price), D(q), D(rest[0] if rest else 0))
        for n, s, e, price, q, *rest in expected
    )
    assert found == wanted


# --- the register ------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    home = Paths(tmp_path / "home").ensure()
    monkeypatch.setenv("AVTALE_HOME", str(home.home))
    return home


@pytest.fixture
def database(db: Backend) -> Iterator[Database]:
    with session_scope(db.engine) as session:
        library.install_defaults(session)
    opened = database_at(db.url)
    yield opened
    close_database(opened)


def run(database: Database, home: Paths, day: date) -> invoices.RunReport:
    """A run on ``day`` through ``day``, as the daily job does it."""
    return invoices.run_invoices(database, home, day, today=day)


def issued(database: Database) -> list[Invoice]:
    with session_scope(database.engine, readonly=True) as session:
        rows = session.scalars(select(Invoice).order_by(Invoice.id)).all()
        for row in rows:
            _ = row.lines
        return list(rows)


def lines_of(invoice: Invoice) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    return [
        (row.description, row.quantity, row.unit_price, row.net_amount) for row in invoice.lines
    ]


def audit_count(database: Database) -> int:
    with session_scope(database.engine, readonly=True) as session:
        return session.scalar(select(func.count(AuditLog.id))) or 0


def three_customers(database: Database) -> None:
    """Norway (monthly licences and a set-up fee), Sweden (quarterly, SEK) and Denmark
    (yearly, DKK), made in that order."""
    with session_scope(database.engine) as session:
        fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly(), fx.setup_fee()])
        fx.contract(session, fx.customer(session, fx.SWEDEN),
                    [fx.monthly(5, "200", billing_period="quarterly")],
                    start_date=date(2026, 2, 1), currency="SEK")  # fmt: skip
        fx.contract(session, fx.customer(session, fx.DENMARK),
                    [fx.monthly(1, "12000", billing_period="yearly")], currency="DKK")  # fmt: skip


def test_a_run_issues_each_invoice_once_numbered_without_gaps(
    database: Database, home: Paths
) -> None:
    three_customers(database)
    report = run(database, home, MAR1)
    assert (report.invoices, report.credit_notes, report.failed) == (
        ["F10001", "F10002", "F10003"], [], {},
    )  # fmt: skip
    norway, sweden, denmark = issued(database)
    # 3 months of 10 x 100 and the set-up fee: 8000 net, 25 % VAT.
    assert (norway.net_total, norway.vat_total, norway.total) == (8000, 2000, 10000)
    assert (norway.issue_date, norway.due_date) == (MAR1, date(2026, 3, 15))
    assert [row.net_amount for row in norway.lines] == [1000, 1000, 1000, 5000]
    # The quarter from 1 February, reverse charged; the year in advance, reverse charged.
    assert (sweden.currency, sweden.total, {row.vat_category for row in sweden.lines}) == (
        "SEK", 1000, {"AE"},
    )  # fmt: skip
    assert (sweden.period_start, sweden.period_end) == (date(2026, 2, 1), date(2026, 4, 30))
    assert (denmark.currency, denmark.total, denmark.lines[0].vat_category) == ("DKK", 12000, "AE")
    assert denmark.accounting_currency == "NOK" and denmark.accounting_rate > 1
    for invoice in (norway, sweden, denmark):  # KID: the number, 8 digits, and MOD10
        assert (
            invoice.payment_reference == f"{invoice.sequence:08d}" + invoice.payment_reference[-1]
        )
        assert is_valid_kid(invoice.payment_reference, KidMethod.MOD10)
    audited = audit_count(database)

    again = run(database, home, MAR1)
    assert (again.invoices, again.credit_notes, again.failed) == ([], [], {})
    assert len(issued(database)) == 3 and audit_count(database) == audited
    with session_scope(database.engine, readonly=True) as session:
        actions = session.scalars(
            select(AuditLog.action).where(AuditLog.actor == "invoice-run")
        ).all()
    assert actions == ["invoice.issue"] * 3


def test_the_next_periods_come_on_the_next_invoice(database: Database, home: Paths) -> None:
    three_customers(database)
    run(database, home, MAR1)
    later = run(database, home, date(2026, 5, 1))
    # Norway: April and May; Sweden: the quarter from 1 May; Denmark: nothing till January.
    assert later.invoices == ["F10004", "F10005"]
    april_may, quarter = issued(database)[3:]
    assert [line[0] for line in lines_of(april_may)] == [
        "Assist licence 2026-04-01–2026-04-30",
        "Assist licence 2026-05-01–2026-05-31",
    ]
    assert (quarter.period_start, quarter.period_end, quarter.total) == (
        date(2026, 5, 1), date(2026, 7, 31), 1000,
    )  # fmt: skip


def test_a_termination_is_credited_for_the_days_billed_beyond_its_end(
    database: Database, home: Paths
) -> None:
    with session_scope(database.engine) as session:
        fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly()])
    run(database, home, MAR1)
    with session_scope(database.engine) as session:
        contract = session.scalars(select(Contract)).one()
        terminate_contract(session, fx.ACTOR, contract, date(2026, 3, 15), "Moved to a rival")
    report = run(database, home, date(2026, 3, 20))
    assert (report.invoices, report.credit_notes) == ([], ["K10001"])
    credit = issued(database)[1]
    # March credited whole, its first 15 days charged again: 1000 - 483.87 = 516.13 net.
    assert lines_of(credit) == [
        ("Assist licence 2026-03-01–2026-03-31", 10, 100, 1000),
        ("Assist licence 2026-03-01–2026-03-15 (15/31)", -10, D("48.3871"), D("-483.87")),
    ]
    assert (credit.kind, credit.net_total, credit.vat_total, credit.total) == (
        "credit_note", D("516.13"), D("129.03"), D("645.16"),
    )  # fmt: skip
    assert credit.payment_reference is None and credit.corrects_id == issued(database)[0].id
    states = {
        row.number: row for row in invoices.invoices_table(database, date(2026, 3, 20)).itertuples()
    }
    # 3750 invoiced, 645.16 credited, due on the 15th: overdue with 3104.84 open.
    assert (states["F10001"].credited, states["F10001"].open, states["F10001"].status) == (
        645.16, 3104.84, "overdue",
    )  # fmt: skip
    assert states["K10001"].corrects == "F10001"
    assert run(database, home, date(2026, 6, 1)).credit_notes == []  # nothing billed after


def test_a_price_change_in_a_billed_period_is_invoiced_as_the_difference(
    database: Database, home: Paths
) -> None:
    with session_scope(database.engine) as session:
        fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly()])
    run(database, home, MAR1)
    with session_scope(database.engine) as session:
        contract = session.scalars(select(Contract)).one()
        revise_contract(session, fx.ACTOR, contract, {}, [fx.monthly(price="200", line_no=1)],
                        date(2026, 3, 16), "Price list 2026")  # fmt: skip
    assert run(database, home, date(2026, 3, 20)).invoices == ["F10002"]
    # March at 100 reversed; 15 days at 100 and 16 at 200: 1032.26 + 483.87 - 1000.
    assert lines_of(issued(database)[1]) == [
        ("Assist licence 2026-03-01–2026-03-31", -10, 100, -1000),
        ("Assist licence 2026-03-01–2026-03-15 (15/31)", 10, D("48.3871"), D("483.87")),
        ("Assist licence 2026-03-16–2026-03-31 (16/31)", 10, D("103.2258"), D("1032.26")),
    ]
    assert issued(database)[1].net_total == D("516.13")
    # April is billed at the new price, and the run settles.
    assert run(database, home, date(2026, 4, 1)).invoices == ["F10003"]
    assert lines_of(issued(database)[2]) == [
        ("Assist licence 2026-04-01–2026-04-30", 10, 200, 2000)
    ]
    assert run(database, home, date(2026, 4, 1)).invoices == []


def test_a_renewal_is_invoiced_for_the_new_term_at_its_adjusted_price(
    database: Database, home: Paths
) -> None:
    with session_scope(database.engine) as session:
        fx.contract(
            session, fx.customer(session, fx.NORWAY), [fx.monthly(1, "12000", billing_period="yearly")],
            start_date=date(2025, 1, 1), term_months=12, auto_renew=True, renewal_term_months=12,
            price_adjustment_rule="fixed_pct", price_adjustment_pct=10,
            next_price_adjustment_date=date(2026, 1, 1),
        )  # fmt: skip
    assert run(database, home, date(2025, 1, 1)).invoices == ["F10001"]
    # The term ended on 31 December; until the renewal's version exists nothing is billed.
    assert run(database, home, date(2026, 1, 10)).invoices == []
    with session_scope(database.engine) as session:
        contract = session.scalars(select(Contract)).one()
        renewals.renew(session, fx.ACTOR, contract, today=date(2026, 1, 10))
    assert run(database, home, date(2026, 1, 10)).invoices == ["F10002"]
    renewal = issued(database)[1]
    assert lines_of(renewal) == [("Assist licence 2026-01-01–2026-12-31", 1, 13200, 13200)]
    assert renewal.total == 16500


def test_a_contract_that_cannot_be_invoiced_stops_nothing_and_takes_no_number(
    database: Database, home: Paths
) -> None:
    with session_scope(database.engine) as session:
        fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly()])
        nowhere = fx.customer(session, ("Nowhere AS", "912 345 688", ""))
        fx.contract(session, nowhere, [fx.monthly()])
        fx.contract(session, fx.customer(session, fx.SWEDEN), [fx.monthly()], currency="SEK")
    report = run(database, home, MAR1)
    assert report.invoices == ["F10001", "F10002"]
    assert report.failed == {
        "CT-000002": "Nowhere AS has no country: set it on the customer to invoice"
    }
    assert [invoice.sequence for invoice in issued(database)] == [10001, 10002]


def test_two_runs_at_once_bill_every_period_once_without_gaps(
    database: Database, home: Paths
) -> None:
    with session_scope(database.engine) as session:
        buyer = fx.customer(session, fx.NORWAY)
        for _ in range(12):
            fx.contract(session, buyer, [fx.monthly(), fx.setup_fee()])
    reports: list[invoices.RunReport] = []
    threads = [
        threading.Thread(target=lambda: reports.append(run(database, home, MAR1))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(reports[0].invoices + reports[1].invoices) == [f"F{10001 + n}" for n in range(12)]
    assert reports[0].failed == reports[1].failed == {}
    documents = issued(database)
    assert sorted(invoice.contract_id for invoice in documents) == list(range(1, 13))
    assert sorted(invoice.sequence for invoice in documents) == list(range(10001, 10013))


def test_every_document_the_register_exports_passes_peppol(
    database: Database, home: Paths, peppol: Schematron, tmp_path: Path
) -> None:
    with session_scope(database.engine) as session:
        fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly(), fx.setup_fee()])
        fx.contract(session, fx.customer(session, fx.SWEDEN), [fx.monthly()], currency="SEK")
        fx.contract(session, fx.customer(session, fx.USA), [fx.monthly()], currency="USD")
    saved = invoices.set_billing_details(
        database, invoices.RUN_ACTOR, "CU-000003",
        {"street": "1 Main Street", "city": "Boston", "postcode": "02108",
         "peppol_scheme": "0060", "peppol_id": "123456789"},
    )  # fmt: skip
    assert saved.ok, saved.errors
    run(database, home, MAR1)
    with session_scope(database.engine) as session:
        terminate_contract(session, fx.ACTOR, session.get(Contract, 1), date(2026, 3, 10), "Closed")
    run(database, home, date(2026, 3, 12))
    export = invoices.export_ubl(database, tmp_path / "out")
    assert [path.name for path in export.written] == [
        "F10001.xml", "F10002.xml", "F10003.xml", "K10001.xml",
    ] and export.skipped == {}  # fmt: skip
    seen = {}
    for path in export.written:
        assert peppol.fatal(path) == [], path.name
        root = etree.parse(str(path)).getroot()
        categories = root.xpath("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory", namespaces=NS)
        seen[path.stem] = [
            (c.findtext("cbc:ID", namespaces=NS), c.findtext("cbc:Percent", namespaces=NS),
             c.findtext("cbc:TaxExemptionReasonCode", namespaces=NS))
            for c in categories
        ]  # fmt: skip
    assert seen == {
        "F10001": [("S", "25", None)],  # a Norwegian business: standard rate
        "F10002": [("AE", "0", "VATEX-EU-AE")],  # a Swedish business: reverse charge
        "F10003": [("G", "0", "VATEX-EU-G")],  # outside the EEA: export
        "K10001": [("S", "25", None)],
    }
    credit = etree.parse(str(tmp_path / "out" / "K10001.xml")).getroot()
    assert credit.xpath("string(cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID)",
                        namespaces=NS) == "F10001"  # fmt: skip
    buyer = etree.parse(str(tmp_path / "out" / "F10001.xml")).getroot()
    assert buyer.xpath("string(cac:AccountingCustomerParty/cac:Party/cbc:EndpointID/@schemeID)",
                       namespaces=NS) == "0192"  # fmt: skip


def test_a_buyer_without_a_peppol_address_is_skipped_and_named(
    database: Database, home: Paths, tmp_path: Path
) -> None:
    with session_scope(database.engine) as session:
        fx.contract(session, fx.customer(session, fx.USA), [fx.monthly()], currency="USD")
    run(database, home, MAR1)
    export = invoices.export_ubl(database, tmp_path / "out")
    assert export.written == []
    assert export.skipped == {
        "F10001": "invoice F10001: the buyer Boston Customer Inc. has no Peppol address"
    }


def test_the_pdf_is_made_from_the_register_once(database: Database, home: Paths) -> None:
    with session_scope(database.engine) as session:
        fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly()], start_date=d(3, 17))
    run(database, home, date(2026, 3, 17))
    made = invoices.invoice_pdf(database, invoices.RUN_ACTOR, home, "F10001")
    assert made.ok, made.errors
    pdf = documents_dir(home) / made.detail["stored_path"]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    assert "F10001" in text and "Assist licence 2026-03-17–2026-04-16" in text
    assert "NO 999 888 771 MVA Foretaksregisteret" in text
    assert "1 250,00" in text  # 10 x 100 and 25 % VAT, in Norwegian
    # Asked again, the same stored file.
    assert invoices.invoice_pdf(database, invoices.RUN_ACTOR, home, "F10001").detail == made.detail


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"peppol_scheme": "0060"}, {"form": "give both the Peppol scheme and the Peppol id, or neither"}),
        ({"peppol_scheme": "DUNS", "peppol_id": "1"},
         {"peppol_scheme": "must be a 4-digit scheme (EAS code) such as 0192"}),
        ({"email": "billing-at-example"}, {"email": "must be an e-mail address such as name@example.com"}),
    ],
)  # fmt: skip
def test_billing_details_are_checked_and_nothing_is_saved_when_refused(
    database: Database, values: dict[str, str], errors: dict[str, str]
) -> None:
    with session_scope(database.engine) as session:
        fx.customer(session, fx.USA)
    before = audit_count(database)
    assert (
        invoices.set_billing_details(database, invoices.RUN_ACTOR, "CU-000001", values).errors
        == errors
    )
    assert audit_count(database) == before


def test_a_document_sent_is_sent_once(database: Database, home: Paths) -> None:
    with session_scope(database.engine) as session:
        fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly()])
    run(database, home, MAR1)
    assert invoices.mark_sent(database, invoices.RUN_ACTOR, ["F10001"], "peppol").detail == {
        "marked": ["F10001"]
    }
    assert invoices.mark_sent(database, invoices.RUN_ACTOR, ["F10001"], "email").detail == {
        "marked": []
    }
    (state,) = invoices.invoices_table(database, MAR1).itertuples()
    assert state.status == "sent"
    assert issued(database)[0].sent_via == "peppol"
    assert invoices.mark_sent(database, invoices.RUN_ACTOR, ["F99"], "email").errors == {
        "invoice": "F99 was not found"
    }


def two_invoices(database: Database, home: Paths) -> tuple[str, str]:
    """F10001 (10000 due) and F10002 (1250 due), to two Norwegian customers; their KIDs."""
    with session_scope(database.engine) as session:
        fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly(), fx.setup_fee()])
        fx.contract(session, fx.customer(session, ("Nordlys Regnskap AS", "912 345 688", "NO")),
                    [fx.monthly()], start_date=MAR1)  # fmt: skip
    run(database, home, MAR1)
    first, second = issued(database)
    assert (first.total, second.total) == (10000, 1250)
    return str(first.payment_reference), str(second.payment_reference)


def test_payments_are_matched_paid_in_part_queued_and_imported_once(
    database: Database, home: Paths
) -> None:
    kid1, kid2 = two_invoices(database, home)
    statement = fx.camt053(
        fx.Transfer("10000.00", "A1", kid=kid1),
        fx.Transfer("500.00", "A2", kid=kid2, payer="Nordlys Regnskap AS"),
        fx.Transfer("999.00", "A3", message="Faktura F10002", payer="Nordlys Regnskap AS"),
        fx.Transfer("300.00", "A4", message="Takk for sist", payer="Ukjent AS"),
    )
    report = invoices.import_payments(database, invoices.RUN_ACTOR, "mars.xml", statement)
    assert (report.imported, report.paid_invoices, report.partly_paid, report.queued) == (
        4, ["F10001", "F10002"], ["F10002"], 2,
    )  # fmt: skip
    states = {row.number: row for row in invoices.invoices_table(database, MAR1).itertuples()}
    assert (states["F10001"].status, states["F10001"].open) == ("paid", 0)
    assert (states["F10002"].status, states["F10002"].paid) == ("paid", 1250)
    queue = invoices.payment_queue(database)
    assert list(zip(queue.amount, queue.reason, strict=True)) == [
        (249.0, "more than was owed on F10002"),
        (300.0, "no invoice matches its reference, message or amount"),
    ]
    again = invoices.import_payments(database, invoices.RUN_ACTOR, "mars.xml", statement)
    assert (again.imported, again.already, again.queued) == (0, 4, 0)
    assert len(invoices.payment_queue(database)) == 2
    states = {row.number: row for row in invoices.invoices_table(database, MAR1).itertuples()}
    assert (states["F10001"].paid, states["F10002"].paid) == (10000, 1250)


def test_a_part_payment_leaves_an_invoice_open_and_overdue(database: Database, home: Paths) -> None:
    kid1, _ = two_invoices(database, home)
    csv = (
        f"booking_date;amount;currency;reference;payer\n2026-03-20;4000,00;NOK;{kid1};Fjordkraft\n"
    )
    report = invoices.import_payments(database, invoices.RUN_ACTOR, "bank.csv", csv.encode())
    assert report.partly_paid == ["F10001"] and report.queued == 0
    states = {row.number: row for row in invoices.invoices_table(database, d(3, 16)).itertuples()}
    assert (states["F10001"].status, states["F10001"].open) == ("overdue", 6000)
    assert states["F10002"].status == "overdue"


def test_a_payment_without_reference_is_matched_by_amount_and_payer(
    database: Database, home: Paths
) -> None:
    two_invoices(database, home)
    statement = fx.camt053(fx.Transfer("1250.00", "B1", payer="NORDLYS REGNSKAP AS"))
    report = invoices.import_payments(database, invoices.RUN_ACTOR, "b.xml", statement)
    assert report.paid_invoices == ["F10002"]
    other = fx.camt053(fx.Transfer("1250.00", "B2", payer="Somebody Else AS"))
    assert invoices.import_payments(database, invoices.RUN_ACTOR, "c.xml", other).queued == 1


def test_the_journal_books_invoices_and_payments_balanced(database: Database, home: Paths) -> None:
    kid1, _ = two_invoices(database, home)
    statement = fx.camt053(fx.Transfer("10000.00", "A1", kid=kid1))
    invoices.import_payments(database, invoices.RUN_ACTOR, "mars.xml", statement)
    rows = [
        line.split(",")
        for line in invoices.journal(database, home, "2026-03").decode().splitlines()[1:]
    ]
    by_voucher: dict[tuple[str, str], Decimal] = {}
    for day, _account, _code, amount, number, _customer in rows:
        by_voucher[(day, number)] = by_voucher.get((day, number), D(0)) + D(amount)
    assert set(by_voucher.values()) == {D(0)}  # every voucher balances
    assert [row[:4] for row in rows if row[4] == "F10001"] == [
        ["2026-03-01", "1500", "", "10000.00"],
        ["2026-03-01", "3000", "3", "-8000.00"],
        ["2026-03-01", "2700", "3", "-2000.00"],
        ["2026-03-20", "1920", "", "10000.00"],
        ["2026-03-20", "1500", "", "-10000.00"],
    ]
    sie = invoices.journal(database, home, "2026-03", sie=True)
    assert sie.startswith(b"#FLAGGA 0\r\n") and b"#VER A 1 20260301" in sie
    assert (
        invoices.journal(database, home, "2026-04")
        == b"date,account,vat_code,amount,invoice,customer\n"
    )


def test_kid_by_mod11_and_swedish_ocr_come_from_billing_yaml(
    database: Database, home: Paths
) -> None:
    shipped = (CONFIG_DIR / BILLING_FILE).read_text(encoding="utf-8")
    (home.home / BILLING_FILE).write_text(
        shipped.replace("reference: {kind: KID, method: MOD10, digits: 8}\n  \"*\":",
                        "reference: {kind: KID, method: MOD11, digits: 8}\n  SEK:\n"
                        "    scheme: bankgiro\n    number: 5402-9681\n"
                        "    reference: {kind: OCR, length_digit: true, digits: 8}\n  \"*\":"),
        encoding="utf-8",
    )  # fmt: skip
    with session_scope(database.engine) as session:
        fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly()])
        fx.contract(session, fx.customer(session, fx.SWEDEN), [fx.monthly()], currency="SEK")
    run(database, home, MAR1)
    norway, sweden = issued(database)
    assert is_valid_kid(str(norway.payment_reference), KidMethod.MOD11)
    assert not is_valid_kid(str(norway.payment_reference), KidMethod.MOD10)
    assert is_valid_ocr(str(sweden.payment_reference), length_digit=True)
    assert len(str(sweden.payment_reference)) == 10
    assert sweden.payment_account == {"number": "54029681", "scheme": "bankgiro", "bic": None}


def test_an_issued_invoice_is_kept_as_issued(
    database: Database, home: Paths, tmp_path: Path
) -> None:
    """The e-invoice (like the PDF and the journal) reads the stored document: a customer
    renamed after the invoice was issued is renamed on the next invoice, not on this one."""
    with session_scope(database.engine) as session:
        fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly()])
    run(database, home, MAR1)
    with session_scope(database.engine) as session:
        customer = session.scalars(select(Contract)).one().customer
        update_customer(session, fx.ACTOR, customer, {"name": "Renamed AS"})
    run(database, home, date(2026, 4, 1))
    invoices.export_ubl(database, tmp_path)
    names = [
        etree.parse(str(tmp_path / f"{number}.xml"))
        .getroot()
        .xpath(
            "string(cac:AccountingCustomerParty/cac:Party/cac:PartyName/cbc:Name)", namespaces=NS
        )
        for number in ("F10001", "F10002")
    ]
    assert names == ["Fjordkraft Kunde AS", "Renamed AS"]


# --- status and settings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paid", "credited", "due", "sent", "status"),
    [
        ("0", "0", d(3, 31), False, InvoiceStatus.ISSUED),
        ("0", "0", d(3, 31), True, InvoiceStatus.SENT),
        ("999.99", "0", d(3, 31), True, InvoiceStatus.SENT),  # paid in part: not paid
        ("1000", "0", d(3, 1), True, InvoiceStatus.PAID),
        ("600", "400", d(3, 1), False, InvoiceStatus.PAID),  # paid, the rest credited
        ("0", "0", d(3, 14), True, InvoiceStatus.OVERDUE),  # due yesterday
        ("0", "0", d(3, 15), False, InvoiceStatus.ISSUED),  # due today: not yet overdue
        ("999", "0", d(3, 14), False, InvoiceStatus.OVERDUE),
        ("0", "1000", d(3, 14), False, InvoiceStatus.CREDITED),
        ("1000", "1000", d(3, 14), False, InvoiceStatus.CREDITED),  # the customer is owed
    ],
)
def test_the_status_of_an_invoice_on_a_day(
    paid: str, credited: str, due: date, sent: bool, status: InvoiceStatus
) -> None:
    assert status_of(kind="invoice", total=D(1000), paid=D(paid), credited=D(credited),
                     due_date=due, sent=sent, today=d(3, 15)) is status  # fmt: skip


@pytest.mark.parametrize(
    ("find", "replacement", "message"),
    [
        ("payment_terms_days: 14", "payment_terms_days: -1", "payment_terms_days: must be 0 or more"),
        ("method: MOD10, digits: 8}\n  \"*\"", "method: MOD12, digits: 8}\n  \"*\"",
         r"accounts.NOK.reference.method: unknown value 'MOD12'"),
        ("number: NO93 8601 1117 947", "number: NO94 8601 1117 947",
         r"accounts.\*.number: NO9486011117947 is not an IBAN"),
        ("  NOK:\n    scheme", "  nok:\n    scheme", "accounts.nok: must be a currency code"),
        ("{category: S, rate: 15, revenue_account: \"3000\", vat_code: \"31\", vat_account: \"2700\"}",
         "{category: S, rate: 15, revenue_account: \"3000\", vat_code: \"31\"}",
         r"accounting.postings\[1\]: a standard rate needs the vat_account"),
        ("bill_from:\n", "bill_from: soon\n", "bill_from: must be a date"),
        ("version: 1\n", "version: 1\nseries_prefix: X\n", "unknown key 'series_prefix'"),
    ],
)  # fmt: skip
def test_billing_yaml_is_checked_when_loaded(
    tmp_path: Path, find: str, replacement: str, message: str
) -> None:
    text = (CONFIG_DIR / BILLING_FILE).read_text(encoding="utf-8")
    assert find in text
    path = tmp_path / BILLING_FILE
    path.write_text(text.replace(find, replacement), encoding="utf-8")
    with pytest.raises(RuleError, match=message):
        load_billing(path)


def test_the_shipped_billing_yaml_loads() -> None:
    settings = load_billing(CONFIG_DIR / BILLING_FILE)
    assert settings.invoice_series.prefix == "F" and settings.account_for("EUR").account.bic
    assert settings.accounting.posting(VatCategory.EXPORT, D(0)).vat_code == "52"
