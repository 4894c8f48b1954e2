"""Invoices (SPEC B1, B2, D5, A3): the invoice register and its runs, and the on-demand PDF
of what a contract bills in a month (``make_invoice``, the contract page's).

The register (``avtale.billing.register``) issues invoices and credit notes from the
contracts' schedules: ``run_invoices`` does it for every contract, each document in its own
transaction, as ``avtale invoice run`` and the daily job do. ``export_ubl`` writes the
e-invoices, ``import_payments`` reads a bank statement and matches its payments,
``journal`` makes the accounting export of a month, ``invoice_pdf`` the PDF of one issued
document; ``invoices_table`` and ``payment_queue`` are what the pages list.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from avtale.billing import exports, payments, register
from avtale.billing.camt053 import StatementError as StatementError
from avtale.billing.model import BillingError, DocumentKind
from avtale.billing.pdf import InvoicePdfJob, invoice_pdf_job, stored_pdf
from avtale.billing.pdf import invoice_pdf as stored_invoice_pdf
from avtale.billing.register import BillingSetupError as BillingSetupError
from avtale.billing.status import InvoiceStatus, invoice_states
from avtale.dates import add_months
from avtale.dates import today as business_today
from avtale.repository import generation
from avtale.repository.audit import record, snapshot
from avtale.repository.models import (
    BankPayment,
    Contract,
    ContractVersion,
    Customer,
    CustomerBilling,
    Invoice,
    UnmatchedPayment,
)
from avtale.repository.validation import Field, ValidationError, clean, raise_if
from avtale.services import lookups
from avtale.services.database import Database
from avtale.services.unit_of_work import EDIT, FORM, Outcome, System, check, reading, write
from avtale.settings import Paths, private_dir

# How far back an invoice may be made, in months.
MONTHS_BACK = 60


def invoice_months(start: date | None, end: date | None) -> list[date]:
    """First days of the months an invoice may be made for: from the contract's start to
    its end, or a year from now for one that runs on; at most the last five years."""
    today = business_today()
    first = add_months(today.replace(day=1), -MONTHS_BACK)
    if start is not None:
        first = max(first, start.replace(day=1))
    last = (end or add_months(today, 12)).replace(day=1)
    months = []
    while first <= last:
        months.append(first)
        first = add_months(first, 1)
    return months


def this_month(months: list[date]) -> int | None:
    """The index of the current month in ``months``, else of the last one."""
    now = business_today().replace(day=1)
    if now in months:
        return months.index(now)
    return len(months) - 1 if months else None


def make_invoice(
    db: Database, actor: str, paths: Paths, contract_number: str, month: date | None
) -> Outcome:
    """The invoice PDF of contract ``contract_number`` for the month starting ``month``."""

    def work(session: Session) -> Outcome:
        if month is None:
            raise ValidationError({"period_start": "choose a month"})
        document = generation.generate_invoice(
            session, actor, paths, lookups.contract(session, contract_number), period_start=month
        )
        return Outcome(
            message=f"Invoice {document.filename} made (SHA-256 {document.sha256[:12]}…).",
            target=contract_number,
            detail={"stored_path": document.stored_path, "filename": document.filename},
        )

    return write(db, actor, EDIT, work)


# --- the register -------------------------------------------------------------------

# The actor of what the command line and the daily job issue.
RUN_ACTOR = System("invoice-run")
# Documents one contract may call for in one run before the run stops and says so: a
# schedule that never settles is a fault to look at, not to bill on.
MAX_DOCUMENTS_PER_CONTRACT = 50


@dataclass
class RunReport:
    through: date
    contracts: int = 0
    invoices: list[str] = field(default_factory=list)
    credit_notes: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # contract number -> why

    def lines(self) -> list[str]:
        issued = [
            f"invoices issued: {len(self.invoices)}{_span(self.invoices)}",
            f"credit notes issued: {len(self.credit_notes)}{_span(self.credit_notes)}",
            f"contracts billed through {self.through.isoformat()}: {self.contracts}",
        ]
        return issued + [f"not invoiced {number}: {why}" for number, why in self.failed.items()]


def _span(numbers: list[str]) -> str:
    if not numbers:
        return ""
    return f" ({numbers[0]})" if len(numbers) == 1 else f" ({numbers[0]}–{numbers[-1]})"


def billable_contracts(db: Database) -> list[tuple[int, str]]:
    """The contracts the register bills (every one but drafts), by number."""
    with reading(db) as session:
        rows = session.execute(
            select(Contract.id, Contract.contract_number)
            .where(Contract.status != "draft")
            .order_by(Contract.contract_number)
        )
        return [(contract_id, number) for contract_id, number in rows]


def run_invoices(
    db: Database,
    paths: Paths,
    through: date | None = None,
    *,
    today: date | None = None,
    actor: str = RUN_ACTOR,
    log: Callable[[str], None] = lambda _message: None,
) -> RunReport:
    """Issue every invoice and credit note the contracts' schedules call for through
    ``through`` (default: today), dated ``today``. Each document is its own transaction; a
    contract that cannot be invoiced is reported and the others go on. Settings the register
    cannot issue with raise ``BillingSetupError`` before anything is written."""
    today = today or business_today()
    report = RunReport(through or today)
    issuer = register.load_issuer(paths)
    for contract_id, number in billable_contracts(db):
        report.contracts += 1
        problem = _bill(db, actor, issuer, contract_id, report, today)
        if problem:
            report.failed[number] = problem
            log(f"{number}: not invoiced: {problem}")
    return report


def _bill(
    db: Database,
    actor: str,
    issuer: register.Issuer,
    contract_id: int,
    report: RunReport,
    today: date,
) -> str | None:
    """Issue the contract's documents one transaction each; why it stopped, if it did."""
    raced = False
    for _ in range(MAX_DOCUMENTS_PER_CONTRACT):
        try:
            outcome = write(db, actor, EDIT, _issue_work(actor, issuer, contract_id, report, today))
        except IntegrityError:
            # Another run billed the same period at the same moment: look again, once.
            if raced:
                return "another invoice run is billing it; run again"
            raced = True
            continue
        if not outcome.ok:
            return "; ".join(outcome.errors.values())
        issued: register.Issued | None = outcome.detail.get("issued")
        if issued is None:
            return None
        target = report.invoices if issued.kind is DocumentKind.INVOICE else report.credit_notes
        target.append(issued.number)
        if not issued.remaining:
            return None
    return f"still calls for documents after {MAX_DOCUMENTS_PER_CONTRACT}: check its versions"


