"""The accounting export: issued invoices, credit notes and matched payments as journal
rows, written as a CSV per period or as a SIE 4 file for Swedish accounting systems.

Which accounts and VAT codes to use is data (``AccountMapping``): the receivables and bank
accounts, and per VAT category and rate the revenue account, the output VAT account and
the VAT code. ``NORWEGIAN`` (NS 4102 accounts, SAF-T standard VAT codes) and ``SWEDISH``
(BAS accounts, the VAT return's boxes) are the defaults; a YAML file can replace them.

Each invoice is one voucher: the receivable is debited with the amount due, and per row
of the VAT breakdown the revenue account is credited with the taxable amount and the VAT
account with the VAT. A credit note is the same with the signs turned. A payment debits the
bank and credits the receivable. Amounts are debit positive, credit negative, and every
voucher sums to zero. Books are kept in the mapping's currency: a document in another
currency is converted at its ``accounting_currency`` rate, each revenue and VAT row rounded
to 2 decimals, and the receivable is their sum so the voucher balances to the øre.

SIE 4 (the Swedish standard file, "SIE typ 4", spec 4B/4C): ``#FLAGGA``, ``#PROGRAM``,
``#FORMAT PC8``, ``#GEN``, ``#SIETYP 4``, ``#ORGNR``, ``#FNAMN``, ``#RAR``, ``#KONTO`` per
account used, then ``#VER`` with its ``#TRANS`` rows between ``{`` and ``}``. PC8 means
IBM PC code page 437, which has å, ä, ö, æ and é but no ø: ø and Ø are written as ö and Ö
(how a Swedish reader would spell them); any other character it lacks becomes "?". Lines
end with CR LF. Text fields are quoted, a quote inside escaped as ``\\"``. The optional
checksum (``#KSUMMA``) is not written.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from avtale.billing.model import (
    BillingDocument,
    DocumentKind,
    Period,
    VatCategory,
    money,
)
from avtale.csv_export import write_csv

JOURNAL_COLUMNS = ("date", "account", "vat_code", "amount", "invoice", "customer")
SIE_ENCODING = "cp437"
SIE_SUBSTITUTES = str.maketrans({"ø": "ö", "Ø": "Ö"})


class AccountingError(ValueError):
    """An export that cannot be made; the message says which document and why."""


@dataclass(frozen=True)
class VatPosting:
    """Where the lines of one VAT category and rate are booked. ``vat_account`` is None
    where no VAT is charged."""

    revenue_account: str
    vat_code: str
    vat_account: str | None = None


@dataclass(frozen=True)
class AccountMapping:
    currency: str  # the books' currency
    receivables: str
    bank: str
    postings: Mapping[tuple[VatCategory, Decimal], VatPosting]
    account_names: Mapping[str, str] = field(default_factory=dict)
    # Voucher texts in the books' language: what an invoice, credit note and payment are called.
    words: tuple[str, str, str] = ("Invoice", "Credit note", "Payment")

    def posting(self, category: VatCategory, rate: Decimal) -> VatPosting:
        found = self.postings.get((category, rate))
        if found is None:
            raise AccountingError(f"no account is mapped for VAT {category} {rate} %")
        return found

    def name(self, account: str) -> str:
        return self.account_names.get(account, account)


S, AE, G, Z = (VatCategory.STANDARD, VatCategory.REVERSE_CHARGE, VatCategory.EXPORT,
               VatCategory.ZERO_RATED)  # fmt: skip

# Norway: NS 4102 accounts; VAT codes are the SAF-T standard tax codes (3: output VAT at
# the standard rate, 31 middle, 33 low, 5: zero-rated domestic, 52: export of goods and
# services, which services sold to businesses abroad are).
NORWEGIAN = AccountMapping(
    currency="NOK",
    receivables="1500",
    bank="1920",
    postings={
        (S, Decimal(25)): VatPosting("3000", "3", "2700"),
        (S, Decimal(15)): VatPosting("3000", "31", "2700"),
        (S, Decimal(12)): VatPosting("3000", "33", "2700"),
        (Z, Decimal(0)): VatPosting("3100", "5"),
        (AE, Decimal(0)): VatPosting("3100", "52"),
        (G, Decimal(0)): VatPosting("3100", "52"),
    },
    account_names={
        "1500": "Kundefordringer",
        "1920": "Bankinnskudd",
        "2700": "Utgående merverdiavgift",
        "3000": "Salgsinntekt, avgiftspliktig",
        "3100": "Salgsinntekt, avgiftsfri",
    },
    words=("Faktura", "Kreditnota", "Innbetaling"),
)

# Sweden: BAS accounts; VAT codes are the boxes of the VAT return (05 taxable sales in
# Sweden, 39 services to businesses in other EU countries, 40 other services sold abroad).
SWEDISH = AccountMapping(
    currency="SEK",
    receivables="1510",
    bank="1930",
    postings={
        (S, Decimal(25)): VatPosting("3001", "05", "2611"),
        (S, Decimal(12)): VatPosting("3002", "05", "2621"),
        (S, Decimal(6)): VatPosting("3003", "05", "2631"),
        (AE, Decimal(0)): VatPosting("3308", "39"),
        (G, Decimal(0)): VatPosting("3305", "40"),
    },
    account_names={
        "1510": "Kundfordringar",
        "1930": "Företagskonto",
        "2611": "Utgående moms på försäljning inom Sverige, 25 %",
        "2621": "Utgående moms på försäljning inom Sverige, 12 %",
        "2631": "Utgående moms på försäljning inom Sverige, 6 %",
        "3001": "Försäljning inom Sverige, 25 % moms",
        "3002": "Försäljning inom Sverige, 12 % moms",
        "3003": "Försäljning inom Sverige, 6 % moms",
        "3305": "Försäljning tjänster till land utanför EU",
        "3308": "Försäljning tjänster till annat EU-land",
    },
    words=("Faktura", "Kreditfaktura", "Inbetalning"),
)


@dataclass(frozen=True)
class Payment:
    """A payment matched to an invoice, in the books' currency."""

    date: date
    amount: Decimal
    invoice: str
    customer: str


