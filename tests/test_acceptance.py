"""Acceptance check: unseen HubSpot exports through the real command line.

A hand-made HubSpot portfolio (companies with labels in UTF-8 with BOM, deals
with labels, line items with internal names in Windows-1252 with `;`, decimal
commas and `dd.mm.yyyy`, a second line-items file with labels, an exact
duplicate of one file under another name, planning FX rates and bad rows of
every kind) goes through `avtale ingest` and `avtale refresh` as subprocesses.
`customer_months` and `mrr_movements` are then compared, customer-month by
customer-month, with a computation written here from SPEC IX M1-M4 and SPEC XI
on the in-memory definition of the portfolio below (the files are never
re-read), and every bad row must be in `quarantine`.

Nothing here imports project code.
"""

from __future__ import annotations

import calendar
import csv
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path, PurePath

import pytest

pytestmark = pytest.mark.slow

AVTALE = Path(sys.executable).parent / "avtale"
TOLERANCE = 0.01

# --------------------------------------------------------------------------
# The portfolio, as typed data
# --------------------------------------------------------------------------

FX = {"NOK": 1.0, "DKK": 1.55, "SEK": 0.98, "EUR": 11.62, "USD": 10.75}

# SPEC XI internal values -> months per billing period (None = weekly)
PERIOD_MONTHS: dict[str, int | None] = {
    "weekly": None,
    "monthly": 1,
    "quarterly": 3,
    "per_six_months": 6,
    "annually": 12,
    "per_two_years": 24,
    "per_three_years": 36,
}
LABELS = {
    "weekly": "Weekly",
    "monthly": "Monthly",
    "quarterly": "Quarterly",
    "per_six_months": "Every six months",
    "annually": "Annually",
    "per_two_years": "Every two years",
    "per_three_years": "Every three years",
}


def cid(n: int) -> str:
    return str(30100000000 + n)


def did(n: int) -> str:
    return str(40200000000 + n)


def lid(n: int) -> str:
    return str(50300000000 + n)


MISSING_COMPANY = "30199999999"
MISSING_DEAL = "40299999999"

COMPANIES = [
    # (n, name, country, industry)
    (1, "Bjørnstad Ærlig AS", "Norway", "Software"),
    (2, "Åkerö Ståhl AB", "Sweden", "Manufacturing"),
    (3, "Weißbier GmbH", "Germany", "Food & Beverage"),
    (4, "Københavns Løsninger ApS", "Denmark", "Consulting"),
    (5, "Nordic Trust ASA", "Norway", "Financial Services"),
    (6, "Fjord Analytics AS", "Norway", "Software"),
    (7, "Øresund Data ApS", "Denmark", "Software"),
    (8, "Grünwald Technik AG", "Germany", "Engineering"),
    (9, "Ljusdal Bygg AB", "Sweden", "Construction"),
    (10, "Hamar Hotelldrift AS", "Norway", "Hospitality"),
    (11, "Tromsø Sjømat AS", "Norway", "Seafood"),
    (12, "Malmö Mekaniska AB", "Sweden", "Manufacturing"),
    (13, "Aalborg Vind A/S", "Denmark", "Energy"),
    (14, "Espoo Ohjelmistot Oy", "Finland", "Software"),
    (15, "Bergen Båtservice AS", "Norway", "Maritime"),
]


@dataclass(frozen=True)
class Deal:
    n: int
    company: str  # as written in "Associated Company IDs"
    name: str
    stage: str  # as written in "Deal Stage"
    close: str  # as written in "Close Date"
    currency: str
    bad: bool = False

    @property
    def won(self) -> bool:
        return self.stage in ("Closed won", "closedwon")

    @property
    def company_id(self) -> str:
        return self.company.split(";")[0]

    @property
    def close_date(self) -> date:
        return date.fromisoformat(self.close[:10])


