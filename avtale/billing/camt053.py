"""Payments in: bank statements as ISO 20022 camt.053 XML (what Nordic banks export) and
a simple CSV, both read into ``BankPayment`` records for matching against invoices.

camt.053 (BankToCustomerStatement), any version ``camt.053.001.NN``; tested with .02 (the
one most Nordic banks still send) and .08. What differs between versions is read both ways:
an entry's status is text in .02 and ``<Sts><Cd>`` later; the debtor is ``Dbtr/Nm`` in .02
and ``Dbtr/Pty/Nm`` later; a transaction's own amount is ``AmtDtls/TxAmt/Amt`` in .02 and
also ``TxDtls/Amt`` later.

One record per transaction: an entry (``Ntry``) is one booking on the account, and a batch
entry (several ``TxDtls``, e.g. a day's incoming OCR payments) becomes one record per
transaction, whose amounts must add up to the entry's. The structured creditor reference
(``RmtInf/Strd/CdtrRefInf/Ref``) is the KID or OCR the payer typed; a transfer may carry
several. Debits and reversals (``RvslInd``, a payment returned) are read and flagged, not
dropped: ``BankPayment.is_incoming`` tells the payments to match from the rest.

The CSV format, for banks and tools without camt.053: UTF-8 (a byte-order mark is fine),
``,`` or ``;`` between fields, a header row naming these columns in any order:

====================  ========  ===============================================
column                required  content
====================  ========  ===============================================
``booking_date``      yes       YYYY-MM-DD
``amount``            yes       positive in, negative out; ``.`` or ``,`` as the
                                decimal mark, no thousands separator
``currency``          yes       ISO 4217, e.g. NOK
``value_date``        no        YYYY-MM-DD
``reference``         no        the KID or OCR
``payer``             no        the payer's name
``text``              no        free text (the message)
``end_to_end_id``     no        the payer's end-to-end id
``account``           no        the account paid into
====================  ========  ===============================================
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from lxml import etree

CAMT053 = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d{2})")
BOOKED = "BOOK"
CSV_REQUIRED = ("booking_date", "amount", "currency")
CSV_OPTIONAL = ("value_date", "reference", "payer", "text", "end_to_end_id", "account")


class StatementError(ValueError):
    """A statement that cannot be read; the message says where and why in one line."""


class Direction(StrEnum):
    CREDIT = "CRDT"  # into the account
    DEBIT = "DBIT"  # out of it


@dataclass(frozen=True)
class BankPayment:
    """One transaction on a statement. ``amount`` is positive; ``direction`` says which way."""

    booking_date: date
    value_date: date | None
    amount: Decimal
    currency: str
    direction: Direction
    reversal: bool
    status: str
    references: tuple[str, ...]  # structured creditor references: KID, OCR
    remittance_text: str
    debtor_name: str
    debtor_account: str
    account: str  # the statement's account, paid into or out of
    end_to_end_id: str
    bank_reference: str  # the bank's own id of the entry or transaction (AcctSvcrRef)

    @property
    def is_incoming(self) -> bool:
        """A booked payment into the account: what to match against invoices."""
        return self.direction is Direction.CREDIT and not self.reversal and self.status == BOOKED


def incoming(payments: Iterable[BankPayment]) -> list[BankPayment]:
    return [payment for payment in payments if payment.is_incoming]


def parse_camt053(data: bytes) -> list[BankPayment]:
    """Every transaction of every statement in a camt.053 document."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise StatementError(f"the statement is not well-formed XML: {error}") from None
    namespace = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "Document" or not CAMT053.fullmatch(namespace):
        raise StatementError(
            f"not a camt.053 bank statement: the document is {{{namespace}}}"
            f"{etree.QName(root).localname}"
        )
    reader = _Reader(namespace)
    statements = root.findall("n:BkToCstmrStmt/n:Stmt", reader.ns)
    if not statements:
        raise StatementError("the camt.053 document has no statement (BkToCstmrStmt/Stmt)")
    return [payment for statement in statements for payment in reader.statement(statement)]