@dataclass(frozen=True)
class JournalRow:
    date: date
    account: str
    vat_code: str
    amount: Decimal  # debit positive, credit negative
    invoice: str
    customer: str


@dataclass(frozen=True)
class Voucher:
    """One balanced booking: an invoice, a credit note or a payment."""

    date: date
    text: str
    rows: tuple[JournalRow, ...]


def document_voucher(document: BillingDocument, mapping: AccountMapping) -> Voucher:
    """The booking of one invoice or credit note."""
    rate = _rate(document, mapping)
    sign = Decimal(-1) if document.kind is DocumentKind.CREDIT_NOTE else Decimal(1)
    customer = document.buyer.party_id or document.buyer.org_number
    rows = []
    for subtotal in document.totals.vat_breakdown:
        posting = mapping.posting(subtotal.category, subtotal.rate)
        revenue = money(subtotal.taxable_amount * rate)
        rows.append((posting.revenue_account, posting.vat_code, -sign * revenue))
        if subtotal.vat_amount:
            if posting.vat_account is None:
                raise AccountingError(
                    f"{document.number}: VAT {subtotal.category} {subtotal.rate} % has no VAT account"
                )
            vat = money(subtotal.vat_amount * rate)
            rows.append((posting.vat_account, posting.vat_code, -sign * vat))
    receivable = -sum((amount for _, _, amount in rows), Decimal(0))
    journal = [
        JournalRow(document.issue_date, account, code, amount, document.number, customer)
        for account, code, amount in [(mapping.receivables, "", receivable), *rows]
        if amount
    ]
    word = mapping.words[0 if document.kind is DocumentKind.INVOICE else 1]
    return Voucher(
        document.issue_date, f"{word} {document.number} {document.buyer.name}", tuple(journal)
    )