def _issue_work(
    actor: str, issuer: register.Issuer, contract_id: int, report: RunReport, today: date
) -> Callable[[Session], Outcome]:
    def work(session: Session) -> Outcome:
        try:
            issued = register.issue_next(
                session, actor, issuer, contract_id, through=report.through, today=today
            )
        except (BillingError, ValueError) as problem:  # ValueError: a rule or period it lacks
            raise ValidationError({"contract": str(problem)}) from None
        return Outcome(detail={"issued": issued})

    return work


def export_ubl(
    db: Database,
    out_dir: Path,
    since: date | None = None,
    numbers: Collection[str] | None = None,
) -> exports.UblExport:
    """One Peppol BIS Billing 3.0 file per invoice and credit note issued on or after
    ``since`` (and, given ``numbers``, among them) into ``out_dir`` (made if missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with reading(db) as session:
        return exports.export_ubl(session, out_dir, since, numbers)


def outgoing_dir(paths: Paths) -> Path:
    """Where the daily job leaves e-invoices for an access point to pick up."""
    return private_dir(paths.home / "outgoing")


def import_payments(db: Database, actor: str, name: str, data: bytes) -> payments.ImportReport:
    """Import the bank statement ``data`` (camt.053 or CSV; ``name`` for the record) in one
    transaction. A statement that cannot be read raises ``StatementError`` and imports
    nothing."""
    read = payments.read_statement(data)
    outcome = write(
        db,
        actor,
        EDIT,
        lambda session: Outcome(
            detail={"report": payments.import_statement(session, actor, name, read)}
        ),
    )
    if not outcome.ok:
        raise StatementError("; ".join(outcome.errors.values()))
    report: payments.ImportReport = outcome.detail["report"]
    return report


def journal(db: Database, paths: Paths, month: str, *, sie: bool = False) -> bytes:
    """The accounting export of ``month`` (YYYY-MM): the journal CSV, or SIE 4."""
    period = exports.month_period(month)
    issuer = register.load_issuer(paths)
    mapping = issuer.billing.accounting
    with reading(db) as session:
        booked = exports.journal_vouchers(session, mapping, period)
    return exports.journal_file(
        booked, mapping, issuer.seller, period, sie=sie, generated=business_today()
    )


def invoice_pdf(
    db: Database,
    actor: str,
    paths: Paths,
    number: str,
    laid_out: tuple[InvoicePdfJob, bytes | Exception] | None = None,
) -> Outcome:
    """The PDF of the issued invoice or credit note ``number`` (made once, then kept);
    ``laid_out``: made ahead by ``InvoicePdfs``."""

    def work(session: Session) -> Outcome:
        invoice = _invoice(session, number)
        document = stored_invoice_pdf(session, actor, paths, invoice, laid_out)
        return Outcome(
            message=f"{number}: {document.filename}",
            target=number,
            detail={"stored_path": document.stored_path, "filename": document.filename},
        )

    return write(db, actor, EDIT, work)


class InvoicePdfs:
    """The PDFs of many issued documents, as ``invoice_pdf`` makes them, for a run that
    sends them one after the other: ``make(number)`` stores and returns one. From
    ``docgen.pdf.POOL_FROM`` documents without a PDF on, they are laid out ahead, in a pool
    of processes (one per core), while the run stores and mails the first ones.

    Use it in a ``with`` block: leaving it stops the layouts not started yet. A document
    whose template changed meanwhile is still stored as the template it was laid out with
    says (its ``source``)."""

    def __init__(
        self,
        db: Database,
        actor: str,
        paths: Paths,
        numbers: Collection[str],
        log: Callable[[str], None] = lambda _message: None,
    ) -> None:
        from docgen.pdf import POOL_FROM, cores, html_to_pdfs

        self._db, self._actor, self._paths = db, actor, paths
        self._jobs: dict[str, InvoicePdfJob] = {}
        self._ready: dict[str, bytes | Exception] = {}
        processes, pool_from = cores(), POOL_FROM  # read now: a test lowers POOL_FROM
        # Filling templates is work: not for an actor whose writes will be refused anyway.
        if processes > 1 and len(numbers) >= pool_from and check(db, actor, EDIT) is None:
            with reading(db) as session:
                for number in numbers:
                    invoice = session.scalar(select(Invoice).where(Invoice.number == number))
                    if invoice is None or stored_pdf(session, invoice) is not None:
                        continue
                    try:
                        self._jobs[number] = invoice_pdf_job(session, paths, invoice)
                    except ValidationError:
                        continue  # make() reports it, as invoice_pdf does
        if len(self._jobs) >= pool_from:
            log(f"laying out {len(self._jobs)} PDFs in {processes} processes")
            htmls = [job.job.html for job in self._jobs.values()]
            self._laid_out = html_to_pdfs(htmls, processes, pool_from)
        else:
            self._jobs.clear()
            self._laid_out = iter(())
        self._pending = iter(list(self._jobs))

    def make(self, number: str) -> Outcome:
        """``invoice_pdf(number)``, with the PDF laid out ahead when it was."""
        job = self._jobs.pop(number, None)
        if job is None:
            return invoice_pdf(self._db, self._actor, self._paths, number)
        while number not in self._ready:  # the layouts come in the order they were asked
            self._ready[next(self._pending)] = next(self._laid_out)
        laid_out = job, self._ready.pop(number)
        return invoice_pdf(self._db, self._actor, self._paths, number, laid_out)

    def close(self) -> None:
        close = getattr(self._laid_out, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> InvoicePdfs:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def mark_sent(db: Database, actor: str, numbers: list[str], via: str) -> Outcome:
    """Record that the documents ``numbers`` went to their customers (``via``: "email" or
    "peppol"); a document already sent keeps its first record."""

    def work(session: Session) -> Outcome:
        marked = []
        for number in numbers:
            invoice = _invoice(session, number)
            if invoice.sent_at is None:
                invoice.sent_at, invoice.sent_via = datetime.now(UTC), via
                marked.append(number)
                record(session, actor, "invoice.send", "invoice", invoice.id, None,
                       {"sent_at": invoice.sent_at, "sent_via": via})  # fmt: skip
        return Outcome(message=f"{len(marked)} marked sent", detail={"marked": marked})

    return write(db, actor, EDIT, work)


CREDIT_FIELDS = {"reason": Field("text", required=True, max_length=500)}


def credit_invoice(
    db: Database, actor: str, paths: Paths, number: str, reason: str, today: date | None = None
) -> Outcome:
    """A credit note for what of invoice ``number`` is not credited yet, naming it, with
    ``reason`` as its note; numbered in the credit note series like the run's. The next
    invoice run bills again what the contract still owes (change the contract first to
    stop that)."""
    issuer = register.load_issuer(paths)  # the files are read before the transaction

    def work(session: Session) -> Outcome:
        errors: dict[str, str] = {}
        given = clean({"reason": reason}, CREDIT_FIELDS, errors)
        raise_if(errors)
        invoice = _invoice(session, number)
        try:
            issued = register.issue_credit(
                session, actor, issuer, invoice, given["reason"], today or business_today()
            )
        except BillingError as problem:
            raise ValidationError({"invoice": str(problem)}) from None
        return Outcome(
            message=f"Credit note {issued.number} issued for {number}: "
            f"{issued.currency} {issued.total:,.2f}.",
            target=issued.number,
            detail={"issued": issued},
        )

    return write(db, actor, EDIT, work)


def _invoice(session: Session, number: str) -> Invoice:
    found = session.scalar(select(Invoice).where(Invoice.number == number))
    if found is None:
        raise ValidationError({"invoice": f"{number} was not found"})
    return found


BILLING_FIELDS = {
    "street": Field("text", max_length=200),
    "postcode": Field("text", max_length=20),
    "city": Field("text", max_length=100),
    "email": Field("email", max_length=254),
    "buyer_reference": Field("text", max_length=200),
    "peppol_scheme": Field("text", max_length=4),
    "peppol_id": Field("text", max_length=100),
}


def set_billing_details(
    db: Database, actor: str, customer_number: str, values: Mapping[str, Any]
) -> Outcome:
    """Where and how the customer is invoiced (``BILLING_FIELDS``); given fields replace
    the saved ones, an empty one clears it. Invoices issued already keep what they said."""

    def work(session: Session) -> Outcome:
        customer = lookups.customer(session, customer_number)
        errors: dict[str, str] = {}
        given = clean(values, BILLING_FIELDS, errors, partial=True)
        row = session.scalar(
            select(CustomerBilling).where(CustomerBilling.customer_id == customer.id)
        )
        before = snapshot(row) if row is not None else None
        row = row or CustomerBilling(customer_id=customer.id)
        for name, value in given.items():
            setattr(row, name, value)
        scheme, identifier = row.peppol_scheme, row.peppol_id
        if bool(scheme) != bool(identifier):
            errors[FORM] = "give both the Peppol scheme and the Peppol id, or neither"
        elif scheme and not (len(scheme) == 4 and scheme.isdigit()):
            errors["peppol_scheme"] = "must be a 4-digit scheme (EAS code) such as 0192"
        raise_if(errors)
        session.add(row)
        session.flush()
        record(session, actor, "customer.billing", "customer_billing", row.id, before,
               snapshot(row))  # fmt: skip
        return Outcome(
            message=f"billing details of {customer_number} saved", target=customer_number
        )

    return write(db, actor, EDIT, work)


INVOICE_COLUMNS = [
    "number", "kind", "customer", "contract", "issue_date", "due_date", "currency",
    "total", "paid", "credited", "open", "status", "corrects",
]  # fmt: skip
STATUSES = [str(status) for status in InvoiceStatus]
QUEUE_COLUMNS = ["payment", "booking_date", "payer", "amount", "currency", "text", "reason"]


def invoices_table(
    db: Database,
    today: date | None = None,
    *,
    customer_number: str | None = None,
    contract_number: str | None = None,
) -> pd.DataFrame:
    """The register as a page lists it, newest first, with each document's status today."""
    with reading(db) as session:
        states = invoice_states(
            session,
            today or business_today(),
            customer_number=customer_number,
            contract_number=contract_number,
        )
    return pd.DataFrame(
        [
            {
                "number": state.number,
                "kind": state.kind,
                "customer": state.customer,
                "contract": state.contract,
                "issue_date": state.issue_date,
                "due_date": state.due_date,
                "currency": state.currency,
                "total": float(state.total),
                "paid": float(state.paid),
                "credited": float(state.credited),
                "open": float(state.open),
                "status": str(state.status),
                "corrects": state.corrects,
            }
            for state in states
        ],
        columns=INVOICE_COLUMNS,
    )


