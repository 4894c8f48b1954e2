"""What a contract owes, billing period by billing period, from its versions: the schedule
the invoice run compares with what the register already billed.

The rule (docs/billing.md states it for users):

- **In advance, per billing period, counted from the contract's start.** Every recurring
  line of a contract bills per its billing period (weekly = 7 days, biweekly = 14, monthly,
  quarterly, half-yearly, yearly, every N months, …), the periods counted from the start
  date of the contract's first version, so a contract has one billing day whatever its
  lines: period k runs from start + k periods to the day before start + k + 1 periods
  (months kept on the start's day, or the month's last day when it is shorter). A period
  is billed whole, in advance, once its first day is on or before the run's date.
- **Pro rata by days.** Within a period, each run of days with the same terms (quantity,
  unit price, discount, currency) is one charge. A run that is not the whole period, because
  a line starts, ends, changes or loses its discount inside it, is charged
  unit price × days in the run ÷ days in the period, that unit price rounded half up to 4
  decimals; the line amount is then rounded to 2 decimals as every invoice line is.
- **The terms of a day** are those of the contract version in effect that day (the one with
  the highest number among those effective by then), of the line with that number in it, if
  the line runs that day: from its start date to its end date, else to the version's end
  date. A term that renews automatically is not billed past its end until the renewal's
  version exists (the renewal job makes it; the new term is then billed like any other).
  A discount counts through its end date.
- **One-off lines** (set-up fees) are charged once, whole, at the terms of the version in
  effect on the line's start date, when that day is on or before the run's date.

The result is a multiset: ``Charge`` (what is charged: line, billing period, days, price)
to quantity. The run subtracts what the register billed (invoices add, credit notes
subtract) and bills the difference, which is how it corrects periods billed before a
change: a period billed at 10 licences whose last half now has 12 reverses the 10 for the
whole period and charges 10 and 12 for the halves. The same contract and register always
give the same difference, so a second run finds nothing to bill.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from avtale import valuation
from avtale.dates import add_months
from avtale.vocabulary import ONE_OFF, period_months

PRICE_PLACES = Decimal("0.0001")
PERIOD_DAYS = {"weekly": 7, "biweekly": 14}


class LineTerms(valuation.LineTerms, Protocol):
    """A contract line (``ContractLine``) as the schedule reads it: what its value depends
    on (``avtale.valuation``), plus what names it on an invoice; a billed line has begun."""

    @property
    def line_no(self) -> int: ...
    @property
    def product(self) -> str: ...
    @property
    def start_date(self) -> date: ...


class VersionTerms(Protocol):
    """The fields of a contract version (``ContractVersion``) the schedule reads."""

    @property
    def version_no(self) -> int: ...
    @property
    def effective_date(self) -> date: ...
    @property
    def start_date(self) -> date: ...
    @property
    def end_date(self) -> date | None: ...
    @property
    def currency(self) -> str: ...
    @property
    def lines(self) -> Sequence[LineTerms]: ...


@dataclass(frozen=True, order=True)
class Charge:
    """What one quantity of a line is charged for: the billing period it belongs to (its
    first day is the key the register counts adjustments by), the days it covers and the
    price of those days. A one-off line has neither days nor a period end."""

    line_no: int
    period_key: date  # the billing period's first day; a one-off line's start date
    start: date | None  # the days charged, both included
    end: date | None
    period_end: date | None  # the billing period's last day
    unit_price: Decimal  # for the days charged: pro rata where they are not the whole period
    discount_percent: Decimal
    billing_period: str
    billing_interval_months: int | None
    currency: str

    @property
    def prorated(self) -> bool:
        return self.start is not None and (
            self.start != self.period_key or self.end != self.period_end
        )

    @property
    def days(self) -> int | None:
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).days + 1

    @property
    def period_days(self) -> int | None:
        if self.period_end is None:
            return None
        return (self.period_end - self.period_key).days + 1


@dataclass(frozen=True)
class Owed:
    """A charge's quantity and the product name it is billed under."""

    quantity: Decimal
    product: str


@dataclass(frozen=True)
class _Terms:
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    billing_period: str
    billing_interval_months: int | None
    currency: str


@dataclass(frozen=True)
class _Piece:
    """Days of one line with the same terms; ``end`` None: open."""

    line_no: int
    product: str
    start: date
    end: date | None
    line_start: date
    terms: _Terms


def _before(day: date) -> date:
    return day - timedelta(days=1)


def _version_spans(
    versions: Sequence[VersionTerms],
) -> Iterator[tuple[VersionTerms, date, date | None]]:
    """Each version with the days it is the one in effect (the highest number effective by
    then); a version superseded on its own first day has none."""
    starts = sorted({version.effective_date for version in versions})
    for index, first in enumerate(starts):
        in_force = max(
            (version for version in versions if version.effective_date <= first),
            key=lambda version: version.version_no,
        )
        last = _before(starts[index + 1]) if index + 1 < len(starts) else None
        yield in_force, first, last


def _earliest(*days: date | None) -> date | None:
    """The earliest of the days given; None (open) only when none is."""
    known = [day for day in days if day is not None]
    return min(known) if known else None