DEALS = [
    Deal(1, cid(1), "Bjørnstad – plattform", "Closed won", "2024-01-10 09:30", "NOK"),
    Deal(2, cid(1), "Bjørnstad – tillegg", "closedwon", "2024-06-03", "NOK"),
    Deal(3, cid(2), "Åkerö årsavtal", "Closed won", "2024-02-20", "SEK"),
    Deal(4, cid(2), "Åkerö återkomst", "Closed won", "2025-04-22 11:00", "SEK"),
    Deal(5, cid(3), "Weißbier Start", "Closed won", "2024-01-25", "EUR"),
    Deal(6, cid(3), "Weißbier Zwei Jahre", "Closed won", "2024-02-26", "EUR"),
    Deal(7, cid(4), "København ugentlig", "Closed won", "2024-02-01", "DKK"),
    Deal(8, cid(5), "Nordic Trust multi", "Closed won", "2024-03-05", "USD"),
    Deal(9, cid(6), "Fjord Analytics", "Closed won", "2024-04-17 13:45", "NOK"),
    Deal(10, cid(7), "Øresund 3 år", "Closed won", "2025-01-10", "DKK"),
    Deal(11, cid(8), "Grünwald verloren", "Closed lost", "2024-05-01", "EUR"),
    Deal(12, cid(8), "Grünwald offen", "Appointment scheduled", "2024-09-30", "EUR"),
    Deal(13, cid(9), "Ljusdal Bygg", "Closed won", "2024-03-10", "SEK"),
    Deal(14, cid(10), "Hamar Hotell", "Closed won", "2024-02-15", "NOK"),
    Deal(15, cid(11), "Tromsø framtid", "Closed won", "2026-05-20", "NOK"),
    Deal(16, cid(13), "Aalborg kvartal", "Closed won", "2024-06-20", "DKK"),
    Deal(17, cid(13), "Aalborg år", "Closed won", "2024-09-15", "EUR"),
    Deal(18, cid(14), "Espoo", "closedwon", "2024-08-01", "EUR"),
    Deal(19, f"{cid(15)};{cid(1)}", "Bergen Båt", "Closed won", "2024-05-15", "NOK"),
    Deal(20, cid(5), "Nordic Trust NOK", "Closed won", "2024-11-11", "NOK"),
    Deal(21, MISSING_COMPANY, "Ukjent kunde", "Closed won", "2024-03-01", "NOK", bad=True),
    Deal(22, cid(6), "Fjord tillegg", "Closed won", "2025-09-30 16:20", "NOK"),
    Deal(23, cid(14), "Espoo lisää", "closedwon", "2025-03-01", "EUR"),
    Deal(24, cid(10), "Hamar fornyelse", "Closed won", "2025-02-20", "NOK"),
    Deal(25, cid(15), "Bergen tapt", "closedlost", "2024-06-01", "NOK"),
]
DEAL_BY_ID = {did(d.n): d for d in DEALS}

A = "line_items_internal.csv"  # Windows-1252, ';', decimal comma, dd.mm.yyyy, internal names
B = "line_items_labels.csv"  # UTF-8, ',', decimal point, dd/mm/yyyy, labels
B_COPY = "line_items_labels (1).csv"  # the same bytes under another name


@dataclass(frozen=True)
class Line:
    n: int
    deal: str  # as written in "Associated Deal IDs"
    name: str
    qty: float
    price: float
    discount: float
    freq: str  # internal value; "" = one-off
    term: str  # ISO 8601, "" = until cancelled
    start: date | None  # None = the deal's close date
    currency: str  # "" = the deal's currency
    file: str
    label: bool = False  # write the frequency as its label
    raw: dict[str, str] | None = None  # overrides for bad rows: field -> raw text
    bad: bool = False

    @property
    def deal_id(self) -> str:
        return self.deal.split(";")[0]


def L(n, deal, name, qty, price, disc, freq, term, start, cur, file, **kw) -> Line:  # noqa: N802
    d = did(deal) if isinstance(deal, int) else deal
    s = date.fromisoformat(start) if start else None
    return Line(n, d, name, qty, price, disc, freq, term, s, cur, file, **kw)


