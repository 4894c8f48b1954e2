"""An invoice or credit note as it is issued, and its totals as EN 16931 computes them.

The register builds a ``BillingDocument`` when it issues one and never changes it (an
issued invoice is corrected by a credit note); the e-invoice, the accounting export and the
PDF are all made from it, so they cannot disagree. Amounts are ``Decimal`` throughout.

Totals follow EN 16931, the norm behind Peppol BIS Billing 3.0 (= EHF Billing 3.0):

- a line's net amount (BT-131) is quantity × unit price rounded to 2 decimals, less its
  discount (BT-136), itself rounded to 2 decimals: the e-invoice carries both amounts;
- VAT is computed per VAT category and rate on the sum of the net amounts of the lines in
  it (BT-116 → BT-117), rounded once: never per line and added up;
- total without VAT (BT-109) = sum of line net amounts (no document-level allowances or
  charges are modelled), total with VAT (BT-112) = BT-109 + total VAT (BT-110), amount due
  (BT-115) = BT-112 (nothing prepaid, no rounding amount).

Every rounding is to 2 decimals with ``ROUND_HALF_UP``: half a cent goes away from zero,
so 0.005 → 0.01 and −0.005 → −0.01.

A credit note carries positive amounts that mean a reduction (as UBL's CreditNote does),
and names the invoice it corrects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import cached_property

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
COUNTRY_CODE = re.compile(r"[A-Z]{2}")
UNIT_CODE = re.compile(r"[A-Z0-9]{1,3}")
# UBL has a street line, an additional street line and one more address line.
MAX_ADDRESS_LINES = 3


class BillingError(ValueError):
    """A document that cannot be issued as given; the message says why in one line."""


def money(amount: Decimal) -> Decimal:
    """``amount`` rounded half up (away from zero) to 2 decimals."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class VatCategory(StrEnum):
    """UNCL 5305 codes, as EN 16931 names them."""

    STANDARD = "S"
    ZERO_RATED = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    EXPORT = "G"  # outside the EU (EEA for Norway): free export, 0 %


# The breakdown of these must say why no VAT is charged (BR-E-10, BR-AE-10, BR-G-10); that
# of the others must not (BR-S-10, BR-Z-10).
NEEDS_REASON = frozenset({VatCategory.EXEMPT, VatCategory.REVERSE_CHARGE, VatCategory.EXPORT})


@dataclass(frozen=True)
class Vat:
    """The VAT of a line: category, rate in percent, and for a line without VAT the words
    the invoice must print (reverse charge, export, exemption)."""

    category: VatCategory
    rate: Decimal
    exemption_reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "category", VatCategory(self.category))
        if self.category is VatCategory.STANDARD:
            if not 0 < self.rate <= HUNDRED:
                raise BillingError(f"standard-rated VAT needs a rate above 0 %, not {self.rate} %")
        elif self.rate != 0:
            raise BillingError(f"VAT category {self.category} has rate 0 %, not {self.rate} %")
        if self.category in NEEDS_REASON and not self.exemption_reason.strip():
            raise BillingError(f"VAT category {self.category} needs the reason no VAT is charged")
        if self.category not in NEEDS_REASON and self.exemption_reason:
            raise BillingError(f"VAT category {self.category} takes no exemption reason")


