"""``billing.yaml``: the register's settings, read and checked entry by entry so a mistake
stops the command that needs them with its file and entry, not the tenth invoice of a run.

The shipped file is ``avtale/config/billing.yaml``; a data folder replaces it with its own
(``$AVTALE_HOME/billing.yaml``), as with the other settings files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from avtale.billing.accounting import AccountMapping, VatPosting
from avtale.billing.model import AccountScheme, BillingError, PaymentAccount, VatCategory
from avtale.billing.references import KidMethod, make_kid, make_ocr
from avtale.rules.loading import Entry, config_file, document, read_yaml

BILLING_FILE = "billing.yaml"
ANY_CURRENCY = "*"
CURRENCY = re.compile(r"[A-Z]{3}")
MAX_DIGITS = 23  # a KID or OCR is at most 25 characters: the base, a length and a check digit


class ReferenceKind(StrEnum):
    KID = "KID"  # Norway
    OCR = "OCR"  # Sweden (Bankgirot)


@dataclass(frozen=True)
class Series:
    """One number series: ``prefix`` + a number counted up by one from ``first_number``."""

    prefix: str
    first_number: int


@dataclass(frozen=True)
class ReferenceRule:
    """How an invoice's payment reference is made from its number."""

    kind: ReferenceKind
    digits: int
    method: KidMethod = KidMethod.MOD10
    length_digit: bool = False

    def make(self, sequence: int) -> str:
        """The reference of the invoice numbered ``sequence`` in its series."""
        base = f"{sequence:0{self.digits}d}"
        if len(base) > self.digits:
            raise BillingError(
                f"invoice number {sequence} has more than the {self.digits} digits "
                "billing.yaml gives its payment reference"
            )
        if self.kind is ReferenceKind.KID:
            return make_kid(base, self.method)
        return make_ocr(base, length_digit=self.length_digit)


@dataclass(frozen=True)
class Account:
    """Where an invoice in one currency is paid, and the reference the payer quotes."""

    account: PaymentAccount
    reference: ReferenceRule


@dataclass(frozen=True)
class BillingSettings:
    invoice_series: Series
    credit_note_series: Series
    payment_terms_days: int
    bill_from: date | None
    tax_registration: str | None
    accounts: dict[str, Account]  # currency (or "*") -> account
    accounting: AccountMapping
    version: int

    def account_for(self, currency: str) -> Account:
        found = self.accounts.get(currency) or self.accounts.get(ANY_CURRENCY)
        if found is None:
            raise BillingError(f"billing.yaml has no account for invoices in {currency}")
        return found


def billing_file(home: Path | None) -> Path:
    """The ``billing.yaml`` in force for the data folder ``home``."""
    return config_file(home, BILLING_FILE)


def load_billing(path: Path | str) -> BillingSettings:
    """The settings in ``path``; a mistake raises ``RuleError`` naming the file and entry."""
    source, content = read_yaml(path)
    version, fields = document(
        source,
        content,
        required=("series", "payment_terms_days", "accounts", "accounting"),
        optional=("bill_from", "tax_registration"),
    )
    series = fields["series"].fields(required=("invoice", "credit_note"))
    bill_from = fields.get("bill_from")
    registration = fields.get("tax_registration")
    return BillingSettings(
        invoice_series=_series(series["invoice"]),
        credit_note_series=_series(series["credit_note"]),
        payment_terms_days=fields["payment_terms_days"].integer(minimum=0),
        bill_from=_day(bill_from) if bill_from is not None else None,
        tax_registration=(
            registration.text() if registration is not None and registration.value else None
        ),
        accounts=_accounts(fields["accounts"]),
        accounting=_mapping(fields["accounting"]),
        version=version,
    )


def _series(entry: Entry) -> Series:
    fields = entry.fields(required=("prefix", "first_number"))
    prefix = fields["prefix"].text(max_length=10)
    if not re.fullmatch(r"[A-Za-z0-9-]+", prefix):
        fields["prefix"].fail("must be letters, digits or -")
    return Series(prefix, fields["first_number"].integer(minimum=1))


def _day(entry: Entry) -> date | None:
    if entry.value is None:
        return None
    if not isinstance(entry.value, date):
        entry.fail("must be a date (YYYY-MM-DD) or empty")
    return entry.value


