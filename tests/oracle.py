"""An independent, plain-Python reading of SPEC IX: MRR per customer and month.

It shares no code with ingestion/ or dbt/: it parses the export files itself
(csv module, its own number and date rules) and applies the definitions one
line and one month at a time. Tests compare the warehouse against it.
"""

from __future__ import annotations

import csv
import io
import re
from calendar import monthrange
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta

MONTHS_PER_PERIOD = {
    "monthly": 1,
    "quarterly": 3,
    "per_six_months": 6,
    "half_yearly": 6,
    "annually": 12,
    "yearly": 12,
    "per_two_years": 24,
    "two_yearly": 24,
    "per_three_years": 36,
    "three_yearly": 36,
}
LABELS = {
    "every six months": "per_six_months",
    "every two years": "per_two_years",
    "every three years": "per_three_years",
    "weekly": "weekly",
    "monthly": "monthly",
    "quarterly": "quarterly",
    "annually": "annually",
}


def read_rows(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    first = text.splitlines()[0]
    delimiter = max(";,\t", key=first.count)
    rows = list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
    return [{k.strip().lower(): (v or "").strip() for k, v in row.items() if k} for row in rows]


def pick(row: dict[str, str], *names: str) -> str:
    return next((row[n] for n in names if row.get(n)), "")


def number(text: str) -> float | None:
    t = text.replace(" ", "").replace("%", "")
    if not t:
        return None
    if re.search(r",\d+$", t):
        t = t.replace(".", "").replace(",", ".")
    try:
        return float(t.replace(",", ""))
    except ValueError:
        return None


def day(text: str) -> date | None:
    t = text.strip()
    try:
        if m := re.match(r"^(\d{4})-(\d{1,2})-(\d{1,2})", t):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.match(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})", t):
            return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        return None
    return None


class Unusable(Exception):
    """A value that makes its whole row unusable."""


def optional_day(text: str) -> date | None:
    """Empty is None; a non-empty value that is no date makes the row unusable."""
    if not text.strip():
        return None
    parsed = day(text)
    if parsed is None:
        raise Unusable(text)
    return parsed


def month_end(month: date) -> date:
    return month.replace(day=monthrange(month.year, month.month)[1])


class Portfolio:
    """Recurring lines (customer, start, end, mrr, undiscounted mrr, discount end)."""

    def __init__(self, fx: dict[str, float]) -> None:
        self.fx = dict(fx)
        self.lines: list[tuple[str, date, date | None, float, float, date | None]] = []

    def add(
        self,
        customer: str,
        start: date,
        end: date | None,
        amount: float,
        discount: float,
        period: str,
        interval: int | None,
        currency: str,
        discount_end: date | None = None,
    ) -> None:
        if period in ("", "one_off", "setup_fee"):
            return
        rate = self.fx[currency]
        if period == "weekly":
            full = amount * 52 / 12
        else:
            full = amount / (interval if period == "every_n_months" else MONTHS_PER_PERIOD[period])
        self.lines.append(
            (customer, start, end, full * (1 - discount / 100) * rate, full * rate, discount_end)
        )

    def customer_months(self, months: list[date]) -> dict[tuple[str, date], float]:
        out: dict[tuple[str, date], float] = defaultdict(float)
        for customer, start, end, mrr, undiscounted, discount_end in self.lines:
            for month in months:
                last = month_end(month)
                if start <= last and (end is None or end >= last):
                    running = discount_end is None or discount_end >= last
                    out[(customer, month)] += mrr if running else undiscounted
        return out


