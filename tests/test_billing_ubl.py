"""The e-invoice: every document billing makes passes the official CEN EN 16931 and Peppol
BIS Billing 3.0 Schematron (``../shared/peppol/``) without a fatal assert, and says what
the case needs (category and rate, reverse-charge wording, endpoints, references). The
validator itself is shown to pass the official examples and to fail broken documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest
from lxml import etree

from avtale.billing.model import BillingDocument, BillingError
from avtale.billing.ubl import to_ubl
from tests import billing_samples as samples
from tests.peppol import PEPPOL_DIR, Schematron, peppol

__all__ = ["peppol"]

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
OFFICIAL_EXAMPLES = sorted(PEPPOL_DIR.glob("*.xml"))


def xml_of(document: BillingDocument) -> etree._Element:
    return etree.fromstring(to_ubl(document))


def texts(root: etree._Element, path: str) -> list[str]:
    return [str(value) for value in root.xpath(path, namespaces=NS)]


def breakdown(root: etree._Element) -> list[tuple[str, str, str, str]]:
    """(category, percent, taxable, tax) per TaxSubtotal."""
    return [
        (
            subtotal.findtext("cac:TaxCategory/cbc:ID", namespaces=NS),
            subtotal.findtext("cac:TaxCategory/cbc:Percent", namespaces=NS),
            subtotal.findtext("cbc:TaxableAmount", namespaces=NS),
            subtotal.findtext("cbc:TaxAmount", namespaces=NS),
        )
        for subtotal in root.iterfind("cac:TaxTotal/cac:TaxSubtotal", NS)
    ]


@pytest.mark.parametrize("example", OFFICIAL_EXAMPLES, ids=lambda path: path.name)
def test_the_official_examples_pass(peppol: Schematron, example: object) -> None:
    assert peppol.fatal(example) == []  # type: ignore[arg-type]


def test_a_wrong_customization_id_fails_with_r004(peppol: Schematron) -> None:
    example = (PEPPOL_DIR / "base-example.xml").read_bytes()
    broken = example.replace(b"poacc:billing:3.0</cbc:", b"poacc:billing:2.0</cbc:")
    assert broken != example
    assert [(found.rule_set, found.id) for found in peppol.fatal(broken)] == [
        ("PEPPOL-EN16931-UBL", "PEPPOL-EN16931-R004")
    ]


def test_a_total_that_does_not_add_up_fails(peppol: Schematron) -> None:
    xml = to_ubl(samples.norwegian_domestic())
    broken = xml.replace(
        b'<cbc:PayableAmount currencyID="NOK">1250.00',
        b'<cbc:PayableAmount currencyID="NOK">1250.01',
    )
    assert broken != xml
    assert {found.id for found in peppol.fatal(broken)} == {"BR-CO-16"}


@pytest.mark.parametrize("make", samples.CASES.values(), ids=samples.CASES.keys())
def test_every_document_passes_both_rule_sets(
    peppol: Schematron, make: Callable[[], BillingDocument]
) -> None:
    # Not even a warning: NO-R-002 (Foretaksregisteret) and SE-R-* are warnings we meet.
    assert peppol.validate(to_ubl(make())) == []


def test_a_norwegian_seller_to_a_norwegian_business_charges_s_25() -> None:
    root = xml_of(samples.norwegian_domestic())
    assert breakdown(root) == [("S", "25", "1000.00", "250.00")]
    seller = "cac:AccountingSupplierParty/cac:Party"
    assert texts(root, f"{seller}/cbc:EndpointID/@schemeID") == ["0192"]
    assert texts(root, f"{seller}/cac:PartyTaxScheme/cbc:CompanyID/text()") == [
        "NO999888771MVA",
        "Foretaksregisteret",
    ]
    assert texts(root, "cac:PaymentMeans/cbc:PaymentID/text()") == ["1004210017"]
    assert texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount/text()") == ["1250.00"]


def test_reverse_charge_to_denmark_says_so_in_danish_and_english() -> None:
    root = xml_of(samples.norway_to_denmark())
    assert breakdown(root) == [("AE", "0", "1000.00", "0.00")]
    category = "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory"
    assert texts(root, f"{category}/cbc:TaxExemptionReasonCode/text()") == ["VATEX-EU-AE"]
    assert texts(root, f"{category}/cbc:TaxExemptionReason/text()") == [
        "Omvendt betalingspligt / Reverse charge"
    ]
    buyer = "cac:AccountingCustomerParty/cac:Party"
    assert texts(root, f"{buyer}/cbc:EndpointID/@schemeID") == ["0184"]
    assert texts(root, f"{buyer}/cbc:EndpointID/text()") == ["13748136"]


def test_a_swedish_seller_uses_bankgiro_ocr_and_f_tax() -> None:
    root = xml_of(samples.swedish_domestic())
    assert breakdown(root) == [("S", "25", "1000.00", "250.00")]
    seller = "cac:AccountingSupplierParty/cac:Party"
    assert texts(root, f"{seller}/cbc:EndpointID/@schemeID") == ["0007"]
    assert texts(root, f"{seller}/cac:PartyTaxScheme/cbc:CompanyID/text()") == [
        "SE559123456101",
        "Godkänd för F-skatt",
    ]
    account = "cac:PaymentMeans/cac:PayeeFinancialAccount"
    assert texts(root, f"{account}/cbc:ID/text()") == ["54029681"]
    assert texts(root, f"{account}/cac:FinancialInstitutionBranch/cbc:ID/text()") == ["SE:BANKGIRO"]
    # 100421001, length digit 1 (11 digits), Luhn check digit 4
    assert texts(root, "cac:PaymentMeans/cbc:PaymentID/text()") == ["10042100114"]


def test_mixed_rates_get_a_subtotal_each() -> None:
    root = xml_of(samples.mixed_rates())
    assert breakdown(root) == [
        ("S", "25", "1000.00", "250.00"),
        ("S", "15", "333.33", "50.00"),  # 49.9995
        ("S", "12", "99.90", "11.99"),  # 11.988
        ("Z", "0", "50.00", "0.00"),
    ]
    assert texts(root, "cac:TaxTotal/cbc:TaxAmount/text()") == ["311.99"]


def test_a_discount_is_a_line_allowance_with_percent_and_base() -> None:
    root = xml_of(samples.discount_line())
    allowance = "cac:InvoiceLine[cbc:ID='1']/cac:AllowanceCharge"
    assert texts(root, f"{allowance}/cbc:MultiplierFactorNumeric/text()") == ["12.5"]
    assert texts(root, f"{allowance}/cbc:BaseAmount/text()") == ["3000.00"]
    assert texts(root, f"{allowance}/cbc:Amount/text()") == ["375.00"]
    assert texts(root, "cac:InvoiceLine/cbc:LineExtensionAmount/text()") == ["2625.00", "-161.29"]
    assert breakdown(root) == [("S", "25", "2463.71", "615.93")]  # 615.9275


def test_a_full_discount_leaves_a_zero_line() -> None:
    root = xml_of(samples.full_discount_line())
    assert texts(root, "cac:InvoiceLine[cbc:ID='2']/cbc:LineExtensionAmount/text()") == ["0.00"]
    assert texts(root, "cac:InvoiceLine[cbc:ID='2']/cac:AllowanceCharge/cbc:Amount/text()") == [
        "499.00"
    ]


def test_a_one_off_line_has_no_period() -> None:
    root = xml_of(samples.one_off_line())
    assert texts(root, "cac:InvoiceLine[cbc:ID='1']/cac:InvoicePeriod/cbc:EndDate/text()") == [
        "2026-03-31"
    ]
    assert root.xpath("cac:InvoiceLine[cbc:ID='2']/cac:InvoicePeriod", namespaces=NS) == []


def test_a_credit_note_refers_to_the_invoice_it_corrects() -> None:
    root = xml_of(samples.credit_note())
    assert etree.QName(root).localname == "CreditNote"
    assert texts(root, "cbc:CreditNoteTypeCode/text()") == ["381"]
    reference = "cac:BillingReference/cac:InvoiceDocumentReference"
    assert texts(root, f"{reference}/cbc:ID/text()") == ["2026-1001"]
    assert texts(root, f"{reference}/cbc:IssueDate/text()") == ["2026-03-01"]
    assert texts(root, "cac:CreditNoteLine/cbc:CreditedQuantity/text()") == ["0.5"]
    assert texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount/text()") == ["625.00"]


def test_a_euro_invoice_states_its_vat_in_nok() -> None:
    root = xml_of(samples.euro_invoice())
    assert texts(root, "cbc:TaxCurrencyCode/text()") == ["NOK"]
    # 7 × 89.90 = 629.30; VAT 157.325 → 157.33; in NOK 157.33 × 11.4523 = 1801.790… → 1801.79
    assert breakdown(root) == [("S", "25", "629.30", "157.33")]
    assert texts(root, "cac:TaxTotal[not(cac:TaxSubtotal)]/cbc:TaxAmount/text()") == ["1801.79"]
    assert texts(root, "cac:TaxTotal[not(cac:TaxSubtotal)]/cbc:TaxAmount/@currencyID") == ["NOK"]


def test_export_outside_the_eea_is_category_g_to_the_buyers_own_address() -> None:
    root = xml_of(samples.norway_export())
    assert breakdown(root) == [("G", "0", "1000.00", "0.00")]
    buyer = "cac:AccountingCustomerParty/cac:Party/cbc:EndpointID"
    assert texts(root, f"{buyer}/@schemeID") == ["0060"]


def test_without_foretaksregisteret_a_norwegian_seller_gets_the_no_r_002_warning(
    peppol: Schematron,
) -> None:
    seller = replace(samples.NO_SELLER, tax_registration=None)
    found = peppol.validate(to_ubl(replace(samples.norwegian_domestic(), seller=seller)))
    assert [(item.flag, item.id) for item in found] == [("warning", "NO-R-002")]


def test_an_organisation_number_with_a_wrong_check_digit_is_fatal(peppol: Schematron) -> None:
    # The demo seller's 999 888 777 (avtale/config/seller.yaml) is such a number.
    seller = replace(samples.NO_SELLER, org_number="999888777", vat_id="NO999888777MVA")
    found = peppol.fatal(to_ubl(replace(samples.norwegian_domestic(), seller=seller)))
    assert {item.id for item in found} == {"PEPPOL-COMMON-R041", "NO-R-001"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"buyer_reference": None, "order_reference": None}, "buyer's reference or an order"),
        ({"due_date": None, "payment_terms": None}, "due date or payment terms"),
        ({"seller": replace(samples.NO_SELLER, vat_id=None)}, "seller needs a VAT number"),
        ({"buyer": replace(samples.US_BUYER, endpoint=None)}, "has no Peppol address"),
    ],
)
def test_what_peppol_requires_is_asked_for_before_writing(
    changes: dict[str, object], message: str
) -> None:
    document = replace(samples.norwegian_domestic(), **changes)  # type: ignore[arg-type]
    with pytest.raises(BillingError, match=message):
        to_ubl(document)


def test_amounts_are_written_with_two_decimals_and_prices_as_given() -> None:
    document = replace(
        samples.norwegian_domestic(),
        lines=(samples.subscription(samples.standard(), price="0.125", quantity=Decimal(8)),),
    )
    root = xml_of(document)
    assert texts(root, "cac:InvoiceLine/cac:Price/cbc:PriceAmount/text()") == ["0.125"]
    assert texts(root, "cac:InvoiceLine/cbc:LineExtensionAmount/text()") == ["1.00"]
