"""The invoice register: issuing a contract's invoices and credit notes, each in its caller's
transaction, numbered without gaps, never edited afterwards.

``issue_next`` is one step of an invoice run for one contract: it locks the contract,
compares its schedule with what the register billed (``schedule``, ``reconcile``) and
issues the first document that difference calls for; the caller commits it and asks again
until nothing is left. A run killed between two documents thus leaves whole documents
only, and the next run issues the rest.

Numbers come from a counter row per series (``InvoiceSeries``), read under a row lock
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite lets one writer in at a time) and counted
up in the same transaction: a document rolled back gives its number back. What a run may
bill twice is kept out by ``BilledPeriod``'s unique key (contract, line, period, n-th
document): of two runs that raced, the second fails to commit and bills nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from avtale.billing.config import BillingSettings, Series, billing_file, load_billing
from avtale.billing.model import (
    AccountingCurrency,
    BillingDocument,
    BillingError,
    DocumentKind,
    Endpoint,
    Line,
    Party,
    Period,
    Vat,
    VatCategory,
    vat_identifier,
)
from avtale.billing.reconcile import BilledLine, Draft, DraftLine, billed_limits, drafts
from avtale.billing.schedule import Charge, owed
from avtale.billing.stored import account_json, billed_line, document_of, party_json
from avtale.repository import orgnumbers
from avtale.repository.agreements import LANGUAGE_BY_COUNTRY
from avtale.repository.audit import record, snapshot
from avtale.repository.limits import planning_rates
from avtale.repository.models import (
    BilledPeriod,
    Contract,
    ContractVersion,
    Customer,
    CustomerBilling,
    Invoice,
    InvoiceLine,
    InvoiceSeries,
)
from avtale.rules.loading import RuleError, config_file
from avtale.rules.vat import VatRules, load_vat_rules, vat_for
from avtale.settings import Paths, Seller, load_seller, seller_country

UNIT_CODE = "EA"  # UN/ECE Rec. 20 "each": a line's quantity counts licences or units
RATE_PLACES = Decimal("0.00000001")


class BillingSetupError(ValueError):
    """Settings the register cannot issue with (seller.yaml, vat.yaml, billing.yaml): one
    line naming the file and the entry."""


@dataclass(frozen=True)
class Issuer:
    """What every document of a run is issued with, read once per run."""

    seller: Party
    vat: VatRules
    billing: BillingSettings
    rates: Mapping[str, Decimal]  # planning rate: units of the reporting currency per unit

    def accounting_currency(self, currency: str) -> AccountingCurrency | None:
        """The books' currency and today's rate for a document in ``currency``; None for one
        in the books' own. The planning rates are the only rates Avtale has (no feed of
        daily rates), so a document is booked at the planning rate of its day of issue."""
        books = self.billing.accounting.currency
        if currency == books:
            return None
        if currency not in self.rates or books not in self.rates:
            missing = currency if currency not in self.rates else books
            raise BillingError(f"there is no planning rate for {missing} to book {currency} in")
        rate = (self.rates[currency] / self.rates[books]).quantize(RATE_PLACES)
        return AccountingCurrency(books, rate)


def load_issuer(paths: Paths) -> Issuer:
    """The seller, VAT rules, billing settings and planning rates of the data folder."""
    try:
        vat = load_vat_rules(config_file(paths.home, "vat.yaml"))
        seller_path = config_file(paths.home, "seller.yaml")
        seller_country(seller_path, vat)
        seller = load_seller(seller_path, vat)
        billing = load_billing(billing_file(paths.home))
    except RuleError as problem:
        raise BillingSetupError(str(problem)) from None
    return Issuer(seller_party(seller, billing), vat, billing, planning_rates(paths))


def seller_party(seller: Seller, billing: BillingSettings) -> Party:
    """The seller as invoices name it: its registry number without dress, its VAT number
    (``NO<number>MVA``) and the words its registration requires (billing.yaml)."""
    if not seller.org_number:
        raise BillingSetupError("seller.yaml: org_number: is required to issue invoices")
    bare = orgnumbers.compact(seller.country, seller.org_number)
    problem = orgnumbers.check(seller.country, bare)
    if problem:
        raise BillingSetupError(f"seller.yaml: org_number: {seller.org_number} {problem}")
    street = seller.street or seller.address
    return Party(
        name=seller.name,
        org_number=bare,
        country=seller.country,
        address_lines=(street,) if street else (),
        city=seller.city or "",
        postal_code=seller.postcode or "",
        vat_id=vat_identifier(seller.country, bare),
        tax_registration=billing.tax_registration,
    )


def buyer_party(customer: Customer, billing: CustomerBilling | None) -> Party:
    """The customer as an invoice to it names it, from its record and billing details."""
    if not customer.country:
        raise BillingError(f"{customer.name} has no country: set it on the customer to invoice")
    if not customer.org_number:
        raise BillingError(f"{customer.name} has no organisation number to invoice")
    bare = orgnumbers.compact(customer.country, customer.org_number)
    endpoint = None
    if billing is not None and billing.peppol_scheme and billing.peppol_id:
        endpoint = Endpoint(billing.peppol_scheme, billing.peppol_id)
    return Party(
        name=customer.name,
        org_number=bare,
        country=customer.country,
        address_lines=(billing.street,) if billing is not None and billing.street else (),
        city=(billing.city if billing is not None else None) or "",
        postal_code=(billing.postcode if billing is not None else None) or "",
        vat_id=vat_identifier(customer.country, bare),
        endpoint=endpoint,
        party_id=customer.customer_number,
    )


@cache
def _days_net(language: str) -> str:
    from docgen.locale import load_labels  # the wording of the PDF, so both say the same

    return load_labels(language)["days_net"]


def next_number(session: Session, series: Series) -> int:
    """The next number of ``series``, taken in the caller's transaction under a lock on the
    series' counter row (made at its first number on first use)."""
    counter = session.get(InvoiceSeries, series.prefix, with_for_update=True)
    if counter is None:
        counter = InvoiceSeries(prefix=series.prefix, next_number=series.first_number)
        session.add(counter)
        session.flush()
    taken = counter.next_number
    counter.next_number = taken + 1
    return taken