@dataclass(frozen=True)
class Period:
    """Days from ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise BillingError(f"a period cannot end ({self.end}) before it starts ({self.start})")

    def contains(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True)
class Endpoint:
    """A Peppol electronic address: an identifier and its scheme (EAS code, e.g. 0192)."""

    scheme: str
    identifier: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d{4}", self.scheme):
            raise BillingError(f"a Peppol address scheme is 4 digits, not {self.scheme!r}")
        if not self.identifier.strip():
            raise BillingError("a Peppol address needs an identifier")


# The Peppol address of a business by its registry number, per country: the EAS code whose
# identifier is that number. Norway, Sweden and Denmark are the ones Peppol's own rules
# check (PEPPOL-COMMON-R041/R049/R042); elsewhere a business often has another address
# (Germany has none by registry number), so a party's registered endpoint wins.
NATIONAL_SCHEMES = {
    "NO": "0192",  # Enhetsregisteret ved Brønnøysundregistrene: 9-digit organisasjonsnummer
    "SE": "0007",  # Organisationsnummer, 10 digits
    "DK": "0184",  # CVR number (DIGSTORG), 8 digits
    "FI": "0037",  # LY-tunnus: the business ID (Y-tunnus) without its hyphen
    "BE": "0208",  # Numéro d'entreprise / Ondernemingsnummer, 10 digits
    "NL": "0106",  # KvK number
}


def national_endpoint(country: str, org_number: str) -> Endpoint | None:
    """The Peppol address of the business with ``org_number`` in ``country`` by its registry
    number; None where the country has no such scheme here."""
    scheme = NATIONAL_SCHEMES.get(country)
    if scheme is None:
        return None
    return Endpoint(scheme, re.sub(r"[\s.\-]", "", org_number))


def vat_identifier(country: str, org_number: str) -> str | None:
    """The VAT number a business registered for VAT has by its organisation number, where
    the country derives it: ``NO<9 digits>MVA`` (the form NO-R-001 checks),
    ``SE<10 digits>01``, ``DK<8 digits>``, ``FI<8 digits>``; None elsewhere."""
    bare = re.sub(r"[\s.\-]", "", org_number)
    forms = {"NO": f"NO{bare}MVA", "SE": f"SE{bare}01", "DK": f"DK{bare}", "FI": f"FI{bare}"}
    return forms.get(country)


@dataclass(frozen=True)
class Party:
    """Seller or buyer. ``org_number`` is the registry number without separators;
    ``tax_registration`` is the seller's tax registration text: "Foretaksregisteret" for a
    Norwegian AS, ASA or NUF (NO-R-002), "Godkänd för F-skatt" for a Swedish company
    approved for F-tax (SE-R-005). ``party_id`` is the number the seller knows the buyer by
    (customer number). ``endpoint`` is the party's registered Peppol address; without one
    the national scheme of its registry number is used."""

    name: str
    org_number: str
    country: str
    address_lines: tuple[str, ...] = ()
    city: str = ""
    postal_code: str = ""
    vat_id: str | None = None
    endpoint: Endpoint | None = None
    tax_registration: str | None = None
    party_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "address_lines", tuple(self.address_lines))
        if not self.name.strip():
            raise BillingError("a party needs a name")
        if not self.org_number.strip():
            raise BillingError(f"{self.name} needs an organisation number")
        if not COUNTRY_CODE.fullmatch(self.country):
            raise BillingError(f"{self.name}: {self.country!r} is not a country code such as NO")
        if len(self.address_lines) > MAX_ADDRESS_LINES:
            raise BillingError(f"{self.name}: at most {MAX_ADDRESS_LINES} address lines")
        if self.vat_id is not None and not COUNTRY_CODE.fullmatch(self.vat_id[:2]):
            raise BillingError(f"{self.name}: a VAT number starts with its country code")

    @property
    def electronic_address(self) -> Endpoint | None:
        return self.endpoint or national_endpoint(self.country, self.org_number)


@dataclass(frozen=True)
class Line:
    """One invoice line. ``unit_price`` is the price before the line's discount;
    ``discount_percent`` of the line's gross amount is taken off. A line without
    ``period`` is billed once (a setup or one-off line)."""

    id: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    vat: Vat
    discount_percent: Decimal = Decimal(0)
    period: Period | None = None
    unit_code: str = "EA"  # UN/ECE Recommendation 20: EA each, MON month, ANN year
    product_code: str | None = None

    def __post_init__(self) -> None:
        if not self.id.strip():
            raise BillingError("an invoice line needs an id")
        if not self.description.strip():
            raise BillingError(f"line {self.id} needs a description")
        if self.unit_price < 0:  # BR-27; a credit within an invoice has a negative quantity
            raise BillingError(f"line {self.id}: a unit price cannot be negative")
        if not 0 <= self.discount_percent <= HUNDRED:
            raise BillingError(f"line {self.id}: a discount is between 0 and 100 %")
        if not UNIT_CODE.fullmatch(self.unit_code):
            raise BillingError(f"line {self.id}: {self.unit_code!r} is not a UN/ECE unit code")

    @property
    def gross_amount(self) -> Decimal:
        """Quantity × unit price, rounded: the base the discount is taken from (BT-137)."""
        return money(self.quantity * self.unit_price)

    @property
    def discount_amount(self) -> Decimal:
        """The discount (BT-136), rounded on its own."""
        return money(self.gross_amount * self.discount_percent / HUNDRED)

    @property
    def net_amount(self) -> Decimal:
        """The line net amount (BT-131)."""
        return self.gross_amount - self.discount_amount


@dataclass(frozen=True)
class VatSubtotal:
    """One row of the VAT breakdown (BG-23): the lines of one category and rate."""

    category: VatCategory
    rate: Decimal
    exemption_reason: str
    taxable_amount: Decimal
    vat_amount: Decimal


@dataclass(frozen=True)
class AccountingCurrency:
    """The seller's accounting currency (BT-6) for a document in another currency, and
    ``rate``: how much of it one unit of the document's currency is worth on the day."""

    code: str
    rate: Decimal

    def __post_init__(self) -> None:
        if not CURRENCY_CODE.fullmatch(self.code):
            raise BillingError(f"{self.code!r} is not a currency code such as NOK")
        if self.rate <= 0:
            raise BillingError(f"an exchange rate is above 0, not {self.rate}")


@dataclass(frozen=True)
class Totals:
    line_net_total: Decimal  # BT-106
    vat_breakdown: tuple[VatSubtotal, ...]  # BG-23, in the order the lines first use them
    vat_total: Decimal  # BT-110
    tax_exclusive: Decimal  # BT-109
    tax_inclusive: Decimal  # BT-112
    payable: Decimal  # BT-115
    vat_in_accounting_currency: Decimal | None  # BT-111


