"""An issued document as the register keeps it, and back: the ``Invoice`` row with its lines
made into the ``BillingDocument`` it was issued as, so the e-invoice, the PDF and the
accounting export are made from what was issued, never recomputed from the contract.

Parties are kept whole as JSON (``party_json``): a customer that moves or renames later
does not change an invoice it already has.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from avtale.billing.model import (
    AccountingCurrency,
    AccountScheme,
    BillingDocument,
    DocumentKind,
    Endpoint,
    InvoiceReference,
    Line,
    Party,
    PaymentAccount,
    Period,
    Vat,
    VatCategory,
)
from avtale.billing.reconcile import BilledLine
from avtale.billing.schedule import Charge
from avtale.repository.models import Invoice, InvoiceLine


def party_json(party: Party) -> dict[str, Any]:
    return {
        "name": party.name,
        "org_number": party.org_number,
        "country": party.country,
        "address_lines": list(party.address_lines),
        "city": party.city,
        "postal_code": party.postal_code,
        "vat_id": party.vat_id,
        "endpoint": (
            {"scheme": party.endpoint.scheme, "identifier": party.endpoint.identifier}
            if party.endpoint
            else None
        ),
        "tax_registration": party.tax_registration,
        "party_id": party.party_id,
    }


def party_from_json(data: dict[str, Any]) -> Party:
    endpoint = data.get("endpoint")
    return Party(
        name=data["name"],
        org_number=data["org_number"],
        country=data["country"],
        address_lines=tuple(data.get("address_lines") or ()),
        city=data.get("city") or "",
        postal_code=data.get("postal_code") or "",
        vat_id=data.get("vat_id"),
        endpoint=Endpoint(endpoint["scheme"], endpoint["identifier"]) if endpoint else None,
        tax_registration=data.get("tax_registration"),
        party_id=data.get("party_id"),
    )


def account_json(account: PaymentAccount) -> dict[str, Any]:
    return {"number": account.number, "scheme": str(account.scheme), "bic": account.bic}


def account_from_json(data: dict[str, Any] | None) -> PaymentAccount | None:
    if not data:
        return None
    return PaymentAccount(data["number"], AccountScheme(data["scheme"]), data.get("bic"))


def line_vat(row: InvoiceLine) -> Vat:
    return Vat(VatCategory(row.vat_category), Decimal(row.vat_rate), row.vat_reason)


def _period(start: date | None, end: date | None) -> Period | None:
    return Period(start, end) if start is not None and end is not None else None


def document_of(invoice: Invoice, corrected: Invoice | None = None) -> BillingDocument:
    """The document ``invoice`` was issued as; ``corrected``: the invoice a credit note
    names (its number and date go into the credit note)."""
    if invoice.corrects_id is not None and (
        corrected is None or corrected.id != invoice.corrects_id
    ):
        raise ValueError(f"{invoice.number}: give the invoice it corrects")
    rate = invoice.accounting_rate
    return BillingDocument(
        kind=DocumentKind(invoice.kind),
        number=invoice.number,
        issue_date=invoice.issue_date,
        currency=invoice.currency,
        seller=party_from_json(invoice.seller),
        buyer=party_from_json(invoice.buyer),
        lines=tuple(
            Line(
                id=str(row.position),
                description=row.description,
                quantity=Decimal(row.quantity),
                unit_price=Decimal(row.unit_price),
                vat=line_vat(row),
                discount_percent=Decimal(row.discount_percent),
                period=_period(row.period_start, row.period_end),
                unit_code=row.unit_code,
            )
            for row in invoice.lines
        ),
        due_date=invoice.due_date,
        period=_period(invoice.period_start, invoice.period_end),
        payment_reference=invoice.payment_reference,
        payment_account=account_from_json(invoice.payment_account),
        payment_terms=invoice.payment_terms,
        buyer_reference=invoice.buyer_reference,
        note=invoice.note,
        corrects=(InvoiceReference(corrected.number, corrected.issue_date) if corrected else None),
        accounting_currency=(
            AccountingCurrency(invoice.accounting_currency, Decimal(rate))
            if invoice.accounting_currency and rate is not None
            else None
        ),
    )


def billed_line(invoice: Invoice, row: InvoiceLine) -> BilledLine | None:
    """The contract charge a stored line billed (None for a line not from a contract)."""
    if row.contract_line_no is None or row.period_key is None:
        return None
    kind = DocumentKind(invoice.kind)
    charge = Charge(
        line_no=row.contract_line_no,
        period_key=row.period_key,
        start=row.period_start,
        end=row.period_end,
        period_end=row.billing_period_end,
        unit_price=Decimal(row.unit_price),
        discount_percent=Decimal(row.discount_percent),
        billing_period=row.billing_period or "",
        billing_interval_months=row.billing_interval_months,
        currency=invoice.currency,
    )
    sign = Decimal(1) if kind is DocumentKind.INVOICE else Decimal(-1)
    return BilledLine(
        charge=charge,
        quantity=sign * Decimal(row.quantity),
        product=row.product,
        document_id=invoice.id,
        document_kind=kind,
        corrects_id=invoice.corrects_id,
        vat=line_vat(row),
    )