def contract_for_billing(session: Session, contract_id: int) -> Contract:
    """The contract with its versions, lines and customer, its row locked (PostgreSQL)
    so two runs bill it one after the other."""
    if session.get_bind().dialect.name == "postgresql":  # SQLite: one writer at a time anyway
        session.execute(select(Contract.id).where(Contract.id == contract_id).with_for_update())
    return session.scalars(
        select(Contract)
        .where(Contract.id == contract_id)
        .options(
            selectinload(Contract.versions).selectinload(ContractVersion.lines),
            selectinload(Contract.customer),
        )
    ).one()


def billed_lines(session: Session, contract_id: int) -> list[BilledLine]:
    """Every contract charge the register billed or credited on this contract."""
    invoices = session.scalars(
        select(Invoice)
        .where(Invoice.contract_id == contract_id)
        .options(selectinload(Invoice.lines))
        .order_by(Invoice.id)
    ).all()
    found = (billed_line(invoice, row) for invoice in invoices for row in invoice.lines)
    return [line for line in found if line is not None]


def pending(
    contract: Contract, billed: list[BilledLine], through: date, bill_from: date | None
) -> list[Draft]:
    """The documents the contract's schedule through ``through`` still calls for, given
    what the register ``billed`` on it."""
    if contract.status == "draft" or not contract.versions:
        return []
    charges = owed(contract.versions, through, bill_from=bill_from, limits=billed_limits(billed))
    return drafts(charges, billed, bill_from)


@dataclass(frozen=True)
class Issued:
    number: str
    kind: DocumentKind
    total: Decimal
    currency: str
    remaining: int  # documents the contract still calls for after this one


def issue_next(
    session: Session, actor: str, issuer: Issuer, contract_id: int, *, through: date, today: date
) -> Issued | None:
    """Issue the first document contract ``contract_id`` calls for through ``through``
    (dated ``today``); None when its register is in line with its schedule."""
    contract = contract_for_billing(session, contract_id)
    billed = billed_lines(session, contract.id)
    waiting = pending(contract, billed, through, issuer.billing.bill_from)
    if not waiting:
        return None
    invoice = _issue(session, actor, issuer, contract, waiting[0], today)
    _mark_billed(session, contract.id, invoice, waiting[0], billed)
    return Issued(
        invoice.number,
        DocumentKind(invoice.kind),
        invoice.total,
        invoice.currency,
        len(waiting) - 1,
    )