def hubspot(portfolio: Portfolio, folder: Path) -> None:
    companies: set[str] = set()
    deals: dict[str, dict[str, str]] = {}
    items: list[dict[str, str]] = []
    for path in sorted(folder.rglob("*.csv")):
        rows = read_rows(path)
        if not rows:
            continue
        keys = set(rows[0])
        if keys & {"deal name", "dealname"}:
            for r in rows:
                deals[pick(r, "record id", "hs_object_id")] = r
        elif keys & {"associated deal ids"}:
            items.extend(rows)
        elif keys & {"company name"}:
            companies.update(pick(r, "record id", "hs_object_id") for r in rows)
    for item in items:
        deal = deals.get(pick(item, "associated deal ids").split(";")[0])
        if deal is None:
            continue
        stage = re.sub("[^a-z]", "", pick(deal, "deal stage", "dealstage").lower())
        company = pick(deal, "associated company ids").split(";")[0]
        close = day(pick(deal, "close date", "closedate"))
        deal_currency = pick(deal, "currency", "deal_currency_code").upper()
        if stage != "closedwon" or company not in companies or close is None:
            continue
        created = pick(deal, "create date", "createdate")
        amount = pick(deal, "amount")
        if (created and day(created) is None) or (amount and number(amount) is None):
            continue  # an unusable deal row takes its line items with it
        if deal_currency and deal_currency not in portfolio.fx:
            continue
        qty = number(pick(item, "quantity"))
        price = number(pick(item, "unit price", "price"))
        currency = pick(item, "currency", "hs_line_item_currency_code") or deal_currency or "NOK"
        raw_start = pick(item, "billing start date", "hs_recurring_billing_start_date")
        start = day(raw_start) if raw_start else close
        freq = pick(item, "billing frequency", "recurringbillingfrequency").lower()
        freq = LABELS.get(freq, freq)
        term = pick(item, "term", "hs_recurring_billing_period").upper()
        if qty is None or price is None or start is None or currency.upper() not in portfolio.fx:
            continue
        if freq and freq not in MONTHS_PER_PERIOD and freq != "weekly":
            continue
        end = None
        if term:
            m = re.match(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$", term)
            if not m:
                continue
            years, months_, weeks, days = (int(g or 0) for g in m.groups())
            end = (
                start
                + relativedelta(months=12 * years + months_)
                + timedelta(days=7 * weeks + days)
                - timedelta(days=1)
            )
        discount = number(pick(item, "discount percentage", "hs_discount_percentage")) or 0
        portfolio.add(
            f"hubspot:{company}", start, end, qty * price, discount, freq, None, currency.upper()
        )


def generic(portfolio: Portfolio, folder: Path) -> None:
    customers, contracts, lines = set(), {}, []
    for path in sorted(folder.rglob("*.csv")):
        rows = read_rows(path)
        keys = set(rows[0]) if rows else set()
        if keys & {"serienummer", "serial_number"}:  # an asset register: no money in it
            continue
        if "line_id" in keys:
            lines.extend(rows)
        elif "contract_id" in keys:
            contracts.update({r["contract_id"]: r for r in rows})
        elif "customer_id" in keys:
            customers.update(r["customer_id"] for r in rows)
    for line in lines:
        try:
            generic_line(portfolio, line, contracts, customers)
        except Unusable:
            continue


def generic_line(
    portfolio: Portfolio, line: dict[str, str], contracts: dict, customers: set
) -> None:
    c = contracts.get(line["contract_id"])
    if c is None or c["customer_id"] not in customers:
        return
    c_start = optional_day(c["start_date"])
    for other in ("signed_date", "terminated_date"):
        optional_day(c.get(other, ""))
    if c_start is None:
        return
    c_end = optional_day(c.get("end_date", ""))
    if c_end is None and c.get("term_months"):
        c_end = c_start + relativedelta(months=int(number(c["term_months"]) or 0)) - timedelta(1)
    auto = c.get("auto_renew", "").lower() in ("true", "yes", "ja", "1", "y", "j", "x")
    terminated = optional_day(c.get("terminated_date", ""))
    l_end = optional_day(line.get("end_date", ""))
    if terminated:
        end = min(l_end or c_end or terminated, terminated)
    elif auto and (l_end is None or (c_end is not None and l_end >= c_end)):
        end = None
    else:
        end = l_end or c_end
    qty, price = number(line["quantity"]), number(line["unit_price"])
    discount = number(line.get("discount_percent", "")) or 0
    if qty is None or price is None or not 0 <= discount <= 100:
        return
    if (c.get("currency") or "NOK").upper() not in portfolio.fx:
        return
    currency = (line.get("currency") or c.get("currency") or "NOK").upper()
    if currency not in portfolio.fx:
        return
    period = line.get("billing_period") or "monthly"
    interval = int(number(line.get("billing_interval_months", "")) or 0) or None
    start = optional_day(line.get("start_date", "")) or c_start
    portfolio.add(
        f"generic:{c['customer_id']}",
        start,
        end,
        qty * price,
        discount,
        period,
        interval,
        currency,
        optional_day(line.get("discount_end_date", "")),
    )
