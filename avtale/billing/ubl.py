"""The e-invoice: a ``BillingDocument`` as a Peppol BIS Billing 3.0 UBL 2.1 Invoice or
CreditNote, which is EHF Billing 3.0 in Norway.

What the rules ask for and where it comes from (the official CEN EN 16931 and Peppol
Schematron in ``../shared/peppol/`` check every document the tests make):

- Endpoints (BT-34, BT-49, PEPPOL-EN16931-R010/R020): each party's registered Peppol
  address, else its registry number under its country's scheme (``model.NATIONAL_SCHEMES``:
  0192 Norway, 0007 Sweden, 0184 Denmark, …). Elements appear in UBL 2.1's schema order.
- Seller: VAT number (``NO<orgnr>MVA`` for Norway, NO-R-001) and, where given, the tax
  registration text under tax scheme "TAX": "Foretaksregisteret" (NO-R-002, a warning
  when missing) or "Godkänd för F-skatt" (SE-R-005); the legal entity with its registry
  number and scheme (DK-R-014 requires 0184 for Danish sellers).
- VAT: one TaxTotal with a TaxSubtotal per category and rate; reverse charge (AE) and
  export (G) carry the exemption code VATEX-EU-AE / VATEX-EU-G and the wording (BR-AE-10,
  BR-G-10). A document in another currency than the seller's books names that currency
  (TaxCurrencyCode, BT-6) and has a second TaxTotal with only the VAT in it (BT-111,
  PEPPOL-EN16931-R054).
- A line's discount is a line AllowanceCharge (reason code 95 "Discount") with the
  percentage and its base, so amount = base × percent / 100 (PEPPOL-EN16931-R040) and the
  line net = quantity × price − discount (R120).
- Payment: PaymentMeans 30 (credit transfer) with the KID or OCR as PaymentID and the
  account; Bankgiro and PlusGiro as Sweden's rules want them (FinancialInstitutionBranch
  ``SE:BANKGIRO`` / ``SE:PLUSGIRO``). An invoice's due date is at document level; UBL's
  CreditNote has none there, so a credit note's goes in PaymentMeans (UBL-CR-412 allows it).
- A credit note (381) refers to the invoice it corrects (BillingReference, BG-3).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from avtale.billing.model import (
    AccountScheme,
    BillingDocument,
    BillingError,
    DocumentKind,
    Line,
    Party,
    VatCategory,
    VatSubtotal,
    national_endpoint,
)

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
ROOT_NS = {
    DocumentKind.INVOICE: "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    DocumentKind.CREDIT_NOTE: "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}
INVOICE_TYPE = "380"  # commercial invoice
CREDIT_NOTE_TYPE = "381"
CREDIT_TRANSFER = "30"  # UNCL 4461
DISCOUNT_REASON = "95"  # UNCL 5189: discount
EXEMPTION_CODES = {
    VatCategory.REVERSE_CHARGE: "VATEX-EU-AE",
    VatCategory.EXPORT: "VATEX-EU-G",
}
GIRO_BRANCHES = {AccountScheme.BANKGIRO: "SE:BANKGIRO", AccountScheme.PLUSGIRO: "SE:PLUSGIRO"}


def to_ubl(document: BillingDocument) -> bytes:
    """``document`` as a UBL 2.1 XML document (UTF-8, with declaration); ``BillingError``
    for what Peppol requires that the document lacks."""
    _check_exportable(document)
    kind = document.kind
    root = etree.Element(
        f"{{{ROOT_NS[kind]}}}{'Invoice' if kind is DocumentKind.INVOICE else 'CreditNote'}",
        nsmap={None: ROOT_NS[kind], "cac": CAC, "cbc": CBC},
    )
    _header(root, document)
    _party(_add(root, "cac:AccountingSupplierParty"), document.seller, seller=True)
    _party(_add(root, "cac:AccountingCustomerParty"), document.buyer, seller=False)
    _payment(root, document)
    _tax_totals(root, document)
    _monetary_total(root, document)
    for line in document.lines:
        _line(root, document, line)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _check_exportable(document: BillingDocument) -> None:
    name = f"{document.kind.replace('_', ' ')} {document.number}"
    for role, party in (("seller", document.seller), ("buyer", document.buyer)):
        if party.electronic_address is None:
            raise BillingError(f"{name}: the {role} {party.name} has no Peppol address")
    if not (document.buyer_reference or document.order_reference):
        raise BillingError(f"{name} needs the buyer's reference or an order reference")
    if not document.seller.vat_id:
        raise BillingError(f"{name}: the seller needs a VAT number on an e-invoice")
    no_terms = document.due_date is None and not document.payment_terms
    if document.kind is DocumentKind.INVOICE and no_terms and document.totals.payable > 0:
        raise BillingError(f"{name} needs a due date or payment terms")  # BR-CO-25


def _add(
    parent: etree._Element, name: str, text: str | None = None, **attrs: str
) -> etree._Element:
    prefix, local = name.split(":")
    element = etree.SubElement(parent, f"{{{CAC if prefix == 'cac' else CBC}}}{local}", attrs)
    if text is not None:
        element.text = text
    return element


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _number(value: Decimal) -> str:
    """A quantity, price or percentage without exponent or trailing zeros."""
    text = f"{value.normalize():f}"
    return text if text != "-0" else "0"


def _day(value: date) -> str:
    return value.isoformat()


def _header(root: etree._Element, document: BillingDocument) -> None:
    invoice = document.kind is DocumentKind.INVOICE
    _add(root, "cbc:CustomizationID", CUSTOMIZATION_ID)
    _add(root, "cbc:ProfileID", PROFILE_ID)
    _add(root, "cbc:ID", document.number)
    _add(root, "cbc:IssueDate", _day(document.issue_date))
    if invoice and document.due_date:
        _add(root, "cbc:DueDate", _day(document.due_date))
    _add(root, "cbc:InvoiceTypeCode" if invoice else "cbc:CreditNoteTypeCode",
         INVOICE_TYPE if invoice else CREDIT_NOTE_TYPE)  # fmt: skip
    if document.note:
        _add(root, "cbc:Note", document.note)
    _add(root, "cbc:DocumentCurrencyCode", document.currency)
    if document.accounting_currency:
        _add(root, "cbc:TaxCurrencyCode", document.accounting_currency.code)
    if document.buyer_reference:
        _add(root, "cbc:BuyerReference", document.buyer_reference)
    if document.period:
        period = _add(root, "cac:InvoicePeriod")
        _add(period, "cbc:StartDate", _day(document.period.start))
        _add(period, "cbc:EndDate", _day(document.period.end))
    if document.order_reference:
        _add(_add(root, "cac:OrderReference"), "cbc:ID", document.order_reference)
    if document.corrects:
        reference = _add(_add(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        _add(reference, "cbc:ID", document.corrects.number)
        _add(reference, "cbc:IssueDate", _day(document.corrects.issue_date))


def _party(parent: etree._Element, party: Party, *, seller: bool) -> None:
    element = _add(parent, "cac:Party")
    endpoint = party.electronic_address
    assert endpoint is not None  # _check_exportable
    _add(element, "cbc:EndpointID", endpoint.identifier, schemeID=endpoint.scheme)
    if party.party_id:
        _add(_add(element, "cac:PartyIdentification"), "cbc:ID", party.party_id)
    _add(_add(element, "cac:PartyName"), "cbc:Name", party.name)
    _address(element, party)
    if party.vat_id:
        _tax_scheme(element, party.vat_id, "VAT")
    if seller and party.tax_registration:
        _tax_scheme(element, party.tax_registration, "TAX")
    legal = _add(element, "cac:PartyLegalEntity")
    _add(legal, "cbc:RegistrationName", party.name)
    registry = national_endpoint(party.country, party.org_number)
    if registry is not None:
        _add(legal, "cbc:CompanyID", registry.identifier, schemeID=registry.scheme)
    else:
        _add(legal, "cbc:CompanyID", party.org_number)


def _address(parent: etree._Element, party: Party) -> None:
    address = _add(parent, "cac:PostalAddress")
    lines = list(party.address_lines)
    for name in ("cbc:StreetName", "cbc:AdditionalStreetName"):
        if lines:
            _add(address, name, lines.pop(0))
    if party.city:
        _add(address, "cbc:CityName", party.city)
    if party.postal_code:
        _add(address, "cbc:PostalZone", party.postal_code)
    if lines:
        _add(_add(address, "cac:AddressLine"), "cbc:Line", lines.pop(0))
    _add(_add(address, "cac:Country"), "cbc:IdentificationCode", party.country)


def _tax_scheme(parent: etree._Element, company_id: str, scheme: str) -> None:
    element = _add(parent, "cac:PartyTaxScheme")
    _add(element, "cbc:CompanyID", company_id)
    _add(_add(element, "cac:TaxScheme"), "cbc:ID", scheme)


def _payment(root: etree._Element, document: BillingDocument) -> None:
    account = document.payment_account
    if account is not None or document.payment_reference is not None:
        _payment_means(root, document)
    if document.payment_terms:
        _add(_add(root, "cac:PaymentTerms"), "cbc:Note", document.payment_terms)


def _payment_means(root: etree._Element, document: BillingDocument) -> None:
    account = document.payment_account
    means = _add(root, "cac:PaymentMeans")
    _add(means, "cbc:PaymentMeansCode", CREDIT_TRANSFER)
    if document.kind is DocumentKind.CREDIT_NOTE and document.due_date:
        _add(means, "cbc:PaymentDueDate", _day(document.due_date))
    if document.payment_reference:
        _add(means, "cbc:PaymentID", document.payment_reference)
    if account is not None:
        financial = _add(means, "cac:PayeeFinancialAccount")
        _add(financial, "cbc:ID", account.number)
        branch = GIRO_BRANCHES.get(account.scheme, account.bic)
        if branch:
            _add(_add(financial, "cac:FinancialInstitutionBranch"), "cbc:ID", branch)


def _tax_category(parent: etree._Element, name: str, row: VatSubtotal | Line) -> None:
    category, rate, reason = (
        (row.category, row.rate, row.exemption_reason)
        if isinstance(row, VatSubtotal)
        else (row.vat.category, row.vat.rate, "")
    )
    element = _add(parent, name)
    _add(element, "cbc:ID", category)
    _add(element, "cbc:Percent", _number(rate))
    if (
        reason
    ):  # only in the breakdown: a line's category carries no reason (UBL-CR-600, UBL-CR-601)
        if category in EXEMPTION_CODES:
            _add(element, "cbc:TaxExemptionReasonCode", EXEMPTION_CODES[category])
        _add(element, "cbc:TaxExemptionReason", reason)
    _add(_add(element, "cac:TaxScheme"), "cbc:ID", "VAT")


def _tax_totals(root: etree._Element, document: BillingDocument) -> None:
    totals = document.totals
    currency = document.currency
    tax_total = _add(root, "cac:TaxTotal")
    _add(tax_total, "cbc:TaxAmount", _amount(totals.vat_total), currencyID=currency)
    for row in totals.vat_breakdown:
        subtotal = _add(tax_total, "cac:TaxSubtotal")
        _add(subtotal, "cbc:TaxableAmount", _amount(row.taxable_amount), currencyID=currency)
        _add(subtotal, "cbc:TaxAmount", _amount(row.vat_amount), currencyID=currency)
        _tax_category(subtotal, "cac:TaxCategory", row)
    if document.accounting_currency and totals.vat_in_accounting_currency is not None:
        _add(
            _add(root, "cac:TaxTotal"),
            "cbc:TaxAmount",
            _amount(totals.vat_in_accounting_currency),
            currencyID=document.accounting_currency.code,
        )


def _monetary_total(root: etree._Element, document: BillingDocument) -> None:
    totals = document.totals
    currency = document.currency
    element = _add(root, "cac:LegalMonetaryTotal")
    _add(element, "cbc:LineExtensionAmount", _amount(totals.line_net_total), currencyID=currency)
    _add(element, "cbc:TaxExclusiveAmount", _amount(totals.tax_exclusive), currencyID=currency)
    _add(element, "cbc:TaxInclusiveAmount", _amount(totals.tax_inclusive), currencyID=currency)
    _add(element, "cbc:PayableAmount", _amount(totals.payable), currencyID=currency)


def _line(root: etree._Element, document: BillingDocument, line: Line) -> None:
    invoice = document.kind is DocumentKind.INVOICE
    currency = document.currency
    element = _add(root, "cac:InvoiceLine" if invoice else "cac:CreditNoteLine")
    _add(element, "cbc:ID", line.id)
    _add(element, "cbc:InvoicedQuantity" if invoice else "cbc:CreditedQuantity",
         _number(line.quantity), unitCode=line.unit_code)  # fmt: skip
    _add(element, "cbc:LineExtensionAmount", _amount(line.net_amount), currencyID=currency)
    if line.period:
        period = _add(element, "cac:InvoicePeriod")
        _add(period, "cbc:StartDate", _day(line.period.start))
        _add(period, "cbc:EndDate", _day(line.period.end))
    if line.discount_percent:
        allowance = _add(element, "cac:AllowanceCharge")
        _add(allowance, "cbc:ChargeIndicator", "false")
        _add(allowance, "cbc:AllowanceChargeReasonCode", DISCOUNT_REASON)
        _add(allowance, "cbc:AllowanceChargeReason", "Discount")
        _add(allowance, "cbc:MultiplierFactorNumeric", _number(line.discount_percent))
        _add(allowance, "cbc:Amount", _amount(line.discount_amount), currencyID=currency)
        _add(allowance, "cbc:BaseAmount", _amount(line.gross_amount), currencyID=currency)
    item = _add(element, "cac:Item")
    _add(item, "cbc:Name", line.description)
    if line.product_code:
        _add(_add(item, "cac:SellersItemIdentification"), "cbc:ID", line.product_code)
    _tax_category(item, "cac:ClassifiedTaxCategory", line)
    price = _add(element, "cac:Price")
    _add(price, "cbc:PriceAmount", _number(line.unit_price), currencyID=currency)
