"""Totals per EN 16931, worked by hand for the rounding edge cases, and the documents the
model refuses to issue."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from avtale.billing.model import (
    AccountingCurrency,
    BillingError,
    DocumentKind,
    InvoiceReference,
    Line,
    Party,
    Period,
    Vat,
    VatCategory,
    compute_totals,
    national_endpoint,
    vat_identifier,
)
from tests import billing_samples as samples

S25 = Vat(VatCategory.STANDARD, Decimal(25))
S15 = Vat(VatCategory.STANDARD, Decimal(15))
AE = Vat(VatCategory.REVERSE_CHARGE, Decimal(0), "Reverse charge")


def line(
    price: str, quantity: str = "1", discount: str = "0", *, vat: Vat = S25, n: int = 1
) -> Line:
    return Line(
        id=str(n),
        description="Service",
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        vat=vat,
        discount_percent=Decimal(discount),
    )


def lines(*specs: tuple[str, ...], vat: Vat = S25) -> list[Line]:
    return [line(*spec, vat=vat, n=n) for n, spec in enumerate(specs, 1)]


# (lines, [(category, rate, taxable, vat)], total without VAT, VAT, total with VAT), by hand.
CASES = {
    # Each 0.005 line rounds half up to 0.01; VAT on the 0.03 total is 0.0075 → 0.01.
    # VAT per line would be 0.0025 → 0.00 each, 0.00 in all.
    "three half-cent lines": (
        lines(("0.005",), ("0.005",), ("0.005",)),
        [("S", "25", "0.03", "0.01")], "0.03", "0.01", "0.04",
    ),
    # 200 lines of 0.125 → 0.13 each, 26.00; VAT 6.50 (per line 0.0325 → 0.03, 6.00).
    "two hundred eighth-of-a-krone lines": (
        [line("0.125", n=n) for n in range(1, 201)],
        [("S", "25", "26.00", "6.50")], "26.00", "6.50", "32.50",
    ),
    # Half a cent goes away from zero: −0.005 → −0.01; 10.00 − 0.01 = 9.99; 2.4975 → 2.50.
    "a negative half cent": (
        lines(("10",), ("0.005", "-1")),
        [("S", "25", "9.99", "2.50")], "9.99", "2.50", "12.49",
    ),
    # 3 × 33.333 = 99.999 → 100.00; 12.5 % of it 12.50; net 87.50; VAT 21.875 → 21.88.
    "quantity times price, then the discount": (
        lines(("33.333", "3", "12.5")),
        [("S", "25", "87.50", "21.88")], "87.50", "21.88", "109.38",
    ),
    # The discount is rounded on its own: 50 % of 0.99 = 0.495 → 0.50, so the net is 0.49.
    "a discount of half a cent": (
        lines(("0.99", "1", "50")),
        [("S", "25", "0.49", "0.12")], "0.49", "0.12", "0.61",
    ),
    # A 100 % discount leaves nothing, and no VAT.
    "a full discount": (
        lines(("499", "1", "100")),
        [("S", "25", "0.00", "0.00")], "0.00", "0.00", "0.00",
    ),
    # 17 of 31 days: 1000 × 17/31 = 548.387… → 548.39; VAT 137.0975 → 137.10.
    "a pro rata quantity": (
        [line("1000", str(Decimal(17) / Decimal(31)))],
        [("S", "25", "548.39", "137.10")], "548.39", "137.10", "685.49",
    ),
    # Each rate rounds on its own sum: 0.04 × 25 % = 0.01; 0.10 × 15 % = 0.015 → 0.02.
    "two rates, each rounded once": (
        [line("0.02", n=1), line("0.02", n=2), line("0.10", vat=S15, n=3),
         line("100", vat=AE, n=4)],
        [("S", "25", "0.04", "0.01"), ("S", "15", "0.10", "0.02"), ("AE", "0", "100.00", "0.00")],
        "100.14", "0.03", "100.17",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("specs", "breakdown", "net", "vat", "gross"), CASES.values(), ids=CASES)
def test_totals_worked_by_hand(
    specs: list[Line], breakdown: list[tuple[str, ...]], net: str, vat: str, gross: str
) -> None:
    totals = compute_totals(specs)
    assert [
        (row.category.value, str(row.rate), str(row.taxable_amount), str(row.vat_amount))
        for row in totals.vat_breakdown
    ] == breakdown
    assert (totals.tax_exclusive, totals.vat_total, totals.tax_inclusive) == (
        Decimal(net),
        Decimal(vat),
        Decimal(gross),
    )
    assert totals.payable == totals.tax_inclusive
    assert totals.line_net_total == sum((item.net_amount for item in specs), Decimal(0))


def test_a_line_shows_its_gross_discount_and_net() -> None:
    item = line("33.333", "3", discount="12.5")
    assert (item.gross_amount, item.discount_amount, item.net_amount) == (
        Decimal("100.00"),
        Decimal("12.50"),
        Decimal("87.50"),
    )


def test_vat_in_the_accounting_currency_is_the_vat_total_converted_and_rounded() -> None:
    # 629.30 × 25 % = 157.325 → 157.33 EUR; × 11.4523 = 1801.7904… → 1801.79 NOK.
    totals = compute_totals([line("89.90", "7")], AccountingCurrency("NOK", Decimal("11.4523")))
    assert (totals.vat_total, totals.vat_in_accounting_currency) == (
        Decimal("157.33"),
        Decimal("1801.79"),
    )


def test_a_document_computes_its_totals_once_from_its_lines() -> None:
    document = samples.discount_line()
    assert document.totals is document.totals
    assert document.totals.payable == Decimal("3079.64")  # 2463.71 + 615.93


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Vat(VatCategory.STANDARD, Decimal(0)), "rate above 0 %"),
        (lambda: Vat(VatCategory.REVERSE_CHARGE, Decimal(25), "Reverse charge"), "rate 0 %"),
        (lambda: Vat(VatCategory.REVERSE_CHARGE, Decimal(0)), "needs the reason"),
        (lambda: Vat(VatCategory.STANDARD, Decimal(25), "Reverse charge"), "takes no exemption"),
        (lambda: line("-1"), "unit price cannot be negative"),
        (lambda: line("1", discount="101"), "between 0 and 100 %"),
        (lambda: replace(line("1"), unit_code="month"), "not a UN/ECE unit code"),
        (lambda: Period(date(2026, 3, 31), date(2026, 3, 1)), "cannot end"),
        (lambda: replace(samples.NO_BUYER, country="Norway"), "not a country code"),
        (lambda: replace(samples.NO_BUYER, vat_id="987654325MVA"), "starts with its country"),
        (lambda: AccountingCurrency("NOK", Decimal(0)), "exchange rate is above 0"),
    ],
)
def test_parts_that_cannot_be_issued(build: object, message: str) -> None:
    with pytest.raises(BillingError, match=message):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lines": ()}, "has no lines"),
        ({"lines": (line("1"), line("2"))}, "line ids must be unique"),
        ({"currency": "nok"}, "not a currency code"),
        ({"due_date": date(2026, 2, 28)}, "before it is issued"),
        ({"kind": DocumentKind.CREDIT_NOTE}, "must name the invoice it corrects"),
        ({"corrects": InvoiceReference("2026-0001", date(2026, 1, 1))}, "only a credit note"),
        ({"period": Period(date(2026, 3, 1), date(2026, 3, 15))}, "outside the invoice's"),
        ({"accounting_currency": AccountingCurrency("NOK", Decimal(1))}, "already in NOK"),
        (
            {"lines": (line("1", vat=AE, n=1),
                       line("1", vat=replace(AE, exemption_reason="Omvendt"), n=2))},
            "different reasons",
        ),
    ],
)  # fmt: skip
def test_documents_that_cannot_be_issued(changes: dict[str, object], message: str) -> None:
    with pytest.raises(BillingError, match=message):
        replace(samples.norwegian_domestic(), **changes)  # type: ignore[arg-type]


def test_categories_given_as_text_become_the_enum() -> None:
    assert Vat("AE", Decimal(0), "Reverse charge").category is VatCategory.REVERSE_CHARGE  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("country", "org_number", "vat_id", "scheme", "identifier"),
    [
        ("NO", "999 888 771", "NO999888771MVA", "0192", "999888771"),
        ("SE", "559123-4561", "SE559123456101", "0007", "5591234561"),
        ("DK", "13748136", "DK13748136", "0184", "13748136"),
        ("FI", "0112038-9", "FI01120389", "0037", "01120389"),
        ("DE", "HRB 12345", None, None, None),
    ],
)
def test_vat_numbers_and_peppol_addresses_from_organisation_numbers(
    country: str, org_number: str, vat_id: str | None, scheme: str | None, identifier: str | None
) -> None:
    assert vat_identifier(country, org_number) == vat_id
    endpoint = national_endpoint(country, org_number)
    assert (endpoint and (endpoint.scheme, endpoint.identifier)) == (
        (scheme, identifier) if scheme else None
    )


def test_a_registered_endpoint_wins_over_the_national_scheme() -> None:
    party = Party(name="X AS", org_number="987654325", country="NO")
    assert party.electronic_address == national_endpoint("NO", "987654325")
    assert samples.US_BUYER.electronic_address == samples.US_BUYER.endpoint