def _accounts(entry: Entry) -> dict[str, Account]:
    if not isinstance(entry.value, dict) or not entry.value:
        entry.fail("must map currencies (or *) to accounts")
    accounts = {}
    for key, value in entry.value.items():
        item = entry.at(str(key), value)
        if key != ANY_CURRENCY and not (isinstance(key, str) and CURRENCY.fullmatch(key)):
            item.fail("must be a currency code such as NOK, or *")
        accounts[str(key)] = _account(item)
    return accounts


def _account(entry: Entry) -> Account:
    fields = entry.fields(required=("scheme", "number", "reference"), optional=("bic",))
    scheme = AccountScheme(fields["scheme"].choice(tuple(AccountScheme)))
    number = fields["number"]
    bic = fields["bic"].text(max_length=11) if "bic" in fields else None
    try:
        account = PaymentAccount(number.text(max_length=40), scheme, bic)
    except BillingError as problem:
        number.fail(str(problem))
    if scheme is AccountScheme.IBAN and not _iban_ok(account.number):
        number.fail(f"{account.number} is not an IBAN (its check digits are wrong)")
    return Account(account, _reference(fields["reference"]))


def _iban_ok(iban: str) -> bool:
    """ISO 13616: the country code and check digits moved to the end, letters as numbers
    (A = 10 … Z = 35), the whole is 1 modulo 97."""
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{1,30}", iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in moved)) % 97 == 1


def _reference(entry: Entry) -> ReferenceRule:
    fields = entry.fields(required=("kind", "digits"), optional=("method", "length_digit"))
    kind = ReferenceKind(fields["kind"].choice(tuple(ReferenceKind)))
    digits = fields["digits"].integer(minimum=1)
    if digits > MAX_DIGITS:
        fields["digits"].fail(f"must be {MAX_DIGITS} or less (a reference has at most 25)")
    method, length_digit = KidMethod.MOD10, False
    if "method" in fields:
        if kind is not ReferenceKind.KID:
            fields["method"].fail("is for a KID only")
        method = KidMethod(fields["method"].choice(tuple(KidMethod)))
    if "length_digit" in fields:
        if kind is not ReferenceKind.OCR:
            fields["length_digit"].fail("is for an OCR reference only")
        length_digit = fields["length_digit"].boolean()
    return ReferenceRule(kind, digits, method, length_digit)


def _mapping(entry: Entry) -> AccountMapping:
    fields = entry.fields(
        required=("currency", "receivables", "bank", "postings"),
        optional=("words", "account_names"),
    )
    currency = fields["currency"].text(max_length=3)
    if not CURRENCY.fullmatch(currency):
        fields["currency"].fail("must be a currency code such as NOK")
    postings: dict[tuple[VatCategory, Decimal], VatPosting] = {}
    for item in fields["postings"].items():
        key, posting = _posting(item)
        if key in postings:
            item.fail(f"VAT {key[0]} {key[1]} % is mapped twice")
        postings[key] = posting
    names: dict[str, str] = {}
    if "account_names" in fields:
        table = fields["account_names"]
        if not isinstance(table.value, dict):
            table.fail("must map account numbers to names")
        names = {str(key): table.at(str(key), value).text() for key, value in table.value.items()}
    words = ("Invoice", "Credit note", "Payment")
    if "words" in fields:
        given = fields["words"].texts()
        if len(given) != len(words):
            fields["words"].fail("must give three words: invoice, credit note, payment")
        words = (given[0], given[1], given[2])
    return AccountMapping(
        currency=currency,
        receivables=_account_number(fields["receivables"]),
        bank=_account_number(fields["bank"]),
        postings=postings,
        account_names=names,
        words=words,
    )


def _posting(entry: Entry) -> tuple[tuple[VatCategory, Decimal], VatPosting]:
    fields = entry.fields(
        required=("category", "rate", "revenue_account", "vat_code"), optional=("vat_account",)
    )
    category = VatCategory(fields["category"].choice(tuple(VatCategory)))
    rate = fields["rate"].number(minimum=0, maximum=100)
    if category is VatCategory.STANDARD and "vat_account" not in fields:
        entry.fail("a standard rate needs the vat_account its VAT is booked to")
    vat_account = _account_number(fields["vat_account"]) if "vat_account" in fields else None
    posting = VatPosting(
        _account_number(fields["revenue_account"]), str(fields["vat_code"].value), vat_account
    )
    return (category, rate.normalize()), posting


def _account_number(entry: Entry) -> str:
    # Account numbers are digits; YAML reads an unquoted one as a number, which is fine.
    text = str(entry.value) if isinstance(entry.value, int) else entry.text(max_length=20)
    if not text.isdigit():
        entry.fail("must be an account number (digits)")
    return text