class _Reader:
    def __init__(self, namespace: str) -> None:
        self.ns = {"n": namespace}

    def find(self, element: etree._Element, path: str) -> etree._Element | None:
        return element.find("n:" + path.replace("/", "/n:"), self.ns)

    def text(self, element: etree._Element, path: str) -> str:
        found = self.find(element, path)
        return " ".join((found.text or "").split()) if found is not None else ""

    def texts(self, element: etree._Element, path: str) -> list[str]:
        found = element.findall("n:" + path.replace("/", "/n:"), self.ns)
        return [" ".join(item.text.split()) for item in found if (item.text or "").strip()]

    def first(self, element: etree._Element, *paths: str) -> str:
        return next((value for path in paths if (value := self.text(element, path))), "")

    def statement(self, statement: etree._Element) -> Iterator[BankPayment]:
        account = self.first(statement, "Acct/Id/IBAN", "Acct/Id/Othr/Id")
        statement_id = self.text(statement, "Id") or "?"
        for number, entry in enumerate(statement.findall("n:Ntry", self.ns), 1):
            yield from self.entry(entry, account, f"statement {statement_id}, entry {number}")

    def entry(self, entry: etree._Element, account: str, where: str) -> Iterator[BankPayment]:
        amount, currency = self.amount(entry, "Amt", where)
        valued = self.first(entry, "ValDt/Dt", "ValDt/DtTm")
        booking = BankPayment(
            booking_date=self.day(
                self.first(entry, "BookgDt/Dt", "BookgDt/DtTm"), "booking date", where
            ),
            value_date=self.day(valued, "value date", where) if valued else None,
            amount=amount,
            currency=currency,
            direction=self.direction(self.text(entry, "CdtDbtInd"), where),
            reversal=self.text(entry, "RvslInd").lower() in ("true", "1"),
            status=self.first(entry, "Sts/Cd", "Sts"),
            references=(),
            remittance_text=self.text(entry, "AddtlNtryInf"),
            debtor_name="",
            debtor_account="",
            account=account,
            end_to_end_id="",
            bank_reference=self.text(entry, "AcctSvcrRef"),
        )
        details = entry.findall("n:NtryDtls/n:TxDtls", self.ns)
        if not details:
            yield booking
            return
        amounts = [self.transaction_amount(tx, currency, where) for tx in details]
        known = [value for value in amounts if value is not None]
        if len(known) < len(details):
            if len(details) > 1:
                raise StatementError(f"{where}: a batch transaction has no amount of its own")
            known = [amount]
        if sum(known, Decimal(0)) != amount:
            raise StatementError(f"{where}: its transactions add up to {sum(known)}, not {amount}")
        for tx, tx_amount in zip(details, known, strict=True):
            yield self.transaction(tx, replace(booking, amount=tx_amount), where)

    def transaction(self, tx: etree._Element, booking: BankPayment, where: str) -> BankPayment:
        indicator = self.text(tx, "CdtDbtInd")
        return replace(
            booking,
            direction=self.direction(indicator, where) if indicator else booking.direction,
            references=tuple(self.texts(tx, "RmtInf/Strd/CdtrRefInf/Ref")),
            remittance_text=" ".join(self.texts(tx, "RmtInf/Ustrd")),
            debtor_name=self.first(tx, "RltdPties/Dbtr/Nm", "RltdPties/Dbtr/Pty/Nm"),
            debtor_account=self.first(
                tx, "RltdPties/DbtrAcct/Id/IBAN", "RltdPties/DbtrAcct/Id/Othr/Id"
            ),
            end_to_end_id=self.text(tx, "Refs/EndToEndId"),
            bank_reference=self.text(tx, "Refs/AcctSvcrRef") or booking.bank_reference,
        )

    def transaction_amount(self, tx: etree._Element, currency: str, where: str) -> Decimal | None:
        for path in ("Amt", "AmtDtls/TxAmt/Amt"):
            if self.find(tx, path) is not None:
                amount, tx_currency = self.amount(tx, path, where)
                if tx_currency != currency:
                    raise StatementError(f"{where}: a transaction in {tx_currency}, not {currency}")
                return amount
        return None

    def amount(self, element: etree._Element, path: str, where: str) -> tuple[Decimal, str]:
        found = self.find(element, path)
        if found is None:
            raise StatementError(f"{where} has no amount ({path})")
        try:
            amount = Decimal((found.text or "").strip())
        except InvalidOperation:
            raise StatementError(f"{where}: amount {found.text!r} is not a number") from None
        currency = found.get("Ccy", "")
        if not amount.is_finite() or amount < 0 or not re.fullmatch(r"[A-Z]{3}", currency):
            raise StatementError(f"{where}: {found.text} {currency} is not an amount")
        return amount, currency

    @staticmethod
    def direction(indicator: str, where: str) -> Direction:
        try:
            return Direction(indicator)
        except ValueError:
            raise StatementError(f"{where}: {indicator!r} is neither CRDT nor DBIT") from None

    @staticmethod
    def day(value: str, what: str, where: str) -> date:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            raise StatementError(f"{where}: {what} {value!r} is not a date") from None


def parse_payment_csv(data: bytes) -> list[BankPayment]:
    """The payments in a CSV file of the format above."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementError("the payment file is not UTF-8 text") from None
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    rows = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = [name.strip() for name in rows.fieldnames or []]
    missing = [name for name in CSV_REQUIRED if name not in columns]
    if missing:
        raise StatementError(f"the payment file has no column {', '.join(missing)}")
    unknown = [name for name in columns if name not in CSV_REQUIRED + CSV_OPTIONAL]
    if unknown:
        raise StatementError(f"the payment file has an unknown column {', '.join(unknown)}")
    rows.fieldnames = columns
    return [_csv_payment(row, number) for number, row in enumerate(rows, 2)]


def _csv_payment(row: dict[str, str | None], number: int) -> BankPayment:
    def field(name: str) -> str:
        return (row.get(name) or "").strip()

    where = f"row {number}"
    amount = _csv_amount(field("amount"))
    if amount is None:
        raise StatementError(f"{where}: amount {field('amount')!r} is not a number")
    currency = field("currency").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise StatementError(f"{where}: {field('currency')!r} is not a currency code")
    value_date = field("value_date")
    reference = field("reference")
    return BankPayment(
        booking_date=_Reader.day(field("booking_date"), "booking date", where),
        value_date=_Reader.day(value_date, "value date", where) if value_date else None,
        amount=abs(amount),
        currency=currency,
        direction=Direction.DEBIT if amount < 0 else Direction.CREDIT,
        reversal=False,
        status=BOOKED,
        references=(reference,) if reference else (),
        remittance_text=field("text"),
        debtor_name=field("payer"),
        debtor_account="",
        account=field("account"),
        end_to_end_id=field("end_to_end_id"),
        bank_reference="",
    )


def _csv_amount(text: str) -> Decimal | None:
    """A decimal with ``.`` or a lone ``,`` as its mark (spaces ignored); None if not one."""
    compact = text.replace(" ", "")
    if compact.count(",") == 1 and "." not in compact:
        compact = compact.replace(",", ".")
    try:
        amount = Decimal(compact)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None