def _pieces(versions: Sequence[VersionTerms]) -> list[_Piece]:
    pieces = []
    for version, first, last in _version_spans(versions):
        for line in version.lines:
            start = max(first, line.start_date)
            end = _earliest(last, line.end_date or version.end_date)
            if end is not None and end < start:
                continue
            terms = _Terms(
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent or Decimal(0),
                billing_period=line.billing_period,
                billing_interval_months=line.billing_interval_months,
                currency=version.currency,
            )
            piece = _Piece(line.line_no, line.product, start, end, line.start_date, terms)
            pieces.extend(_split_at_discount_end(piece, line.discount_end_date))
    return _merged(pieces)


def _split_at_discount_end(piece: _Piece, discount_end: date | None) -> list[_Piece]:
    if not piece.terms.discount_percent or discount_end is None:
        return [piece]
    full = replace(piece, terms=replace(piece.terms, discount_percent=Decimal(0)))
    if discount_end < piece.start:
        return [full]
    if piece.end is not None and discount_end >= piece.end:
        return [piece]
    return [replace(piece, end=discount_end), replace(full, start=discount_end + timedelta(1))]


def _merged(pieces: list[_Piece]) -> list[_Piece]:
    """Adjacent days of one line with the same terms as one piece, so a version that
    changes nothing a line is priced by does not split its periods."""
    merged: list[_Piece] = []
    for piece in sorted(pieces, key=lambda p: (p.line_no, p.start)):
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous.line_no == piece.line_no
            and previous.end is not None
            and previous.end + timedelta(1) == piece.start
            and previous.terms == piece.terms
            and previous.line_start == piece.line_start
        ):
            merged[-1] = replace(previous, end=piece.end)
        else:
            merged.append(piece)
    return merged


def period_bounds(
    anchor: date, billing_period: str, interval: int | None, k: int
) -> tuple[date, date]:
    """The first and last day of billing period ``k`` counted from ``anchor``."""
    days = PERIOD_DAYS.get(billing_period)
    if days is not None:
        start = anchor + timedelta(days=k * days)
        return start, start + timedelta(days=days - 1)
    months = _months(billing_period, interval)
    return add_months(anchor, k * months), _before(add_months(anchor, (k + 1) * months))


def _months(billing_period: str, interval: int | None) -> int:
    months = period_months(billing_period, interval)
    if months is None or months.denominator != 1:
        raise ValueError(f"{billing_period} has no whole number of months to bill by")
    return int(months)


def _first_period(anchor: date, billing_period: str, interval: int | None, day: date) -> int:
    """The number of the billing period that contains ``day``."""
    days = PERIOD_DAYS.get(billing_period)
    if days is not None:
        return (day - anchor).days // days
    months = (day.year - anchor.year) * 12 + day.month - anchor.month
    k = months // _months(billing_period, interval)
    while period_bounds(anchor, billing_period, interval, k)[0] > day:
        k -= 1
    while period_bounds(anchor, billing_period, interval, k)[1] < day:
        k += 1
    return k


def _prorated(price: Decimal, days: int, period_days: int) -> Decimal:
    return (price * days / period_days).quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)


def _charges(
    piece: _Piece, anchor: date, limit: date, bill_from: date | None
) -> Iterator[tuple[Charge, Owed]]:
    terms = piece.terms
    owed = Owed(terms.quantity, piece.product)
    once = Charge(
        line_no=piece.line_no,
        period_key=piece.line_start,
        start=None,
        end=None,
        period_end=None,
        unit_price=terms.unit_price,
        discount_percent=terms.discount_percent,
        billing_period=terms.billing_period,
        billing_interval_months=terms.billing_interval_months,
        currency=terms.currency,
    )
    if terms.billing_period == ONE_OFF:
        day = piece.line_start
        in_piece = piece.start <= day and (piece.end is None or day <= piece.end)
        if in_piece and day <= limit and (bill_from is None or day >= bill_from):
            yield once, owed
        return
    period, interval = terms.billing_period, terms.billing_interval_months
    k = _first_period(anchor, period, interval, piece.start)
    while True:
        first, last = period_bounds(anchor, period, interval, k)
        if first > limit or (piece.end is not None and first > piece.end):
            return
        k += 1
        if bill_from is not None and first < bill_from:
            continue
        start = max(first, piece.start)
        end = last if piece.end is None else min(last, piece.end)
        price = terms.unit_price
        if (start, end) != (first, last):
            price = _prorated(price, (end - start).days + 1, (last - first).days + 1)
        yield replace(once, period_key=first, start=start, end=end, period_end=last,
                      unit_price=price), owed  # fmt: skip


def contract_anchor(versions: Sequence[VersionTerms]) -> date:
    """The day the contract's billing periods are counted from: its first version's start."""
    return min(versions, key=lambda version: version.version_no).start_date


def owed(
    versions: Sequence[VersionTerms],
    through: date,
    *,
    bill_from: date | None = None,
    limits: Mapping[int, date] | None = None,
) -> dict[Charge, Owed]:
    """Every charge of the contract whose billing period (or one-off day) starts on or
    before ``through``, or for line number n on or before ``limits[n]`` when that is later
    (the register billed that far ahead already and must compare that far), and not before
    ``bill_from``."""
    if not versions:
        return {}
    anchor = contract_anchor(versions)
    charges: dict[Charge, Owed] = {}
    for piece in _pieces(versions):
        limit = max(through, (limits or {}).get(piece.line_no, through))
        for charge, amount in _charges(piece, anchor, limit, bill_from):
            charges[charge] = amount
    return charges