def _issue(
    session: Session,
    actor: str,
    issuer: Issuer,
    contract: Contract,
    draft: Draft,
    today: date,
    note: str | None = None,
) -> Invoice:
    customer = contract.customer
    details = session.scalar(
        select(CustomerBilling).where(CustomerBilling.customer_id == customer.id)
    )
    buyer = buyer_party(customer, details)
    language = LANGUAGE_BY_COUNTRY.get(buyer.country, "en")
    credit = draft.kind is DocumentKind.CREDIT_NOTE
    series = issuer.billing.credit_note_series if credit else issuer.billing.invoice_series
    days = _payment_days(contract, issuer.billing)
    account = issuer.billing.account_for(draft.currency)
    corrected = session.get(Invoice, draft.corrects_id) if draft.corrects_id else None
    lines = _lines(draft, _vat_on(issuer, buyer.country, today, language), credit)
    sequence = next_number(session, series)
    invoice = Invoice(
        kind=str(draft.kind),
        number=f"{series.prefix}{sequence}",
        series=series.prefix,
        sequence=sequence,
        issue_date=today,
        due_date=None if credit else today + timedelta(days=days),
        currency=draft.currency,
        customer_id=customer.id,
        contract_id=contract.id,
        corrects_id=corrected.id if corrected else None,
        payment_reference=None if credit else account.reference.make(sequence),
        payment_account=None if credit else account_json(account.account),
        payment_terms=None if credit else f"{days} {_days_net(language)}",
        buyer_reference=(details.buyer_reference if details else None) or contract.contract_number,
        note=note,
        language=language,
        seller=party_json(issuer.seller),
        buyer=party_json(buyer),
        vat_rules_version=issuer.vat.version,
        billing_version=issuer.billing.version,
        created_by=actor,
        net_total=Decimal(0),
        vat_total=Decimal(0),
        total=Decimal(0),
    )
    converted = issuer.accounting_currency(draft.currency)
    if converted is not None:
        invoice.accounting_currency, invoice.accounting_rate = converted.code, converted.rate
    periods = [line.period for line, _ in lines if line.period is not None]
    if periods:
        invoice.period_start = min(period.start for period in periods)
        invoice.period_end = max(period.end for period in periods)
    invoice.lines = [
        _row(position, line, source) for position, (line, source) in enumerate(lines, 1)
    ]
    document = document_of(invoice, corrected)  # checks it whole before anything is written
    totals = document.totals
    invoice.net_total, invoice.vat_total, invoice.total = (
        totals.tax_exclusive, totals.vat_total, totals.payable
    )  # fmt: skip
    session.add(invoice)
    session.flush()
    after = snapshot(invoice) | {
        "lines": [snapshot(row, exclude=("id", "invoice_id")) for row in invoice.lines]
    }
    record(session, actor, f"{draft.kind}.issue", "invoice", invoice.id, None, after)
    return invoice


def issue_credit(
    session: Session, actor: str, issuer: Issuer, invoice: Invoice, reason: str, today: date
) -> Issued:
    """A credit note for what of ``invoice`` is not credited yet, naming it, with ``reason``
    as its note. Its lines reverse the invoice's charges as billed (same price, discount and
    VAT), so the register counts them unbilled: the next run bills again what the contract
    still owes, and a contract changed first is billed at its new terms."""
    if invoice.kind != str(DocumentKind.INVOICE) or invoice.contract_id is None:
        raise BillingError(f"{invoice.number} is not a contract's invoice: nothing to credit")
    contract = contract_for_billing(session, invoice.contract_id)
    billed = billed_lines(session, contract.id)
    draft = credit_draft(invoice, billed)
    if not draft.lines:
        raise BillingError(f"{invoice.number} is credited in full already")
    credit = _issue(session, actor, issuer, contract, draft, today, note=reason)
    _mark_billed(session, contract.id, credit, draft, billed)
    return Issued(credit.number, DocumentKind.CREDIT_NOTE, credit.total, credit.currency, 0)


def credit_draft(invoice: Invoice, billed: list[BilledLine]) -> Draft:
    """The credit note that reverses what ``invoice`` billed less what credit notes naming
    it reversed already, charge by charge."""
    left: dict[Charge, Decimal] = {}
    source: dict[Charge, BilledLine] = {}
    for line in billed:
        if line.document_id == invoice.id or line.corrects_id == invoice.id:
            left[line.charge] = left.get(line.charge, Decimal(0)) + line.quantity
            source.setdefault(line.charge, line)
    lines = tuple(
        DraftLine(charge, -quantity, source[charge].product, source[charge].vat)
        for charge, quantity in left.items()
        if quantity
    )
    return Draft(DocumentKind.CREDIT_NOTE, invoice.currency, lines, invoice.id)