def payment_voucher(payment: Payment, mapping: AccountMapping) -> Voucher:
    def row(account: str, amount: Decimal) -> JournalRow:
        return JournalRow(payment.date, account, "", amount, payment.invoice, payment.customer)

    rows = (row(mapping.bank, payment.amount), row(mapping.receivables, -payment.amount))
    return Voucher(payment.date, f"{mapping.words[2]} {payment.invoice}", rows)


def _rate(document: BillingDocument, mapping: AccountMapping) -> Decimal:
    if document.currency == mapping.currency:
        return Decimal(1)
    converted = document.accounting_currency
    if converted is None or converted.code != mapping.currency:
        raise AccountingError(
            f"{document.number} is in {document.currency}: it needs its rate to {mapping.currency}"
        )
    return converted.rate


def vouchers(
    documents: Iterable[BillingDocument],
    mapping: AccountMapping,
    period: Period,
    payments: Iterable[Payment] = (),
) -> list[Voucher]:
    """The vouchers of ``period``: documents by issue date, payments by their date, in date
    order (documents before payments on the same day)."""
    booked = [document_voucher(d, mapping) for d in documents if d.issue_date in period]
    paid = [payment_voucher(p, mapping) for p in payments if p.date in period]
    return sorted(booked + paid, key=lambda voucher: voucher.date)  # stable: documents first


def journal_csv(booked: Sequence[Voucher]) -> str:
    """The journal as CSV: one row per account line, columns ``JOURNAL_COLUMNS``."""
    out = io.StringIO()
    write_csv(
        out,
        JOURNAL_COLUMNS,
        (
            (row.date.isoformat(), row.account, row.vat_code, row.amount, row.invoice, row.customer)
            for voucher in booked
            for row in voucher.rows
        ),
    )
    return out.getvalue()


@dataclass(frozen=True)
class SieCompany:
    name: str
    org_number: str  # Swedish, 10 digits; written NNNNNN-NNNN
    fiscal_year: Period


def sie4(
    booked: Sequence[Voucher],
    mapping: AccountMapping,
    company: SieCompany,
    *,
    generated: date,
    program: tuple[str, str] = ("Avtale", "1.0"),
    series: str = "A",
) -> bytes:
    """The vouchers as a SIE 4 file (bytes in code page 437), numbered from 1 in ``series``."""
    for voucher in booked:
        if voucher.date not in company.fiscal_year:
            raise AccountingError(f"{voucher.text}: {voucher.date} is outside the fiscal year")
    org = company.org_number.replace("-", "")
    lines = [
        "#FLAGGA 0",
        f"#PROGRAM {_quote(program[0])} {_quote(program[1])}",
        "#FORMAT PC8",
        f"#GEN {_sie_date(generated)}",
        "#SIETYP 4",
        f"#ORGNR {org[:6]}-{org[6:]}" if len(org) == 10 else f"#ORGNR {org}",
        f"#FNAMN {_quote(company.name)}",
        f"#RAR 0 {_sie_date(company.fiscal_year.start)} {_sie_date(company.fiscal_year.end)}",
        f"#VALUTA {mapping.currency}",
    ]
    accounts = sorted({row.account for voucher in booked for row in voucher.rows})
    lines += [f"#KONTO {account} {_quote(mapping.name(account))}" for account in accounts]
    for number, voucher in enumerate(booked, 1):
        lines.append(f"#VER {series} {number} {_sie_date(voucher.date)} {_quote(voucher.text)}")
        lines.append("{")
        lines += [f"   #TRANS {row.account} {{}} {row.amount:.2f}" for row in voucher.rows]
        lines.append("}")
    text = "\r\n".join(lines) + "\r\n"
    return text.translate(SIE_SUBSTITUTES).encode(SIE_ENCODING, errors="replace")


def _sie_date(day: date) -> str:
    return day.strftime("%Y%m%d")


def _quote(text: str) -> str:
    # A backslash could escape the closing quote; control characters would break the line.
    clean = "".join(char for char in text if char.isprintable()).replace("\\", "/")
    return '"' + clean.replace('"', '\\"') + '"'
