"""What to issue for one contract: the schedule's charges (``schedule.owed``) less what the
register billed, as invoices and credit notes to draft.

The difference is taken per ``Charge`` in quantities, so it is exact and a second run finds
none: a charge owed and not billed is charged (positive quantity), one billed and no longer
owed is reversed (negative quantity, at the VAT it was billed with). The lines of one
billing period of one line go together, and where they come to less than nothing they are
credited: per invoice that billed them, one credit note naming it. The rest of the
contract's lines, if any, are one invoice per currency. An invoice may so hold a reversal
beside a charge (a period re-priced upwards), a credit note a charge beside a reversal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from avtale.billing.model import BillingError, DocumentKind, Vat, money
from avtale.billing.schedule import Charge, Owed


@dataclass(frozen=True)
class BilledLine:
    """A line of an issued document that billed a contract's charge."""

    charge: Charge
    quantity: Decimal  # as it counts for the contract: + on an invoice, − on a credit note
    product: str
    document_id: int
    document_kind: DocumentKind
    corrects_id: int | None
    vat: Vat


@dataclass(frozen=True)
class DraftLine:
    charge: Charge
    quantity: Decimal  # + charged, − reversed, as an invoice would say it
    product: str
    vat: Vat | None  # a reversal's VAT is the one it was billed with; None: the day's VAT

    @property
    def net(self) -> Decimal:
        """The line's net amount as ``model.Line`` computes it."""
        gross = money(self.quantity * self.charge.unit_price)
        return gross - money(gross * self.charge.discount_percent / 100)


@dataclass(frozen=True)
class Draft:
    kind: DocumentKind
    currency: str
    lines: tuple[DraftLine, ...]
    corrects_id: int | None = None  # the invoice a credit note corrects


def billed_limits(billed: Iterable[BilledLine]) -> dict[int, date]:
    """Per contract line, the first day of the latest billing period the register billed:
    the schedule must be compared that far, even when it is beyond the run's date."""
    limits: dict[int, date] = {}
    for line in billed:
        number = line.charge.line_no
        limits[number] = max(limits.get(number, line.charge.period_key), line.charge.period_key)
    return limits


def differences(
    owed: Mapping[Charge, Owed], billed: Iterable[BilledLine], bill_from: date | None = None
) -> list[DraftLine]:
    """The charges to bill or reverse, in line, period and day order."""
    billed_quantity: dict[Charge, Decimal] = defaultdict(Decimal)
    latest: dict[Charge, BilledLine] = {}
    for line in billed:
        if bill_from is not None and line.charge.period_key < bill_from:
            continue  # billed before the register's first day: never compared again
        billed_quantity[line.charge] += line.quantity
        if line.charge not in latest or latest[line.charge].document_id < line.document_id:
            latest[line.charge] = line
    lines = []
    for charge in sorted(owed.keys() | billed_quantity.keys(), key=_order):
        due = owed[charge].quantity if charge in owed else Decimal(0)
        difference = due - billed_quantity.get(charge, Decimal(0))
        if not difference:
            continue
        previous = latest.get(charge)
        product = owed[charge].product if charge in owed else previous.product  # type: ignore[union-attr]
        reversed_vat = previous.vat if difference < 0 and previous is not None else None
        lines.append(DraftLine(charge, difference, product, reversed_vat))
    return lines


def _order(charge: Charge) -> tuple[int, date, date, Decimal]:
    return (charge.line_no, charge.period_key, charge.start or charge.period_key, charge.unit_price)


def drafts(
    owed: Mapping[Charge, Owed], billed: Iterable[BilledLine], bill_from: date | None = None
) -> list[Draft]:
    """The documents that bring the register in line with the schedule: invoices (one per
    currency) first, then credit notes (one per invoice corrected)."""
    billed = list(billed)
    groups: dict[tuple[int, date, str], list[DraftLine]] = defaultdict(list)
    for line in differences(owed, billed, bill_from):
        groups[(line.charge.line_no, line.charge.period_key, line.charge.currency)].append(line)
    charged: dict[str, list[DraftLine]] = defaultdict(list)
    credited: dict[tuple[str, int], list[DraftLine]] = defaultdict(list)
    for (line_no, period_key, currency), lines in groups.items():
        if sum((line.net for line in lines), Decimal(0)) >= 0:
            charged[currency].extend(lines)
        else:
            source = _corrected(billed, line_no, period_key)
            credited[(currency, source)].extend(lines)
    documents = [
        Draft(DocumentKind.INVOICE, currency, tuple(sorted(lines, key=_line_order)))
        for currency, lines in sorted(charged.items())
    ]
    documents += [
        Draft(DocumentKind.CREDIT_NOTE, currency, tuple(sorted(lines, key=_line_order)), source)
        for (currency, source), lines in sorted(credited.items())
    ]
    return documents


def _line_order(line: DraftLine) -> tuple[int, date, bool, date, Decimal]:
    """Per billing period, what is reversed before what replaces it."""
    charge = line.charge
    return (
        charge.line_no,
        charge.period_key,
        line.quantity > 0,
        charge.start or charge.period_key,
        charge.unit_price,
    )


def _corrected(billed: list[BilledLine], line_no: int, period_key: date) -> int:
    """The invoice a credit for this billing period corrects: the latest one that billed it,
    or the one a later credit note for it corrected."""
    touched = sorted(
        (line for line in billed
         if line.charge.line_no == line_no and line.charge.period_key == period_key),
        key=lambda line: line.document_id,
        reverse=True,
    )  # fmt: skip
    for line in touched:
        if line.document_kind is DocumentKind.INVOICE:
            return line.document_id
        if line.corrects_id is not None:
            return line.corrects_id
    raise BillingError(f"line {line_no}, period {period_key}: nothing billed to credit")