def payment_references(db: Database, numbers: Collection[str]) -> dict[str, str]:
    """The KID or OCR reference of each of the invoices ``numbers`` (credit notes have
    none)."""
    with reading(db) as session:
        rows = session.execute(
            select(Invoice.number, Invoice.payment_reference).where(
                Invoice.number.in_(list(numbers)), Invoice.payment_reference.is_not(None)
            )
        )
        return {number: reference for number, reference in rows if reference is not None}


def payment_queue(db: Database) -> pd.DataFrame:
    """Payment amounts no invoice took, not yet resolved, oldest first."""
    with reading(db) as session:
        rows = session.execute(
            select(UnmatchedPayment, BankPayment)
            .join(BankPayment, UnmatchedPayment.payment_id == BankPayment.id)
            .where(UnmatchedPayment.resolved_at.is_(None))
            .order_by(BankPayment.booking_date, BankPayment.id)
        ).all()
        return pd.DataFrame(
            [
                {
                    "payment": payment.id,
                    "booking_date": payment.booking_date,
                    "payer": payment.payer,
                    "amount": float(queued.amount),
                    "currency": payment.currency,
                    "text": payment.text,
                    "reason": queued.reason,
                }
                for queued, payment in rows
            ],
            columns=QUEUE_COLUMNS,
        )


