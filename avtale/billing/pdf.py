"""The PDF of an issued invoice or credit note: docgen's invoice template (SPEC D5) filled
from the register's stored lines and totals, never from the contract, so the PDF says what
the e-invoice and the books say. Made once, on first asking, and stored on the contract by
its hash like every generated document.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

import docgen
from avtale.billing.config import billing_file, load_billing
from avtale.billing.model import (
    AccountScheme,
    BillingDocument,
    BillingError,
    PaymentAccount,
    VatSubtotal,
)
from avtale.billing.register import stored_document
from avtale.repository import generation, orgnumbers
from avtale.repository.audit import record
from avtale.repository.library import latest_template
from avtale.repository.models import Contract, Document, Invoice
from avtale.repository.validation import ValidationError
from avtale.settings import Paths

TEMPLATE_KEY = "invoice"


def _address(party: dict[str, Any]) -> str | None:
    place = " ".join(filter(None, (party.get("postal_code"), party.get("city"))))
    parts = [*party.get("address_lines", []), place]
    return ", ".join(part for part in parts if part) or None


def _seller(paths: Paths, invoice: Invoice) -> dict[str, Any]:
    """The seller as issued (name, number, address), with today's contact details and logo.
    The number is printed as seller.yaml writes it ("NO 999 888 771 MVA") followed by the
    registration words (Foretaksregisteret), as Norwegian invoices must show them."""
    issued = invoice.seller
    me = generation.seller(paths)
    printed = me.get("org_number") or ""
    if orgnumbers.compact(issued["country"], printed) != issued["org_number"]:
        printed = issued["org_number"]  # seller.yaml has moved on: the number as issued
    if issued.get("tax_registration"):
        printed = f"{printed} {issued['tax_registration']}"
    return me | {
        "name": issued["name"],
        "org_number": printed,
        "address": me.get("address") or _address(issued),
    }


def _lines(invoice: Invoice) -> list[dict[str, Any]]:
    return [
        {
            # The description already names the product: the template would print it twice.
            "product": None,
            "description": row.description,
            "quantity": Decimal(row.quantity),
            "unit_price": Decimal(row.unit_price),
            "discount_percent": Decimal(row.discount_percent),
            "discount_end_date": None,
            "billing_period": row.billing_period or "one_off",
            "billing_interval_months": row.billing_interval_months,
            "period_amount": Decimal(row.net_amount),
            "mrr": Decimal(0),
            "recurring": (row.billing_period or "one_off") != "one_off",
        }
        for row in invoice.lines
    ]


def _vat_rows(breakdown: tuple[VatSubtotal, ...]) -> list[dict[str, Any]]:
    return [
        {
            "category": str(row.category),
            "rate": row.rate,
            "base": row.taxable_amount,
            "vat": row.vat_amount,
        }
        for row in breakdown
    ]


def _reference_kind(paths: Paths, currency: str) -> str | None:
    """KID or OCR. The register keeps the reference but not its kind: that is billing.yaml's
    rule for the currency, which made it (None once billing.yaml has no account for it)."""
    try:
        return str(load_billing(billing_file(paths.home)).account_for(currency).reference.kind)
    except BillingError:
        return None


def _grouped(account: PaymentAccount) -> str:
    """The number as a payer types it: an IBAN in fours, a Norwegian account 4-2-5."""
    number = account.number
    if account.scheme is AccountScheme.IBAN:
        return " ".join(number[start : start + 4] for start in range(0, len(number), 4))
    if account.scheme is AccountScheme.DOMESTIC and len(number) == 11 and number.isdigit():
        return f"{number[:4]} {number[4:6]} {number[6:]}"
    return number


def _payment(paths: Paths, document: BillingDocument) -> dict[str, Any]:
    """Where and with what reference the buyer pays; nothing for a credit note."""
    account = document.payment_account
    if document.payment_reference is None and account is None:
        return {}
    return {
        "payment_reference": document.payment_reference,
        "payment_reference_kind": _reference_kind(paths, document.currency),
        "account": _grouped(account) if account else None,
        "account_scheme": str(account.scheme) if account else None,
        "bic": account.bic if account else None,
    }


def invoice_context(
    paths: Paths, invoice: Invoice, document: BillingDocument, contract_number: str | None
) -> dict[str, Any]:
    """What the invoice template sees (docs/documents.md) for a stored document."""
    totals = document.totals
    terms_days = (invoice.due_date - invoice.issue_date).days if invoice.due_date else None
    rates = {row.rate for row in totals.vat_breakdown}
    notes = [row.exemption_reason for row in totals.vat_breakdown if row.exemption_reason]
    buyer = invoice.buyer
    return {
        "document": {
            "number": invoice.number,
            "title": invoice.number,
            "purpose": "invoice",
            "language": invoice.language,
            "date": invoice.issue_date,
            "version": 1,
            "status": "final",
        },
        "seller": _seller(paths, invoice),
        "customer": {
            "name": buyer["name"],
            "customer_number": buyer.get("party_id"),
            "org_number": buyer["org_number"],
            "country": buyer["country"],
            "address": _address(buyer),
        },
        "contract": {
            "number": contract_number,
            "title": None,
            "currency": invoice.currency,
            "payment_terms_days": terms_days,
        },
        "lines": _lines(invoice),
        "totals": {"mrr": None, "arr": None, "one_off": None, "currency": invoice.currency},
        "invoice": {
            "kind": invoice.kind,
            "corrects": document.corrects.number if document.corrects else None,
            "number": invoice.number,
            "issue_date": invoice.issue_date,
            "due_date": invoice.due_date or invoice.issue_date,
            "period_start": invoice.period_start,
            "period_end": invoice.period_end,
            "net": totals.tax_exclusive,
            "vat_rate": rates.pop() if len(rates) == 1 else None,
            "vat_category": totals.vat_breakdown[0].category if totals.vat_breakdown else None,
            "vat_note": " · ".join(notes) or None,
            "vat": totals.vat_total,
            "gross": totals.payable,
            "vat_breakdown": _vat_rows(totals.vat_breakdown),
            **_payment(paths, document),
        },
        "signatories": {"seller": {"name": "", "title": ""}, "customer": {"name": "", "title": ""}},
        "changes": [],
        "clauses": [],
        "free_text": "",
    }


@dataclass(frozen=True)
class InvoicePdfJob:
    """An invoice's PDF before its layout: the filled-in template and what the stored
    document will say it was made from."""

    job: docgen.PdfJob
    source: dict[str, Any]


def stored_pdf(session: Session, invoice: Invoice) -> Document | None:
    """The PDF made of ``invoice`` earlier, if there is one."""
    if invoice.pdf_document_id is None:
        return None
    return session.get(Document, invoice.pdf_document_id)


def invoice_pdf_job(session: Session, paths: Paths, invoice: Invoice) -> InvoicePdfJob:
    """What ``invoice_pdf`` lays out for ``invoice``: the latest invoice template, filled."""
    template = latest_template(session, TEMPLATE_KEY)
    if template is None or template.purpose != "invoice":
        raise ValidationError({"template": f"{TEMPLATE_KEY} is not an invoice template"})
    context = invoice_context(
        paths, invoice, stored_document(session, invoice), _number(session, invoice)
    )
    source = {
        "template": {"key": template.key, "version": template.version_no, "id": template.id},
        "purpose": "invoice",
        "language": invoice.language,
        "invoice": invoice.number,
    }
    return InvoicePdfJob(generation.pdf_job(template, context), source)


def invoice_pdf(
    session: Session,
    actor: str,
    paths: Paths,
    invoice: Invoice,
    laid_out: tuple[InvoicePdfJob, bytes | Exception] | None = None,
) -> Document:
    """The stored PDF of ``invoice``, made and stored now if it has none yet; ``laid_out``
    is its job and PDF made ahead, in a batch (``avtale.services.invoices.InvoicePdfs``)."""
    existing = stored_pdf(session, invoice)
    if existing is not None:
        return existing
    if laid_out is None:
        job = invoice_pdf_job(session, paths, invoice)
        laid_out = job, docgen.html_to_pdf(job.job.html)
    job, content = laid_out
    if isinstance(content, Exception):
        raise content
    contract = session.get(Contract, invoice.contract_id) if invoice.contract_id else None
    document = generation.store_document(
        session, actor, paths, job.job.rendered(content), f"{invoice.number}.pdf", job.source,
        contract=contract, proposal=None, doc_version=None,
    )  # fmt: skip
    if contract is None:
        document.customer_id = invoice.customer_id
    invoice.pdf_document_id = document.id
    record(
        session, actor, "invoice.pdf", "invoice", invoice.id, None, {"pdf_document_id": document.id}
    )
    return document


def _number(session: Session, invoice: Invoice) -> str | None:
    """The number of the contract ``invoice`` bills, if it bills one."""
    contract = session.get(Contract, invoice.contract_id) if invoice.contract_id else None
    return contract.contract_number if contract else None