LINES = [
    # customer 1: mid-month start, open-ended; overlapping second deal; a one-off
    L(1, 1, "Plattform – lisens", 10, 450, 0, "monthly", "", "2024-01-15", "", A),
    L(2, 1, "Oppstartsgebyr", 1, 15000, 0, "", "", "2024-01-15", "NOK", A),
    L(3, 2, "Tilleggsmodul", 4, 1234.5, 10, "quarterly", "P12M", "2024-06-10", "NOK", A),
    L(37, 2, "Tillegg to år", 1, 12345.67, 0, "annually", "P24M", "2024-06-10", "NOK", A),
    L(33, 1, "Plattform – lisens ekstra", 5, 450, 0, "monthly", "P6M", "2024-09-15", "NOK", A),
    # customer 2: starts 29 Feb 2024 for 12 months (P12M and P1Y), churn, reactivation
    L(4, 3, "Årslicens", 3, 24000, 0, "annually", "P12M", "2024-02-29", "SEK", A, label=True),
    L(35, 3, "Årslicens tillägg", 1, 6000, 0, "annually", "P1Y", "2024-02-29", "", B, label=True),
    L(5, 4, "Månadslicens", 2, 1990, 5, "monthly", "", "2025-05-01", "SEK", B, label=True),
    # customer 3: 31 Jan + P1M, churn, reactivation with two-yearly and weekly lines
    L(6, 5, "Einstieg", 1, 99, 0, "monthly", "P1M", "2024-01-31", "EUR", B, label=True),
    L(7, 6, "Zweijahresvertrag", 1, 4800, 0, "per_two_years", "P24M", "2024-03-01", "", B),
    L(34, 5, "Wochenservice", 1, 100, 0, "weekly", "", "2024-03-01", "EUR", B, label=True),
    L(42, 6, "Einrichtung", 1, 750, 0, "", "", "2024-03-01", "EUR", B),
    # customer 4: weekly, a one-off, 100 % discount, a weekly line with a term
    L(8, 7, "Ugentlig service", 2, 350, 0, "weekly", "", "2024-02-05", "DKK", A),
    L(9, 7, "Opsætning", 1, 5000, 0, "", "", "2024-02-05", "DKK", A),
    L(10, 7, "Gratis modul", 5, 200, 100, "monthly", "", "2024-02-05", "DKK", A),
    L(40, 7, "Ugentlig ekstra", 1, 500, 0, "weekly", "P6M", "2024-08-20", "DKK", B, label=True),
    # customer 5: USD (from the deal), EUR line on a USD deal, NOK deal
    L(11, 8, "Core (USD)", 1, 12000, 0, "annually", "", "2024-03-05", "", A),
    L(12, 8, "Support (EUR)", 1, 900, 15, "quarterly", "P2Y", "2024-04-01", "EUR", A),
    L(36, 8, "Onboarding", 1, 2500, 0, "", "", "2024-03-05", "USD", B),
    L(13, 20, "Brukere", 25, 89.9, 0, "monthly", "", "2024-11-15", "NOK", B, label=True),
    # customer 6: empty billing start date -> deal close date (with a time)
    L(14, 9, "Analyse halvår", 1, 30000, 20, "per_six_months", "P2Y6M", "", "NOK", A),
    L(15, 9, "Dashboards", 3, 250, 0, "per_six_months", "", "", "", B, label=True),
    L(31, 22, "Fjord ekstra", 2, 1500, 0, "quarterly", "", "", "NOK", B, label=True),
    # customer 7: three-yearly, P36M; monthly from 31 Jan for P12M
    L(16, 10, "Treårsaftale", 1, 72000, 0, "per_three_years", "P36M", "2025-01-15", "DKK", B, label=True),
    L(41, 10, "Øresund månedlig", 2, 800, 0, "monthly", "P12M", "2025-01-31", "DKK", A),
    # customer 8: closed lost and open deals only -> no MRR
    L(17, 11, "Verloren Lizenz", 1, 500, 0, "monthly", "", "2024-05-01", "EUR", A),
    L(18, 12, "Offen Lizenz", 2, 300, 0, "monthly", "", "2024-10-01", "EUR", B),
    # customer 9: ends on the 15th (gone from that month), a P30D pilot
    L(19, 13, "Byggprosjekt", 1, 6000, 0, "monthly", "P12M", "2024-03-16", "SEK", A),
    L(20, 13, "Pilot 30 dagar", 1, 2000, 0, "monthly", "P30D", "2024-05-05", "SEK", B),
    # customer 10: decimal quantity and discount, ends on a month end, renewal
    L(21, 14, "Hotellsystem", 2.5, 1999, 12.5, "monthly", "P12M", "2024-03-01", "NOK", A),
    L(38, 14, "Oppsett hotell", 1, 4990, 0, "", "", "2024-03-01", "NOK", A),
    L(22, 24, "Hotellsystem fornyet", 3, 1799, 0, "monthly", "", "2025-03-01", "NOK", B),
    # customer 11: future lines (contracted MRR); P1Y from a month end
    L(23, 15, "Sjømat månedlig", 4, 650, 0, "monthly", "", "2026-12-01", "NOK", A),
    L(24, 15, "Sjømat årlig", 1, 18000, 0, "annually", "P1Y", "2026-06-30", "NOK", A),
    # customer 13: quarterly DKK term, then a yearly EUR line (expansion, no churn)
    L(25, 16, "Kvartalsservice", 1, 9000, 0, "quarterly", "P3M", "2024-07-01", "DKK", A),
    L(26, 17, "Årsabonnement", 1, 6000, 0, "annually", "", "2024-10-01", "EUR", B, label=True),
    # customer 14: deal currency fallback; several associated deals -> the first
    L(27, 18, "Ohjelmisto", 6, 49.5, 0, "monthly", "", "2024-08-01", "", B),
    L(28, f"{did(23)};{did(18)}", "Lisämoduuli", 2, 120, 0, "quarterly", "P1Y", "2025-03-01", "EUR", B, label=True),
    L(39, 18, "Tuki kolme vuotta", 1, 3600, 0, "per_three_years", "P3Y", "2024-08-15", "EUR", A),
    # customer 15: deal associated with two companies -> the first
    L(29, 19, "Båtservice", 1, 2500, 0, "monthly", "", "2024-05-15", "NOK", A),
    L(43, 19, "Båtservice halvår", 1, 6000, 0, "per_six_months", "P1Y", "2024-05-31", "NOK", B, label=True),
    L(30, 25, "Bergen tapt", 1, 800, 0, "monthly", "", "2024-06-01", "NOK", B),
    # line of the deal whose company does not exist: quarantined with its deal (SPEC I3)
    L(32, 21, "Ukjent kunde linje", 1, 1000, 0, "monthly", "", "2024-03-01", "NOK", A),
    # bad rows
    L(90, 1, "Feil antall", 1, 450, 0, "monthly", "", "2024-02-01", "NOK", A, raw={"quantity": "abc"}, bad=True),
    L(91, 13, "Feil dato", 1, 100, 0, "monthly", "", "2024-04-01", "SEK", A, raw={"start": "31.04.2024"}, bad=True),
    L(92, 18, "Tuntematon valuutta", 1, 100, 0, "monthly", "", "2024-09-01", "XYZ", B, bad=True),
    L(93, MISSING_DEAL, "Ukjent avtale", 1, 100, 0, "monthly", "", "2024-03-01", "NOK", B, bad=True),
    L(94, 2, "Umulig dato", 1, 100, 0, "monthly", "", "2024-03-01", "NOK", B, raw={"start": "30/02/2024"}, bad=True),
    L(95, 16, "Feil rabatt", 1, 100, 0, "monthly", "", "2024-08-01", "DKK", B, raw={"discount": "ti"}, bad=True),
]  # fmt: skip