def compute_totals(
    lines: Iterable[Line], accounting_currency: AccountingCurrency | None = None
) -> Totals:
    """The totals of ``lines`` per EN 16931 (see the module's notes)."""
    groups: dict[tuple[VatCategory, Decimal], list[Line]] = {}
    for line in lines:
        groups.setdefault((line.vat.category, line.vat.rate), []).append(line)
    breakdown = []
    for (category, rate), members in groups.items():
        reasons = {line.vat.exemption_reason for line in members}
        if len(reasons) > 1:
            raise BillingError(f"lines with VAT {category} {rate} % give different reasons")
        taxable = sum((line.net_amount for line in members), Decimal(0))
        breakdown.append(
            VatSubtotal(category, rate, reasons.pop(), taxable, money(taxable * rate / HUNDRED))
        )
    net = sum((row.taxable_amount for row in breakdown), Decimal(0))
    vat = sum((row.vat_amount for row in breakdown), Decimal(0))
    converted = None
    if accounting_currency is not None:
        converted = money(vat * accounting_currency.rate)
    return Totals(net, tuple(breakdown), vat, net, net + vat, net + vat, converted)


@dataclass(frozen=True)
class InvoiceReference:
    """The invoice a credit note corrects (BG-3)."""

    number: str
    issue_date: date


class AccountScheme(StrEnum):
    IBAN = "iban"
    DOMESTIC = "domestic"  # a national account number, e.g. Norway's 11 digits
    BANKGIRO = "bankgiro"  # Swedish Bankgiro number, 7-8 digits
    PLUSGIRO = "plusgiro"  # Swedish PlusGiro number, 2-8 digits


@dataclass(frozen=True)
class PaymentAccount:
    """Where the buyer pays. The number is kept without spaces or hyphens; ``bic`` belongs
    to a bank account (IBAN or domestic), not to a giro number."""

    number: str
    scheme: AccountScheme = AccountScheme.IBAN
    bic: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "scheme", AccountScheme(self.scheme))
        object.__setattr__(self, "number", re.sub(r"[\s\-]", "", self.number).upper())
        if not self.number.isalnum():
            raise BillingError(f"{self.number!r} is not an account number")
        giro = self.scheme in (AccountScheme.BANKGIRO, AccountScheme.PLUSGIRO)
        if giro and not self.number.isdigit():
            raise BillingError(f"a {self.scheme} number is digits only, not {self.number!r}")
        if giro and self.bic:
            raise BillingError(f"a {self.scheme} number has no BIC")


@dataclass(frozen=True)
class BillingDocument:
    """An invoice or credit note as issued. ``payment_reference`` is the KID or OCR the
    buyer pays with; ``buyer_reference`` is the buyer's own reference (EHF: "Deres ref"),
    and Peppol requires it or ``order_reference`` (PEPPOL-EN16931-R003)."""

    kind: DocumentKind
    number: str
    issue_date: date
    currency: str
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    due_date: date | None = None
    period: Period | None = None
    payment_reference: str | None = None
    payment_account: PaymentAccount | None = None
    payment_terms: str | None = None
    buyer_reference: str | None = None
    order_reference: str | None = None
    note: str | None = None
    corrects: InvoiceReference | None = None
    accounting_currency: AccountingCurrency | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", DocumentKind(self.kind))
        object.__setattr__(self, "lines", tuple(self.lines))
        name = f"{self.kind.replace('_', ' ')} {self.number}"
        if not self.number.strip():
            raise BillingError(f"a {self.kind.replace('_', ' ')} needs a number")
        if not CURRENCY_CODE.fullmatch(self.currency):
            raise BillingError(f"{name}: {self.currency!r} is not a currency code such as NOK")
        if not self.lines:
            raise BillingError(f"{name} has no lines")
        ids = [line.id for line in self.lines]
        if len(set(ids)) != len(ids):
            raise BillingError(f"{name}: line ids must be unique")
        if self.due_date is not None and self.due_date < self.issue_date:
            raise BillingError(f"{name}: due {self.due_date}, before it is issued")
        self._check_periods(name)
        self._check_references(name)
        if self.accounting_currency and self.accounting_currency.code == self.currency:
            raise BillingError(f"{name} is already in {self.currency}, its accounting currency")
        compute_totals(self.lines)  # mixed reasons in one VAT group fail here, not later

    def _check_periods(self, name: str) -> None:
        if self.period is None:
            return
        for line in self.lines:
            if line.period is not None and not self.period.contains(line.period):
                raise BillingError(f"{name}: line {line.id}'s period is outside the invoice's")

    def _check_references(self, name: str) -> None:
        if self.kind is DocumentKind.CREDIT_NOTE and self.corrects is None:
            raise BillingError(f"{name} must name the invoice it corrects")
        if self.kind is DocumentKind.INVOICE and self.corrects is not None:
            raise BillingError(f"{name}: only a credit note corrects an invoice")

    @cached_property
    def totals(self) -> Totals:
        return compute_totals(self.lines, self.accounting_currency)
