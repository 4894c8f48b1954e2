"""What a contract is worth a month (SPEC IX M1, M2): one line's MRR, and a contract's on a
day. The one definition in Python of what ``dbt/macros/line_mrr.sql`` computes in the
marts; ``tests/test_valuation.py`` runs both on the same lines.

Lines come as ORM rows (``ContractLine``) or as mappings of the same field names (a form's
or a bulk preview's values), so this module needs neither SQLAlchemy nor the app.
Amounts are Decimal in the contract's currency, unrounded: rounding is for presenting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from avtale.vocabulary import period_months


class LineTerms(Protocol):
    """The fields of a contract line that its value depends on."""

    @property
    def quantity(self) -> Decimal: ...
    @property
    def unit_price(self) -> Decimal: ...
    @property
    def discount_percent(self) -> Decimal | None: ...
    @property
    def discount_end_date(self) -> date | None: ...
    @property
    def billing_period(self) -> str: ...
    @property
    def billing_interval_months(self) -> int | None: ...
    @property
    def start_date(self) -> date | None: ...
    @property
    def end_date(self) -> date | None: ...


class VersionTerms(Protocol):
    """The terms of a contract version that decide which of its lines run on a day."""

    @property
    def auto_renew(self) -> bool: ...
    @property
    def terminated_date(self) -> date | None: ...
    @property
    def end_date(self) -> date | None: ...
    @property
    def lines(self) -> Iterable[LineTerms | Mapping[str, Any]]: ...


@dataclass(frozen=True)
class Line:
    """A line given as values (a mapping of ``LineTerms``' names; missing ones are empty)."""

    quantity: Decimal
    unit_price: Decimal
    billing_period: str
    discount_percent: Decimal | None = None
    discount_end_date: date | None = None
    billing_interval_months: int | None = None
    start_date: date | None = None
    end_date: date | None = None

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Line:
        return cls(
            quantity=values["quantity"],
            unit_price=values["unit_price"],
            billing_period=values["billing_period"],
            discount_percent=values.get("discount_percent"),
            discount_end_date=values.get("discount_end_date"),
            billing_interval_months=values.get("billing_interval_months"),
            start_date=values.get("start_date"),
            end_date=values.get("end_date"),
        )


LineLike = LineTerms | Mapping[str, Any]


def _terms(line: LineLike) -> LineTerms:
    return Line.of(line) if isinstance(line, Mapping) else line


def line_mrr(line: LineLike, on: date | None = None) -> Decimal:
    """The line's MRR: quantity x unit price x (1 - discount) per month of its billing
    period (weekly x 52 / 12, exactly); 0 for a one-off line. On day ``on`` the discount
    counts only through its end date; without ``on``, as long as the line runs."""
    terms = _terms(line)
    months = period_months(terms.billing_period, terms.billing_interval_months)
    if months is None:
        return Decimal(0)
    discount = terms.discount_percent or Decimal(0)
    ends = terms.discount_end_date
    if on is not None and ends is not None and ends < on:
        discount = Decimal(0)
    amount = terms.quantity * terms.unit_price * (1 - discount / 100)
    # Times the denominator first: 12/52 is 3/13, and a weekly amount x 13 / 3 is exact
    # up to the one division, as the macro's amount x 52 / 12 is.
    return amount * months.denominator / months.numerator


@dataclass(frozen=True)
class Term:
    """The term a version's lines run in: a line without its own end date ends with the
    term's ``end``; a term that ``renews`` (automatically, and was not terminated) goes on
    past its end at its latest prices, with the lines that ran to its end (SPEC IX M2)."""

    end: date | None = None
    renews: bool = False

    @classmethod
    def of(cls, version: VersionTerms) -> Term:
        return cls(version.end_date, version.auto_renew and version.terminated_date is None)


def runs_on(line: LineLike, day: date, term: Term = Term()) -> bool:
    """Whether the line bills on ``day``: it has started and has not ended, as the marts
    date it (its own end date, else its term's; open while an auto-renewing term goes on)."""
    terms = _terms(line)
    if terms.start_date is not None and terms.start_date > day:
        return False
    end = terms.end_date if terms.end_date is not None else term.end
    if end is None or end >= day:
        return True
    return term.renews and term.end is not None and end >= term.end


def line_mrr_on(line: LineLike, day: date, term: Term = Term()) -> Decimal:
    """What the line adds to its contract's MRR on ``day``: its MRR that day (the discount
    as it stands then) if it runs then, else 0."""
    return line_mrr(line, day) if runs_on(line, day, term) else Decimal(0)


def contract_mrr_on(lines: Iterable[LineLike], day: date, term: Term = Term()) -> Decimal:
    """The MRR on ``day`` of a contract's lines running in ``term``."""
    return sum((line_mrr_on(line, day, term) for line in lines), Decimal(0))


def version_mrr_on(version: VersionTerms, day: date) -> Decimal:
    """The MRR on ``day`` of one contract version's lines in its own term. Whether the
    version is in force (not a draft, in effect on ``day``) is the caller's to decide."""
    return contract_mrr_on(version.lines, day, Term.of(version))