# --------------------------------------------------------------------------
# Writing the export files
# --------------------------------------------------------------------------


def num_comma(x: float) -> str:
    """Decimal comma, thousands dot for large values: 1234.5 -> '1.234,50'."""
    if x >= 1000:
        whole, frac = f"{x:,.2f}".split(".")
        return whole.replace(",", ".") + "," + frac
    if float(x).is_integer():
        return str(int(x))
    return repr(float(x)).replace(".", ",")


def num_point(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def write_companies(path: Path) -> list[tuple[str, int]]:
    header = [
        "Company name",
        "Phone Number",
        "Record ID",
        "Country/Region",
        "Company owner",
        "Industry",
        "Create Date",
        "Last Activity Date",
    ]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for n, name, country, industry in COMPANIES:
        w.writerow(
            [
                name,
                f"+47 2{n:02d} 00 000",
                cid(n),
                country,
                "Kari Nordmann" if n % 2 else "Sven Svensson",
                industry,
                f"2023-{(n % 12) + 1:02d}-0{(n % 9) + 1} 10:15",
                "",
            ]
        )
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    return []


def write_deals(path: Path) -> list[tuple[str, int]]:
    header = [
        "Deal Name",
        "Record ID",
        "Associated Company IDs",
        "Pipeline",
        "Deal Stage",
        "Close Date",
        "Amount",
        "Currency",
        "Deal owner",
        "Create Date",
        "Deal Type",
        "Last Modified Date",
    ]
    bad: list[tuple[str, int]] = []
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row, d in enumerate(DEALS, start=2):
        w.writerow(
            [
                d.name,
                did(d.n),
                d.company,
                "Sales Pipeline",
                d.stage,
                d.close,
                f"{1000 * d.n + 0.5:.2f}",
                d.currency,
                "Kari Nordmann",
                "2023-12-01 08:00",
                "New Business" if d.n % 3 else "Existing Business",
                "2025-01-01 00:00",
            ]
        )
        if d.bad:
            bad.append((path.name, row))
    path.write_text(buf.getvalue(), encoding="utf-8")
    return bad


def line_values(line: Line, *, comma: bool) -> dict[str, str]:
    num = num_comma if comma else num_point
    fmt = "%d.%m.%Y" if comma else "%d/%m/%Y"
    freq = LABELS[line.freq] if (line.label and line.freq) else line.freq
    values = {
        "id": lid(line.n),
        "name": line.name,
        "quantity": num(line.qty),
        "price": num(line.price),
        "discount": num(line.discount) if line.discount else "",
        "freq": freq,
        "term": line.term,
        "start": line.start.strftime(fmt) if line.start else "",
        "currency": line.currency,
        "deal": line.deal,
    }
    values.update(line.raw or {})
    return values


def write_line_items(path: Path, *, internal: bool) -> list[tuple[str, int]]:
    columns = {  # key -> header; column order differs from SPEC, extras ignored
        "deal": "Associated Deal IDs",
        "name": "name" if internal else "Name",
        "extra1": "hs_sku" if internal else "SKU",
        "id": "hs_object_id" if internal else "Record ID",
        "freq": "recurringbillingfrequency" if internal else "Billing frequency",
        "quantity": "quantity" if internal else "Quantity",
        "price": "price" if internal else "Unit price",
        "discount": "hs_discount_percentage" if internal else "Discount Percentage",
        "term": "hs_recurring_billing_period" if internal else "Term",
        "start": "hs_recurring_billing_start_date" if internal else "Billing start date",
        "currency": "hs_line_item_currency_code" if internal else "Currency",
        "extra2": "createdate" if internal else "Create Date",
    }
    file = A if internal else B
    bad: list[tuple[str, int]] = []
    buf = io.StringIO()
    w = csv.writer(
        buf, delimiter=";" if internal else ",", lineterminator="\r\n" if internal else "\n"
    )
    w.writerow(columns.values())
    row = 1
    for line in LINES:
        if line.file != file:
            continue
        row += 1
        values = line_values(line, comma=internal)
        values["extra1"] = f"SKU-{line.n:03d}"
        values["extra2"] = "01.01.2024 12:00" if internal else "01/01/2024 12:00"
        w.writerow([values[k] for k in columns])
        if line.bad:
            bad.append((file, row))
    path.write_bytes(buf.getvalue().encode("cp1252" if internal else "utf-8"))
    return bad


def line_row(line: Line) -> tuple[str, int]:
    same_file = [x for x in LINES if x.file == line.file]
    return line.file, same_file.index(line) + 2


# --------------------------------------------------------------------------
# The independent computation (SPEC IX M1-M4, SPEC XI)
# --------------------------------------------------------------------------


def month_end(d: date) -> date:
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def next_month(m: date) -> date:
    return add_months(m, 1)


def line_end(start: date, term: str) -> date | None:
    """SPEC XI: a term of n months from s is active s .. s + n months - 1 day."""
    if not term:
        return None
    match = re.fullmatch(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?", term)
    assert match, term
    years, months, days = (int(g or 0) for g in match.groups())
    return add_months(start, 12 * years + months) + timedelta(days=days) - timedelta(days=1)


def line_mrr(line: Line) -> float:
    """SPEC IX M1, in the line's currency."""
    if not line.freq:
        return 0.0  # one-off: not MRR
    amount = line.qty * line.price * (1 - line.discount / 100)
    months = PERIOD_MONTHS[line.freq]
    return amount * 52 / 12 if months is None else amount / months


@dataclass(frozen=True)
class Recurring:
    customer: str
    start: date
    end: date | None
    mrr_nok: float


def contract_lines() -> list[Recurring]:
    out = []
    for line in LINES:
        if line.bad:
            continue
        deal = DEAL_BY_ID.get(line.deal_id)
        if deal is None or deal.bad or not deal.won or not line.freq:
            continue
        start = line.start or deal.close_date
        currency = line.currency or deal.currency
        out.append(
            Recurring(
                deal.company_id,
                start,
                line_end(start, line.term),
                line_mrr(line) * FX[currency],
            )
        )
    return out


def horizon(lines: list[Line]) -> date:
    """docs/marts.md: the later of the current month and the month after the
    last known line start or end (at most five years ahead)."""
    today = date.today().replace(day=1)
    dates = []
    for line in lines:
        deal = DEAL_BY_ID.get(line.deal_id)
        if line.bad or deal is None or deal.bad or not deal.won:
            continue
        start = line.start or deal.close_date
        dates.append(start)
        end = line_end(start, line.term)
        if end:
            dates.append(end)
    last = next_month(max(dates).replace(day=1))
    return min(max(today, last), add_months(today, 60))


def expected_customer_months() -> tuple[dict[tuple[str, date], float], date]:
    """SPEC IX M2/M3: month-end snapshot, summed per customer, converted."""
    lines = contract_lines()
    last = horizon(LINES)
    month = min(r.start for r in lines).replace(day=1)
    out: dict[tuple[str, date], float] = {}
    while month <= last:
        eom = month_end(month)
        for r in lines:
            if r.start <= eom and (r.end is None or r.end >= eom):
                key = (r.customer, month)
                out[key] = out.get(key, 0.0) + r.mrr_nok
        month = next_month(month)
    # one row per customer from its first month with MRR to the horizon
    firsts: dict[str, date] = {}
    for (customer, m), v in out.items():
        if v > 0 and (customer not in firsts or m < firsts[customer]):
            firsts[customer] = m
    full: dict[tuple[str, date], float] = {}
    for customer, first in firsts.items():
        m = first
        while m <= last:
            full[(customer, m)] = out.get((customer, m), 0.0)
            m = next_month(m)
    return full, last


def expected_movements(
    months: dict[tuple[str, date], float],
) -> dict[tuple[str, date], tuple[str, float]]:
    """SPEC IX M4, per customer, month M against M-1."""
    out = {}
    for customer in {c for c, _ in months}:
        keys = sorted(m for c, m in months if c == customer)
        previous, had_mrr = 0.0, False
        for m in keys:
            mrr = months[(customer, m)]
            if abs(mrr - previous) > 1e-9:
                if previous == 0:
                    kind = "reactivation" if had_mrr else "new"
                elif mrr == 0:
                    kind = "churn"
                else:
                    kind = "expansion" if mrr > previous else "contraction"
                out[(customer, m)] = (kind, mrr - previous)
            had_mrr = had_mrr or mrr > 0
            previous = mrr
    return out


# --------------------------------------------------------------------------
# Running the command line once
# --------------------------------------------------------------------------


@dataclass
class Run:
    exports: Path
    ingest_output: str
    bad_rows: list[tuple[str, int]]
    customer_months: dict[tuple[str, date], float]
    movements: dict[tuple[str, date], tuple[str, float]]
    quarantine: list[dict[str, str]]
    loads: list[dict[str, str]]
    customers: dict[str, str]
    products: set[str]


def avtale(home: Path, *args: str, timeout: float = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AVTALE_HOME": str(home)}
    return subprocess.run(
        [str(AVTALE), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def sql(home: Path, query: str) -> list[dict[str, str]]:
    done = avtale(home, "sql", query, timeout=30)
    assert done.returncode == 0, f"avtale sql failed: {done.stderr}\n{query}"
    return list(csv.DictReader(io.StringIO(done.stdout)))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("acceptance")
    exports = root / "exports"
    exports.mkdir()
    home = root / "home"
    bad = write_companies(exports / "companies.csv")
    bad += write_deals(exports / "deals.csv")
    bad += write_line_items(exports / A, internal=True)
    bad += write_line_items(exports / B, internal=False)
    (exports / B_COPY).write_bytes((exports / B).read_bytes())
    rates = "currency,rate\n" + "".join(f"{c},{r}\n" for c, r in FX.items())
    (exports / "fx_rates.csv").write_text(rates, encoding="utf-8")

    ingested = avtale(home, "ingest", str(exports))
    output = ingested.stdout + ingested.stderr
    assert ingested.returncode == 0, output
    refreshed = avtale(home, "refresh")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr

    months = {
        (r["source_id"], date.fromisoformat(r["month"][:10])): float(r["mrr"] or 0)
        for r in sql(
            home,
            "SELECT c.source_id, m.month, m.mrr FROM customer_months m "
            "JOIN customers c USING (customer_id)",
        )
    }
    movements: dict[tuple[str, date], tuple[str, float]] = {}
    for r in sql(
        home,
        "SELECT c.source_id, v.month, v.movement, v.amount FROM mrr_movements v "
        "JOIN customers c USING (customer_id)",
    ):
        key = (r["source_id"], date.fromisoformat(r["month"][:10]))
        assert key not in movements, f"two movements for {key}"
        movements[key] = (r["movement"], float(r["amount"]))
    return Run(
        exports=exports,
        ingest_output=output,
        bad_rows=bad,
        customer_months=months,
        movements=movements,
        quarantine=sql(home, "SELECT source_file, row_number, field, reason FROM quarantine"),
        loads=sql(home, "SELECT source_file, kind, rows_read, rows_loaded FROM loads"),
        customers={r["source_id"]: r["name"] for r in sql(home, "SELECT * FROM customers")},
        products={r["product"] for r in sql(home, "SELECT product FROM contract_lines")},
    )


def quarantined(run: Run) -> set[tuple[str, int]]:
    return {(PurePath(r["source_file"]).name, int(r["row_number"])) for r in run.quarantine}


def bad_rows(run: Run) -> list[tuple[str, int]]:
    """Bad rows of B are expected under whichever of B / B_COPY was loaded."""
    loaded = {PurePath(r["source_file"]).name for r in run.loads}
    b_name = B if B in loaded else B_COPY
    return [(b_name if f == B else f, row) for f, row in run.bad_rows]


def fmt(d: dict) -> str:
    return "\n".join(f"  {k}: {v}" for k, v in sorted(d.items()))


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_ingest_reports_the_duplicate_as_skipped(run: Run) -> None:
    lines = [x for x in run.ingest_output.splitlines() if B_COPY in x or B in x]
    assert any(re.search(r"skip|duplicate|already", x, re.I) for x in lines), run.ingest_output


def test_the_duplicate_is_loaded_once(run: Run) -> None:
    names = [PurePath(r["source_file"]).name for r in run.loads]
    assert sorted(n for n in names if n in (B, B_COPY)) in ([B], [B_COPY]), names
    for name in ("companies.csv", "deals.csv", A, "fx_rates.csv"):
        assert name in names, names


def test_customer_months_match_an_independent_computation(run: Run) -> None:
    expected, last = expected_customer_months()
    actual = {k: v for k, v in run.customer_months.items() if k[1] <= last}
    mismatches = {
        key: (f"expected {expected.get(key, 0.0):.4f}", f"actual {actual.get(key, 0.0):.4f}")
        for key in sorted(set(expected) | set(actual))
        if abs(expected.get(key, 0.0) - actual.get(key, 0.0)) > TOLERANCE
    }
    assert not mismatches, f"{len(mismatches)} customer-months differ:\n{fmt(mismatches)}"
    # every customer with MRR has a row in every month from its first to the horizon
    missing = sorted(set(expected) - set(actual))
    assert not missing, f"customer-months missing: {missing}"


def test_customer_months_run_to_the_horizon(run: Run) -> None:
    _, last = expected_customer_months()
    assert max(m for _, m in run.customer_months) == last


def test_mrr_movements_match_an_independent_computation(run: Run) -> None:
    months, last = expected_customer_months()
    expected = expected_movements(months)
    actual = {k: v for k, v in run.movements.items() if k[1] <= last}
    differences = {}
    for key in sorted(set(expected) | set(actual)):
        want, got = expected.get(key, ("none", 0.0)), actual.get(key, ("none", 0.0))
        if want[0] != got[0] or abs(want[1] - got[1]) > TOLERANCE:
            differences[key] = (
                f"expected {want[0]} {want[1]:.4f}",
                f"actual {got[0]} {got[1]:.4f}",
            )
    assert not differences, f"{len(differences)} movements differ:\n{fmt(differences)}"


def test_movements_sum_to_the_change_in_mrr(run: Run) -> None:
    by_customer: dict[str, dict[date, float]] = {}
    for (customer, month), mrr in run.customer_months.items():
        by_customer.setdefault(customer, {})[month] = mrr
    for (customer, month), (_, amount) in run.movements.items():
        months = by_customer[customer]
        previous = months.get(add_months(month, -1), 0.0)
        assert abs(months.get(month, 0.0) - previous - amount) < 1e-6, (customer, month)


def test_every_bad_row_is_in_quarantine(run: Run) -> None:
    expected = bad_rows(run)
    assert len(expected) == 7
    missing = [row for row in expected if row not in quarantined(run)]
    assert not missing, f"not quarantined: {missing}\nquarantine: {run.quarantine}"


def test_no_good_row_is_in_quarantine(run: Run) -> None:
    allowed = set(bad_rows(run)) | orphans_of_the_bad_deal()
    extra = sorted(quarantined(run) - allowed)
    details = [
        r
        for r in run.quarantine
        if (PurePath(r["source_file"]).name, int(r["row_number"])) in extra
    ]
    assert not extra, f"good rows quarantined: {details}"


def orphans_of_the_bad_deal() -> set[tuple[str, int]]:
    return {line_row(x) for x in LINES if x.deal_id == did(21)}


def test_lines_of_a_quarantined_deal_are_quarantined(run: Run) -> None:
    """SPEC I3: nothing is dropped silently. The deal with no company is not
    loaded, so its (otherwise well-formed) line cannot be either."""
    orphans = orphans_of_the_bad_deal()
    assert orphans and orphans <= quarantined(run), run.quarantine


def test_no_customer_for_a_company_that_does_not_exist(run: Run) -> None:
    assert MISSING_COMPANY not in run.customers
    assert all(c != MISSING_COMPANY for c, _ in run.customer_months)


def test_nordic_letters_are_kept(run: Run) -> None:
    for n, name, _, _ in COMPANIES:
        assert run.customers.get(cid(n)) == name
    for product in ("Plattform – lisens", "Årslicens", "Sjømat månedlig", "Lisämoduuli"):
        assert product in run.products, sorted(run.products)