def _payment_days(contract: Contract, billing: BillingSettings) -> int:
    """Days to pay: the contract's latest terms, else billing.yaml's."""
    latest = max(contract.versions, key=lambda version: version.version_no)
    return (
        billing.payment_terms_days
        if latest.payment_terms_days is None
        else latest.payment_terms_days
    )


def _vat_on(issuer: Issuer, buyer_country: str, day: date, language: str) -> Vat:
    """The VAT of a new charge to a buyer in ``buyer_country`` on ``day`` (rules/vat.py)."""
    treatment = vat_for(
        issuer.seller.country, buyer_country, day, language=language, rules=issuer.vat
    )
    return Vat(VatCategory(treatment.category), treatment.rate, treatment.note)


def _lines(draft: Draft, today_vat: Vat, credit: bool) -> list[tuple[Line, DraftLine]]:
    """The document's lines; on a credit note a reversal is a positive quantity (credited)
    and a charge a negative one. VAT groups keep the first wording they meet, so a reversal
    and a new charge at one rate never differ by a reworded note."""
    wording: dict[tuple[VatCategory, Decimal], str] = {}
    lines = []
    for position, item in enumerate(draft.lines, 1):
        vat = item.vat or today_vat
        reason = wording.setdefault((vat.category, vat.rate), vat.exemption_reason)
        charge = item.charge
        period = Period(charge.start, charge.end) if charge.start and charge.end else None
        line = Line(
            id=str(position),
            description=_description(item),
            quantity=-item.quantity if credit else item.quantity,
            unit_price=charge.unit_price,
            vat=Vat(vat.category, vat.rate, reason),
            discount_percent=charge.discount_percent,
            period=period,
            unit_code=UNIT_CODE,
        )
        lines.append((line, item))
    return lines


def _description(item: DraftLine) -> str:
    """The product, the days billed and, for part of a period, how many of its days: the
    figures speak every invoice language."""
    charge = item.charge
    if charge.start is None or charge.end is None:
        return item.product
    text = f"{item.product} {charge.start.isoformat()}–{charge.end.isoformat()}"
    if charge.prorated:
        text += f" ({charge.days}/{charge.period_days})"
    return text


def _row(position: int, line: Line, source: DraftLine) -> InvoiceLine:
    charge = source.charge
    return InvoiceLine(
        position=position,
        description=line.description,
        product=source.product,
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount_percent=line.discount_percent,
        unit_code=line.unit_code,
        vat_category=str(line.vat.category),
        vat_rate=line.vat.rate,
        vat_reason=line.vat.exemption_reason,
        net_amount=line.net_amount,
        contract_line_no=charge.line_no,
        period_key=charge.period_key,
        period_start=charge.start,
        period_end=charge.end,
        billing_period_end=charge.period_end,
        billing_period=charge.billing_period,
        billing_interval_months=charge.billing_interval_months,
    )


def _mark_billed(
    session: Session, contract_id: int, invoice: Invoice, draft: Draft, billed: list[BilledLine]
) -> None:
    """One ``BilledPeriod`` per billing period the document touches, numbered after the
    documents that touched it before (each of which has its own row)."""
    earlier: dict[tuple[int, date], set[int]] = {}
    for line in billed:
        key = (line.charge.line_no, line.charge.period_key)
        earlier.setdefault(key, set()).add(line.document_id)
    touched = sorted({(item.charge.line_no, item.charge.period_key) for item in draft.lines})
    session.add_all(
        BilledPeriod(
            contract_id=contract_id,
            line_no=line_no,
            period_start=period_key,
            adjustment_no=len(earlier.get((line_no, period_key), ())),
            invoice_id=invoice.id,
        )
        for line_no, period_key in touched
    )
    session.flush()


def stored_document(session: Session, invoice: Invoice) -> BillingDocument:
    """The document ``invoice`` was issued as (with the invoice a credit note corrects)."""
    corrected = session.get(Invoice, invoice.corrects_id) if invoice.corrects_id else None
    return document_of(invoice, corrected)