OVERDUE = "invoice_overdue"  # the deadline type of an overdue invoice's reminder


def overdue_invoices(db: Database, today: date | None = None) -> list[dict[str, Any]]:
    """The contracts' overdue invoices as deadlines to remind of: one per contract and due
    date (the natural key of its reminder), naming the invoices and what is open."""
    today = today or business_today()
    with reading(db) as session:
        states = [
            state
            for state in invoice_states(session, today)
            if state.status is InvoiceStatus.OVERDUE and state.contract is not None
        ]
        owners = _owners(session, {state.contract for state in states if state.contract})
    due: dict[tuple[str, date], dict[str, Any]] = {}
    for state in sorted(states, key=lambda state: state.number):
        assert state.contract is not None and state.due_date is not None
        row = due.setdefault(
            (state.contract, state.due_date),
            {
                "contract_id": f"app:{state.contract}",
                "deadline_type": OVERDUE,
                "deadline_date": state.due_date,
                "customer_id": state.customer_number,
                "customer_name": state.customer,
                "owner": owners.get(state.contract),
                "invoices": [],
            },
        )
        row["invoices"].append(f"{state.number}: {state.currency} {state.open:,.2f} open")
    rows = sorted(due.values(), key=lambda row: (row["deadline_date"], row["contract_id"]))
    for row in rows:
        row["detail"] = "Invoices: " + "; ".join(row.pop("invoices"))
    return rows


def _owners(session: Session, numbers: set[str]) -> dict[str, str | None]:
    """Each contract's owner: its latest version's, else its customer's."""
    rows = session.execute(
        select(Contract.contract_number, ContractVersion.owner, Customer.owner)
        .join(ContractVersion, ContractVersion.contract_id == Contract.id)
        .join(Customer, Contract.customer_id == Customer.id)
        .where(Contract.contract_number.in_(numbers))
        .order_by(ContractVersion.version_no)
    )
    return {
        number: version_owner or customer_owner for number, version_owner, customer_owner in rows
    }
