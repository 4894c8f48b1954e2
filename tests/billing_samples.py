"""Invoices and credit notes for the billing tests: the cases the e-invoice must get right.

Organisation numbers are fictional but carry valid check digits (Peppol checks them);
VAT treatments come from the real rule (``avtale.rules.vat``), as the register will use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

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
    vat_identifier,
)
from avtale.billing.references import KidMethod, make_kid, make_ocr
from avtale.rules.vat import vat_for

ISSUED = date(2026, 3, 1)
DUE = date(2026, 3, 15)
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))

NO_SELLER = Party(
    name="Avtale Demo AS",
    org_number="999888771",
    country="NO",
    address_lines=("Storgata 1",),
    city="Oslo",
    postal_code="0155",
    vat_id=vat_identifier("NO", "999888771"),
    tax_registration="Foretaksregisteret",
)
SE_SELLER = Party(
    name="Avtale Sverige AB",
    org_number="5591234561",
    country="SE",
    address_lines=("Drottninggatan 10",),
    city="Stockholm",
    postal_code="111 51",
    vat_id=vat_identifier("SE", "5591234561"),
    tax_registration="Godkänd för F-skatt",
)
NO_BUYER = Party(
    name="Fjordkraft Kunde AS",
    org_number="987654325",
    country="NO",
    address_lines=("Bryggen 3", "Postboks 12"),
    city="Bergen",
    postal_code="5003",
    vat_id=vat_identifier("NO", "987654325"),
    party_id="10042",
)
DK_BUYER = Party(
    name="Øresund Kunde ApS",
    org_number="13748136",
    country="DK",
    address_lines=("Strandvejen 100",),
    city="Hellerup",
    postal_code="2900",
    vat_id=vat_identifier("DK", "13748136"),
    party_id="10043",
)
SE_BUYER = Party(
    name="Mälardalen Kund AB",
    org_number="5566778899",
    country="SE",
    address_lines=("Kungsgatan 5",),
    city="Västerås",
    postal_code="722 11",
    vat_id=vat_identifier("SE", "5566778899"),
    party_id="10044",
)
US_BUYER = Party(
    name="Boston Customer Inc.",
    org_number="04-1234567",
    country="US",
    address_lines=("1 Main Street",),
    city="Boston",
    postal_code="02108",
    endpoint=Endpoint("0060", "123456789"),  # D-U-N-S: no national scheme to fall back on
    party_id="10045",
)
NO_ACCOUNT = PaymentAccount("NO93 8601 1117 947", AccountScheme.IBAN, bic="DNBANOKK")
SE_BANKGIRO = PaymentAccount("5402-9681", AccountScheme.BANKGIRO)


def standard(rate: str = "25") -> Vat:
    return Vat(VatCategory.STANDARD, Decimal(rate))


def treatment(seller: Party, buyer: Party, language: str = "en") -> Vat:
    rule = vat_for(seller.country, buyer.country, ISSUED, language=language)
    return Vat(VatCategory(rule.category), rule.rate, rule.note)


def subscription(vat: Vat, line_id: str = "1", price: str = "1000", **changes: object) -> Line:
    line = Line(
        id=line_id,
        description="Avtale Pro, monthly subscription",
        quantity=Decimal(1),
        unit_price=Decimal(price),
        vat=vat,
        period=MARCH,
        unit_code="MON",
        product_code="PRO-M",
    )
    return replace(line, **changes)  # type: ignore[arg-type]


def invoice(seller: Party, buyer: Party, lines: list[Line], **changes: object) -> BillingDocument:
    norwegian = seller.country == "NO"
    document = BillingDocument(
        kind=DocumentKind.INVOICE,
        number="2026-1001",
        issue_date=ISSUED,
        due_date=DUE,
        currency="NOK" if norwegian else "SEK",
        seller=seller,
        buyer=buyer,
        lines=tuple(lines),
        period=MARCH,
        payment_reference=(
            make_kid("100421001", KidMethod.MOD10)
            if norwegian
            else make_ocr("100421001", length_digit=True)
        ),
        payment_account=NO_ACCOUNT if norwegian else SE_BANKGIRO,
        payment_terms="14 days net",
        buyer_reference="Kari Kjøper",
        order_reference="PO-77",
    )
    return replace(document, **changes)  # type: ignore[arg-type]


def norwegian_domestic() -> BillingDocument:
    return invoice(NO_SELLER, NO_BUYER, [subscription(standard())])


def norway_to_denmark() -> BillingDocument:
    return invoice(NO_SELLER, DK_BUYER, [subscription(treatment(NO_SELLER, DK_BUYER, "da"))])


def norway_to_sweden() -> BillingDocument:
    return invoice(NO_SELLER, SE_BUYER, [subscription(treatment(NO_SELLER, SE_BUYER, "nb"))])


def swedish_domestic() -> BillingDocument:
    return invoice(SE_SELLER, SE_BUYER, [subscription(treatment(SE_SELLER, SE_BUYER))])


def norway_export() -> BillingDocument:
    export = Vat(VatCategory.EXPORT, Decimal(0), "Export outside the EEA / Utførsel")
    return invoice(NO_SELLER, US_BUYER, [subscription(export)], buyer_reference=None)


def mixed_rates() -> BillingDocument:
    return invoice(
        NO_SELLER,
        NO_BUYER,
        [
            subscription(standard("25"), "1"),
            subscription(standard("15"), "2", description="Canteen service", price="333.33"),
            subscription(standard("12"), "3", description="Event tickets", price="99.90"),
            subscription(
                Vat(VatCategory.ZERO_RATED, Decimal(0)), "4", description="Newspaper", price="50"
            ),
        ],
    )


def discount_line() -> BillingDocument:
    return invoice(
        NO_SELLER,
        NO_BUYER,
        [
            subscription(standard(), "1", quantity=Decimal(3), discount_percent=Decimal("12.5")),
            # A credit inside an invoice: a negative quantity at a positive price (BR-27).
            subscription(
                standard(),
                "2",
                description="Credit for 5 days of downtime",
                price="161.29",
                quantity=Decimal(-1),
                unit_code="EA",
                product_code=None,
            ),  # fmt: skip
        ],
    )


def one_off_line() -> BillingDocument:
    setup = Line(
        id="2",
        description="Onboarding and setup (once)",
        quantity=Decimal(1),
        unit_price=Decimal("4990"),
        vat=standard(),
        product_code="SETUP",
    )
    return invoice(NO_SELLER, NO_BUYER, [subscription(standard()), setup])


def full_discount_line() -> BillingDocument:
    free = subscription(standard(), "2", description="Avtale Insights (free first month)",
                        price="499", discount_percent=Decimal(100))  # fmt: skip
    return invoice(NO_SELLER, NO_BUYER, [subscription(standard()), free])


def credit_note() -> BillingDocument:
    return replace(
        norwegian_domestic(),
        kind=DocumentKind.CREDIT_NOTE,
        number="2026-5001",
        issue_date=date(2026, 3, 20),
        due_date=date(2026, 3, 20),
        note="Credited: the contract ended on 2026-03-15",
        corrects=InvoiceReference("2026-1001", ISSUED),
        payment_reference=None,
        payment_account=None,
        payment_terms=None,
        lines=(subscription(standard(), quantity=Decimal("0.5")),),
    )


def euro_invoice() -> BillingDocument:
    return replace(
        norwegian_domestic(),
        currency="EUR",
        accounting_currency=AccountingCurrency("NOK", Decimal("11.4523")),
        lines=(subscription(standard(), price="89.90", quantity=Decimal(7)),),
    )


CASES: dict[str, Callable[[], BillingDocument]] = {
    "norwegian seller to norwegian business": norwegian_domestic,
    "norwegian seller to danish business (reverse charge)": norway_to_denmark,
    "norwegian seller to swedish business (reverse charge)": norway_to_sweden,
    "swedish seller to swedish business": swedish_domestic,
    "norwegian seller to american business (export)": norway_export,
    "mixed vat rates": mixed_rates,
    "discount line and a credit line": discount_line,
    "one-off line": one_off_line,
    "100 % discount line": full_discount_line,
    "credit note": credit_note,
    "euro invoice with vat in nok": euro_invoice,
}
