"""What a line and a contract are worth a month (avtale.valuation), on hand-computed cases.

The same lines through the dbt macro are in tests/test_vocabulary.py.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from avtale.valuation import Term, contract_mrr_on, line_mrr, line_mrr_on, version_mrr_on

D = Decimal


def line(period: str, quantity: str, price: str, **extra: Any) -> dict[str, Any]:
    return {
        "quantity": D(quantity),
        "unit_price": D(price),
        "billing_period": period,
        "discount_percent": D(0),
    } | extra


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (line("monthly", "3", "149"), D(447)),
        # A week is 12/52 of a month: 300 a week is 300 x 52 / 12 = 1300 a month.
        (line("weekly", "1", "300"), D(1300)),
        # Exact: 1234.56 x 52 / 12 is 5349.76, where a rounded 12/52 gives 5349.7599...
        (line("weekly", "1", "1234.56"), D("5349.76")),
        (line("weekly", "1", "149"), D(149 * 13) / D(3)),
        (line("biweekly", "1", "2600"), D(16900) / D(3)),  # 2600 x 26 / 12
        (line("biweekly", "2", "600"), D(2600)),  # 1200 x 26 / 12
        (line("quarterly", "2", "1200", discount_percent=D(25)), D(600)),  # 2400 x 0.75 / 3
        (line("half_yearly", "1", "6000"), D(1000)),
        (line("yearly", "1", "12000"), D(1000)),
        (line("two_yearly", "1", "24000"), D(1000)),
        (line("three_yearly", "1", "36000"), D(1000)),
        (line("four_yearly", "1", "48000"), D(1000)),
        (line("five_yearly", "1", "60000"), D(1000)),
        (line("every_n_months", "1", "2400", billing_interval_months=4), D(600)),
        (line("every_n_months", "1", "2400", billing_interval_months=1), D(2400)),
        # Not recurring revenue.
        (line("one_off", "1", "5000"), D(0)),
        # No interval, no period to spread the amount over: left out, as the marts do.
        (line("every_n_months", "1", "2400"), D(0)),
    ],
    ids=lambda value: value["billing_period"] if isinstance(value, dict) else "",
)
def test_line_mrr_per_billing_period(values: dict[str, Any], expected: Decimal) -> None:
    assert line_mrr(values) == expected


def test_an_unknown_billing_period_is_refused_not_valued_at_zero() -> None:
    with pytest.raises(ValueError, match="unknown billing period 'fortnightly'"):
        line_mrr(line("fortnightly", "1", "100"))


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # 2 x 1200 a quarter at 25 % off until 15 June: 600 while it runs, 800 after.
        (date(2025, 6, 14), D(600)),
        (date(2025, 6, 15), D(600)),  # the discount's last day
        (date(2025, 6, 16), D(800)),
        (date(2025, 6, 30), D(800)),  # the month's end, where the marts measure
    ],
)
def test_a_discount_ending_mid_month_counts_through_its_last_day(
    day: date, expected: Decimal
) -> None:
    discounted = line(
        "quarterly", "2", "1200", discount_percent=D(25), discount_end_date=date(2025, 6, 15)
    )
    assert line_mrr(discounted, day) == expected
    assert line_mrr(discounted) == D(600)  # without a day: as agreed


LINES = [
    line("monthly", "1", "100", start_date=date(2025, 1, 1)),
    line("weekly", "1", "30", start_date=date(2025, 1, 1), end_date=date(2025, 12, 31)),
    line("every_n_months", "1", "600", billing_interval_months=6, start_date=date(2025, 7, 1)),
    line(
        "monthly",
        "1",
        "200",
        discount_percent=D(50),
        discount_end_date=date(2025, 3, 31),
        start_date=date(2025, 1, 1),
        end_date=date(2025, 3, 31),
    ),
    line("one_off", "1", "5000", start_date=date(2025, 1, 1)),
]


@pytest.mark.parametrize(
    ("day", "term", "expected"),
    [
        # 100 + 30 x 52 / 12 (130) + the half-price 200 (100); the 600 starts in July.
        (date(2025, 3, 31), Term(), D(330)),
        (date(2025, 4, 1), Term(), D(230)),
        (date(2025, 7, 1), Term(), D(330)),  # + 600 / 6
        (date(2025, 12, 31), Term(), D(330)),
        (date(2026, 1, 1), Term(), D(200)),  # the weekly line ended
        # Lines without an end date end with the term.
        (date(2026, 1, 1), Term(end=date(2025, 12, 31)), D(0)),
        # An auto-renewing term goes on at its latest price, with the lines that ran to its
        # end; the line that ended in March stays ended.
        (date(2026, 1, 1), Term(end=date(2025, 12, 31), renews=True), D(330)),
        (date(2024, 12, 31), Term(), D(0)),  # nothing started yet
    ],
)
def test_contract_mrr_on_a_day(day: date, term: Term, expected: Decimal) -> None:
    assert contract_mrr_on(LINES, day, term) == expected
    assert sum((line_mrr_on(item, day, term) for item in LINES), D(0)) == expected


class Version:
    """A version as the ORM gives it: the terms ``version_mrr_on`` reads."""

    def __init__(self, auto_renew: bool, terminated_date: date | None) -> None:
        self.auto_renew = auto_renew
        self.terminated_date = terminated_date
        self.end_date: date | None = date(2025, 12, 31)
        self.lines = [line("monthly", "1", "100", start_date=date(2025, 1, 1))]


@pytest.mark.parametrize(
    ("auto_renew", "terminated", "expected"),
    [(True, None, D(100)), (False, None, D(0)), (True, date(2025, 12, 31), D(0))],
)
def test_a_version_renews_past_its_end_unless_terminated(
    auto_renew: bool, terminated: date | None, expected: Decimal
) -> None:
    version = Version(auto_renew, terminated)
    assert version_mrr_on(version, date(2025, 12, 31)) == D(100)
    assert version_mrr_on(version, date(2026, 2, 1)) == expected
