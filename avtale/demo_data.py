"""A deterministic, realistic Nordic B2B subscription portfolio as export files.

About 85 % of the companies live in HubSpot exports (label format, plus a small
internal-name export in Windows-1252), about 15 % in the generic CSVs of an
accounting system (docs/formats.md), and an equipment register (``generic/assets.csv``)
of the machines their hardware service lines cover. The same (companies, seed, as_of) always
gives the same bytes: one ``random.Random`` drives everything and rows are written
in generation order, in big batches, so 300 000 companies stay cheap in memory.

Deliberately bad rows are *extra* rows (copies of a real row with a fresh id and
one broken field; bad deals and contracts get no lines), so quarantining them
leaves the portfolio intact. ``bad_rows.txt`` lists every one of them (CSV
inside, but not named .csv, so ``avtale ingest DIR`` passes it by).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from avtale.dates import add_months
from avtale.dates import today as business_today

FX_RATES = {"NOK": "1", "DKK": "1.55", "SEK": "0.98", "EUR": "11.6", "USD": "10.7"}
_RATE = {cur: float(rate) for cur, rate in FX_RATES.items()}


def _names(text: str) -> list[str]:
    return text.split(",")


# iso|HubSpot label|currency|weight|legal suffixes
_COUNTRIES = [
    row.split("|")
    for row in """\
NO|Norway|NOK|45|AS,AS,AS,ASA
DK|Denmark|DKK|20|ApS,ApS,A/S,I/S
SE|Sweden|SEK|20|AB,AB,AB,HB
DE|Germany|EUR|8|GmbH,GmbH,GmbH & Co. KG,UG
NL|Netherlands|EUR|7|B.V.,B.V.,B.V.,N.V.""".splitlines()
]
_ISOS, _WEIGHTS = [c[0] for c in _COUNTRIES], [int(c[3]) for c in _COUNTRIES]
_PREFIXES: dict[str, list[str]] = {iso: [] for iso in _ISOS}  # places and family names
for _row in """\
NO Bølgen Fjord Nordlys Bjørk Solberg Havbris Trønder Vestland Ålesund Fjellheim Lofoten
NO Skagerak Øya Hålogaland Glåmdal Tønsberg Mjøsa Sørlandets Bakke Haugen Sæther Løvås
DK Ærø Fyns Jysk Østjysk Søndergaard Nørrebro Aarhus Vejle Skjern Bornholms Møller Køge
DK Kærsgaard Himmerlands Thy Sønderborg Østerbro Hedegaard Vestergaard Ålborg
SE Göteborgs Västerås Malmö Örebro Luleå Skånes Norrlands Smålands Söders Åkers Umeå
SE Jönköpings Gävle Sundsvalls Dalarnas Lindqvists Björklunds Håkanssons Öbergs
DE Müller Schäfer Weiß Groß Köhler Bäcker Hoffmann Schröder Krüger Förster Jäger Böhm
DE Meißner Lüneburger Münchner Kölner Strauß
NL Van_der_Berg De_Vries Jansen Bakker Visser Smit Meijer De_Groot Mulder Van_Dijk
NL Brouwer Hendriks Dekker Zeeuwse Brabantse Utrechtse""".splitlines():
    _PREFIXES[_row[:2]] += [word.replace("_", " ") for word in _row[3:].split()]
_FAMILY = {"NO": "& Sønn", "DK": "& Søn", "SE": "& Söner", "DE": "& Söhne", "NL": "& Zonen"}
# HubSpot industry label|generic (Norwegian) label|name words in NO|DK|SE|DE|NL
_INDUSTRIES = [
    row.split("|")
    for row in """\
Accounting|Regnskap|Regnskap|Revision Regnskab|Redovisning|Steuerberatung|Accountants
Construction|Bygg og anlegg|Bygg Tømrer|Byg Tømrer|Bygg Måleri|Straßenbau Bau|Bouw Aannemers
Logistics and Supply Chain|Transport|Transport|Logistik Fragt|Åkeri|Spedition|Logistiek
Facilities Services|Renhold|Renhold|Rengøring|Städ|Gebäudereinigung|Schoonmaak
Hospital & Health Care|Helse|Tannhelse Legesenter|Tandklinik Lægehus|Tandvård|Pflegedienst|Zorg
Mechanical or Industrial Engineering|Industri|Maskin|Maskinfabrik|Verkstad|Metallbau|Metaalbouw
Electrical/Electronic Manufacturing|Elektro|Elektro|El-service|Elteknik|Elektrotechnik|Elektro
Restaurants|Hotell og restaurant|Kro Catering|Krog Catering|Krog|Gasthaus|Eetcafé Catering
""".splitlines()
]
_OWNERS = _names(
    "Ingrid Bakken,Ole Martin Håland,Sigrid Østby,Lars Eriksson,Mette Sørensen,"
    "Jonas Lindqvist,Åse Kvamme,Henrik Dahl"
)
_REASONS = _names("Byttet leverandør,Konkurs,For dyrt,Lav bruk,Oppkjøpt,Budsjettkutt")
_OPEN_STAGES = _names(
    "Appointment scheduled,Qualified to buy,Presentation scheduled,Decision maker bought-in,"
    "Contract sent,Venter på beslutning"  # the last one is seed 004's own stage
)
_DEAL_TYPES = {"new": "New Business", "comeback": "New Business", "renewal": "Renewal"}
_RENEG_TYPES = ["Tilleggslisenser / reforhandling"] * 2 + ["Renegotiation"]  # seed 004 mostly
_INTERNAL_TYPES = {"New Business": "newbusiness", "Renewal": "renewal"}
_INTERNAL_TYPES |= {_RENEG_TYPES[0]: "reforhandling", "Renegotiation": "renegotiation"}

LICENCE = "Assist licence"
# product, list price per billing period in NOK, billing period, share of new agreements
_EXTRAS = [
    ("Digital oppstart", 4900, "one_off", 0.40),  # start line, always at 100 % discount
    ("Onboarding fee", 7500, "setup_fee", 0.45),
    ("Premium support", 4500, "quarterly", 0.25),
    ("Hardware service", 1900, "yearly", 0.12),
    ("Internal audit", 6900, "half_yearly", 0.05),
    ("Safety inspection", 950, "weekly", 0.03),
    ("ISO certification support", 18000, "two_yearly", 0.03),
    ("E-learning package", 3900, "every_n_months", 0.04),  # generic only: HubSpot has no N
]
_ONE_OFF = ("one_off", "setup_fee")
_HS_FREQ = {  # canonical (generic) period -> HubSpot label, internal value, amount per year
    "weekly": ("Weekly", "weekly", 52), "monthly": ("Monthly", "monthly", 12),
    "quarterly": ("Quarterly", "quarterly", 4), "yearly": ("Annually", "annually", 1),
    "half_yearly": ("Every six months", "per_six_months", 2),
    "two_yearly": ("Every two years", "per_two_years", 1),
    "one_off": ("", "", 1), "setup_fee": ("", "", 1),
}  # fmt: skip
_FILES = {  # kind: path, encoding, delimiter, header
    "hubspot_companies": ("hubspot/companies.csv", "utf-8", ",", _names(
        "Record ID,Company name,Company owner,Create Date,Country/Region,Industry")),
    "hubspot_deals": ("hubspot/deals.csv", "utf-8", ",", _names(
        "Record ID,Deal Name,Deal Stage,Pipeline,Close Date,Amount,Deal owner,Create Date,"
        "Deal Type,Currency,Associated Company IDs")),
    "hubspot_line_items": ("hubspot/line_items.csv", "utf-8", ",", _names(
        "Record ID,Name,Quantity,Unit price,Discount Percentage,Billing frequency,Term,"
        "Billing start date,Currency,Associated Deal IDs")),
    "hubspot_deals_nordics": ("hubspot/deals_nordics_export.csv", "cp1252", ";", _names(
        "hs_object_id,dealname,dealstage,pipeline,closedate,amount,hubspot_owner_id,"
        "createdate,dealtype,deal_currency_code,Associated Company IDs")),
    "hubspot_line_items_nordics": ("hubspot/line_items_nordics_export.csv", "cp1252", ";", _names(
        "hs_object_id,name,quantity,price,hs_discount_percentage,recurringbillingfrequency,"
        "hs_recurring_billing_period,hs_recurring_billing_start_date,"
        "hs_line_item_currency_code,Associated Deal IDs")),
    "generic_customers": ("generic/customers.csv", "utf-8-sig", ";", _names(
        "customer_id,name,org_number,country,owner,industry,created_date")),
    "generic_contracts": ("generic/contracts.csv", "utf-8-sig", ";", _names(
        "contract_id,customer_id,name,owner,start_date,signed_date,term_months,end_date,"
        "auto_renew,renewal_term_months,notice_months,currency,terminated_date,"
        "termination_reason")),
    "generic_contract_lines": ("generic/contract_lines.csv", "utf-8-sig", ";", _names(
        "line_id,contract_id,product,quantity,unit_price,discount_percent,discount_end_date,"
        "billing_period,billing_interval_months,start_date,end_date,currency")),
    # An equipment register (seed 002): the machines the hardware service lines cover,
    # in headers a Norwegian service company would write.
    "generic_assets": ("generic/assets.csv", "utf-8-sig", ";", _names(
        "Serienummer,Modell,Plassering,customer_id,contract_id,line_id,Installert")),
}  # fmt: skip
_MODELS = _names("Assist Terminal T2,Assist Terminal T3,Assist Kiosk K1,Assist Skanner S4")
_SITES = _names("Hovedkontor,Lager,Verksted,Butikk,Resepsjon,Avdeling Nord")
HARDWARE = "Hardware service"  # the line an installed asset is covered by
# Never-allocated ids (below each id range): references to them dangle on purpose.
MISSING_COMPANY, MISSING_DEAL = "4990000001", "9990000001"
MISSING_CUSTOMER, MISSING_CONTRACT = "99999999", "A1999-999999"
_DATE, _CUR = "impossible date", ("currency", "unknown currency", "XYZ")
_BAD = {  # kind -> the deliberate bad rows it gets: field, reason, bad value
    "hubspot_line_items": [
        ("Quantity", "non-numeric quantity", "abc"), ("Billing start date", _DATE, "2024-02-30"),
        ("Currency", *_CUR[1:]), ("Associated Deal IDs", "unknown deal", MISSING_DEAL)],
    "hubspot_deals": [
        ("Close Date", _DATE, "2024-02-30"), ("Currency", *_CUR[1:]),
        ("Associated Company IDs", "unknown company", MISSING_COMPANY)],
    "generic_contract_lines": [
        ("quantity", "non-numeric quantity", "abc"), ("start_date", _DATE, "31.02.2024"), _CUR,
        ("contract_id", "unknown contract", MISSING_CONTRACT)],
    "generic_contracts": [
        ("start_date", _DATE, "31.02.2024"), _CUR,
        ("customer_id", "unknown customer", MISSING_CUSTOMER)],
}  # fmt: skip
BAD_EVERY, BAD_MIN = 1000, 5  # about 0.1 % of the rows; at least five of each kind per file
_ID_KIND = {"hubspot_deals": "deal", "hubspot_line_items": "line"}


@dataclass(slots=True)
class Line:
    product: str
    qty: int
    cents: int  # unit price per billing period, in the agreement's currency
    discount: int
    period: str  # canonical billing period: the generic CSV names
    start: date
    stop: date | None = None  # first day no longer active; None = until cancelled
    discount_end: date | None = None


@dataclass(slots=True)
class Agreement:
    """A deal (HubSpot) or a contract (generic); a ``reneg`` one amends the one before."""

    kind: str  # new, comeback, renewal, reneg
    stage: str  # won, lost, open
    start: date
    close: date
    term: int | None  # months; None = until cancelled
    lines: list[Line]
    stop: date | None = None  # first day after the agreement
    auto_renew: bool = False
    notice: int = 3
    reason: str = ""  # termination reason


def _whole_months(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month - (b.day < a.day)


def _nordic(d: date | None) -> str:
    return "" if d is None else f"{d.day:02d}.{d.month:02d}.{d.year}"


def _money(cents: int, decimal: str = ".", thousands: bool = False) -> str:
    text = f"{cents / 100:,.2f}" if thousands else f"{cents // 100}.{cents % 100:02d}"
    return text if decimal == "." else text.translate(str.maketrans(",.", ".,"))


def _scale(cents: float, cur: str, factor: float = 1.0) -> int:
    """Cents rounded like a price list: whole kroner, ten euro/dollar cents."""
    step = 10 if cur in ("EUR", "USD") else 100
    return max(step, round(cents * factor / step) * step)


def _price(nok: float, cur: str) -> int:
    return _scale(nok * 100 / _RATE[cur], cur)


def _new_lines(rng: random.Random, cur: str, start: date, generic: bool) -> list[Line]:
    yearly = rng.random() < 0.35
    qty = min(2000, int(rng.lognormvariate(2.4, 1.0)) + 1)
    list_price = _scale(_price(1290 if yearly else 119, cur), cur, rng.choice((0.9, 1, 1, 1.1)))
    discount = rng.choice((0, 0, 0, 0, 5, 10, 15, 20))
    lines = [Line(LICENCE, qty, list_price, discount, "yearly" if yearly else "monthly", start)]
    if generic and discount and rng.random() < 0.4:  # an introductory price for some months
        lines[0].discount_end = add_months(start, rng.choice((3, 6, 12))) - timedelta(days=1)
    for product, nok, period, share in _EXTRAS:
        if rng.random() < share and (generic or period != "every_n_months"):
            qty = rng.randint(1, 12) if product == "Hardware service" else 1
            discount = 100 if product == "Digital oppstart" else 0
            lines.append(Line(product, qty, _price(nok, cur), discount, period, start))
    return lines


def _copies(rng: random.Random, lines: list[Line], start: date, cur: str) -> list[Line]:
    """The running recurring lines again from ``start``, 0-6 % dearer (a renewal)."""
    uplift = 1 + rng.randint(0, 6) / 100
    return [Line(x.product, x.qty, _scale(x.cents, cur, uplift), x.discount, x.period, start)
            for x in lines]  # fmt: skip


def _renegotiate(
    rng: random.Random, ag: Agreement, active: list[Line], day: date, cur: str
) -> Agreement:
    """Seed 004: the licence line ends, a changed one starts that day, oppstart at 100 %."""
    old = [line for line in active if line.product == LICENCE][-1]
    qty = max(1, round(old.qty * rng.uniform(0.6, 1.6)))
    qty += qty == old.qty  # a renegotiation always changes the licence count
    cents = old.cents if rng.random() < 0.6 else _scale(old.cents, cur, rng.uniform(0.95, 1.05))
    new = Line(LICENCE, qty, cents, old.discount, old.period, day, old.stop)
    old.stop = day
    active.append(new)
    lines = [new, Line("Digital oppstart", 1, _price(4900, cur), 100, "one_off", day)]
    term = _whole_months(day, ag.stop) if ag.term and ag.stop else None
    close = day - timedelta(days=rng.randint(2, 10))
    return Agreement("reneg", "won", day, close, term, lines, ag.stop, ag.auto_renew)


def _pipeline(kind: str, stage: str, close: date, lines: list[Line]) -> Agreement:
    """A deal that is not (yet) a contract: open or lost, with a quote of two lines."""
    return Agreement(kind, stage, close, close, None, lines[:2])


def _timeline(rng: random.Random, as_of: date, cur: str, generic: bool) -> list[Agreement]:
    """One customer's life: agreements, renegotiations, renewals, churn and comebacks."""
    offset = int(50 * rng.random() ** 0.8) - 48  # more starts lately: a growing business
    day = 1 if rng.random() < 0.55 else rng.randint(2, 28)
    start = add_months(as_of.replace(day=day), offset)
    out: list[Agreement] = []
    if not generic and rng.random() < 0.07:  # a prospect: pipeline only, never a contract
        close = min(as_of, start) if rng.random() < 0.5 else as_of + timedelta(rng.randint(5, 60))
        lines = _new_lines(rng, cur, close, False)
        return [_pipeline("new", "lost" if close <= as_of else "open", close, lines)]
    if not generic and rng.random() < 0.08:  # an earlier attempt that was lost
        close = start - timedelta(days=rng.randint(60, 300))
        out.append(_pipeline("new", "lost", close, _new_lines(rng, cur, close, False)))
    kind, carried, prev_term = "new", list[Line](), None
    while True:
        close = start - timedelta(days=rng.randint(3, 40))
        if close > as_of:  # not signed yet: an open deal
            if not generic:
                out.append(_pipeline(kind, "open", close, _new_lines(rng, cur, start, False)))
            break
        if kind == "renewal":
            term = 12 if rng.random() < 0.7 else prev_term
            lines = _copies(rng, carried, start, cur)
        else:
            term = rng.choice((12, 12, 24, 36, None)) if rng.random() < 0.85 else None
            lines = _new_lines(rng, cur, start, generic)
        auto = generic and term is not None and rng.random() < 0.65
        ag = Agreement(kind, "won", start, close, term, lines, None, auto, rng.choice((1, 3, 3, 6)))
        ag.stop = add_months(start, term) if term and not auto else None
        active = [line for line in lines if line.period not in _ONE_OFF]
        for line in active:
            line.stop = ag.stop
        out.append(ag)
        last_change, prev_term = start, term
        horizon = min(ag.stop, as_of) if ag.stop else as_of
        months = _whole_months(start, horizon) if horizon > start else 0
        if months >= 3 and rng.random() < 0.25:
            when = add_months(start, rng.randint(1, months - 1))
            out.append(_renegotiate(rng, ag, active, when, cur))
            last_change = when
        if ag.stop is None:  # runs on (auto-renewing or until cancelled) unless terminated
            stop = _termination(rng, ag, last_change, as_of)
            if stop is None:
                break
            ag.stop, ag.reason = stop, rng.choice(_REASONS)
            for line in active:
                line.stop = line.stop or stop
        else:
            stop = ag.stop
            if stop - timedelta(days=rng.randint(10, 60)) > as_of:  # renewal not decided yet
                if not generic and (stop - as_of).days < 90 and rng.random() < 0.4:
                    out.append(_pipeline("renewal", "open", stop, _copies(rng, active, stop, cur)))
                break
            if rng.random() < 0.7:
                kind, carried, start = "renewal", [x for x in active if x.stop == stop], stop
                continue
            if not generic and rng.random() < 0.2:
                close = min(as_of, stop - timedelta(days=20))
                out.append(_pipeline("renewal", "lost", close, _copies(rng, active, stop, cur)))
        if rng.random() >= 0.3:  # churned for good; otherwise back some months later
            break
        kind = "comeback"
        start = add_months(stop, rng.randint(2, 14)).replace(day=rng.randint(1, 28))
    return out


def _termination(rng: random.Random, ag: Agreement, after: date, as_of: date) -> date | None:
    """The stop date of a running agreement that gets terminated, else None."""
    if rng.random() >= (0.3 if ag.auto_renew else 0.2):
        return None
    if not ag.auto_renew:  # until cancelled: at some month anniversary
        months = _whole_months(after, as_of)
        return add_months(after, rng.randint(1, months)) if months >= 1 else None
    assert ag.term is not None  # auto-renewing: at a term end whose notice deadline passed
    ends = [add_months(ag.start, ag.term + 12 * j) for j in range(40)]
    ends = [end for end in ends if end > after and add_months(end, -ag.notice) <= as_of]
    return rng.choice(ends) if ends else None


def _company(rng: random.Random) -> tuple[str, str, str, str, list[str]]:
    """Name, country iso, country label, currency and industry row of a new company."""
    iso, label, cur, _, suffixes = rng.choices(_COUNTRIES, weights=_WEIGHTS)[0]
    industry = rng.choice(_INDUSTRIES)
    family = f" {_FAMILY[iso]}" if rng.random() < 0.12 else ""
    word = rng.choice(industry[2 + _ISOS.index(iso)].split())
    name = f"{rng.choice(_PREFIXES[iso])}{family} {word} {rng.choice(suffixes.split(','))}"
    cur = "USD" if rng.random() < 0.03 else cur  # a few group contracts in dollars
    return name, iso, label, cur, industry


def _org_number(rng: random.Random, iso: str) -> str:
    if iso == "NO":  # with a valid mod-11 check digit, like Brønnøysund's
        while True:
            digits = [rng.choice((8, 9))] + [rng.randrange(10) for _ in range(7)]
            total = sum(w * d for w, d in zip((3, 2, 7, 6, 5, 4, 3, 2), digits, strict=True))
            if (check := (11 - total % 11) % 11) < 10:
                return "".join(map(str, digits)) + str(check)
    if iso == "SE":  # the last digit made the Luhn check digit, like Bolagsverket's
        body = f"55{rng.randint(6000, 9999)}{rng.randint(1000, 9999)}"[:9]
        doubled = [int(d) * (2 - i % 2) for i, d in enumerate(body)]
        check = -sum(x - 9 if x > 9 else x for x in doubled) % 10
        return f"{body[:6]}-{body[6:]}{check}"
    if iso == "DK":  # a CVR number: the weighted sum (2 7 6 5 4 3 2 1) divisible by 11
        digits = [int(d) for d in str(rng.randint(10**7, 10**8 - 1))[:7]]
        while (
            check := -sum(w * d for w, d in zip((2, 7, 6, 5, 4, 3, 2), digits, strict=True)) % 11
        ) > 9:
            digits[6] = (digits[6] + 1) % 10
        return "".join(map(str, digits)) + str(check)
    return f"HRB {rng.randint(1000, 250000)}" if iso == "DE" else str(rng.randint(10**7, 10**8 - 1))


def _amount(lines: list[Line]) -> int:
    """Deal amount: a year of the recurring lines plus the one-offs."""
    return sum(x.qty * x.cents * (100 - x.discount) // 100 * _HS_FREQ[x.period][2] for x in lines)


class _Sink:
    """One csv file written in big batches; knows each record's spreadsheet row number."""

    def __init__(self, out_dir: Path, kind: str) -> None:
        self.name, encoding, delimiter, self.header = _FILES[kind]
        self.path = out_dir / self.name
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = self.path.open("w", encoding=encoding, newline="")
        self.writer = csv.writer(self.fh, delimiter=delimiter, lineterminator="\r\n")
        self.writer.writerow(self.header)
        self.batch: list[list[str]] = []
        self.count = 0
        self.last: list[str] = []  # latest good record: the template of bad ones
        self.bad_kinds = _BAD.get(kind, [])
        self.bad_made = [0] * len(self.bad_kinds)
        self.id_kind = _ID_KIND.get(kind, "")

    def add(self, row: list[str]) -> int:
        """Queues a record; returns its row number (header = 1, first record = 2)."""
        self.batch.append(row)
        self.count += 1
        if len(self.batch) >= 20_000:
            self.writer.writerows(self.batch)
            self.batch = []
        return self.count + 1

    def close(self) -> Path:
        self.writer.writerows(self.batch)
        self.fh.close()
        return self.path


class _Writer:
    def __init__(self, out_dir: Path, rng: random.Random, as_of: date, seed: int = 0) -> None:
        self.rng, self.as_of = rng, as_of
        # The asset register draws from its own generator: the rest of the portfolio is
        # the same bytes as before it existed.
        self.asset_rng = random.Random(f"assets-{seed}")
        self.n_assets = 0
        self.sinks = {kind: _Sink(out_dir, kind) for kind in _FILES}
        self.ids = {"company": 5_000_000_000, "deal": 10_000_000_000, "line": 20_000_000_000}
        self.manifest = [["file", "row_number", "field", "reason"]]
        self.prev_company, self.serial = "", 0
        self.n_customers = self.n_contracts = self.n_lines = 0

    def next_id(self, kind: str) -> str:
        """HubSpot-like ids with gaps; disjoint ranges keep them unique portfolio-wide."""
        self.ids[kind] += self.rng.randint(1, 40)
        return str(self.ids[kind])

    def emit(self, kind: str, row: list[str]) -> None:
        sink = self.sinks[kind]
        sink.add(row)
        sink.last = row
        if sink.bad_kinds and sink.count % BAD_EVERY == 0:
            self._bad(sink, sink.count // BAD_EVERY % len(sink.bad_kinds))

    def _bad(self, sink: _Sink, kind: int) -> None:
        field, reason, value = sink.bad_kinds[kind]
        bad = list(sink.last)
        self.serial += 1
        bad[0] = self.next_id(sink.id_kind) if sink.id_kind else f"{bad[0]}-{self.serial}"
        bad[sink.header.index(field)] = value
        sink.bad_made[kind] += 1
        self.manifest.append([sink.name, str(sink.add(bad)), field, reason])

    def hubspot_company(self) -> None:
        rng, as_of = self.rng, self.as_of
        name, _, country, cur, industry = _company(rng)
        cid, owner = self.next_id("company"), rng.choice(_OWNERS)
        timeline = _timeline(rng, as_of, cur, generic=False)
        first = min([as_of] + [ag.close for ag in timeline])
        created = first - timedelta(days=rng.randint(20, 400))
        stamp = f"{created.isoformat()} {rng.randint(7, 17):02d}:{rng.randrange(60):02d}"
        self.emit("hubspot_companies", [cid, name, owner, stamp, country, industry[0]])
        nordics = rng.random() < 0.02  # this customer's deals come from the API export
        links = cid
        if self.prev_company and rng.random() < 0.005:  # two associations: the first counts
            links = f"{cid};{self.prev_company}"
        self.prev_company = cid
        for ag in timeline:
            if ag.stage == "won" or not nordics:
                self._deal(ag, name, owner, cur, links, nordics)

    def _deal(
        self, ag: Agreement, company: str, owner: str, cur: str, links: str, nordics: bool
    ) -> None:
        rng, did = self.rng, self.next_id("deal")
        owner = owner if rng.random() < 0.85 else rng.choice(_OWNERS)  # a colleague closed it
        pipeline = "Assist" if rng.random() < 0.9 else "Sales Pipeline"
        created = min(self.as_of, ag.close - timedelta(days=rng.randint(5, 60)))
        dtype = rng.choice(_RENEG_TYPES) if ag.kind == "reneg" else _DEAL_TYPES[ag.kind]
        suffix = "REFORHANDLING" if ag.kind == "reneg" else f"Assist {ag.start.year}"
        fmt_date: Callable[[date], str] = _nordic if nordics else date.isoformat
        money = partial(_money, decimal="," if nordics else ".")
        if nordics:  # internal names and values, as API-based export tools write them
            stage, dtype, kind = "closedwon", _INTERNAL_TYPES[dtype], "hubspot_deals_nordics"
        else:
            stage = {"won": "Closed won", "lost": "Closed lost"}.get(ag.stage, "")
            stage, kind = stage or rng.choice(_OPEN_STAGES), "hubspot_deals"
        stamp = f"{fmt_date(created)} {rng.randint(7, 17):02d}:{rng.randrange(60):02d}"
        row = [did, f"{company} - {suffix}", stage, pipeline, fmt_date(ag.close)]
        row += [money(_amount(ag.lines))]
        self.emit(kind, row + [owner, stamp, dtype, cur, links])
        kind = kind.replace("deals", "line_items")
        for line in ag.lines:
            label, value, _ = _HS_FREQ[line.period]
            freq = value if nordics or rng.random() < 0.4 else label  # both are valid
            term = ""  # until cancelled, or a one-off
            if line.stop and line.period not in _ONE_OFF:
                term = f"P{_whole_months(line.start, line.stop)}M"
            row = [self.next_id("line"), line.product, str(line.qty), money(line.cents)]
            row += [str(line.discount or ""), freq, term, fmt_date(line.start), cur, did]
            self.emit(kind, row)
            if ag.stage == "won":
                self._assets(line, ag, links.split(";")[0], did, row[0])

    def generic_customer(self) -> None:
        rng = self.rng
        name, iso, _, cur, industry = _company(rng)
        self.n_customers += 1
        cust, owner = str(20000 + self.n_customers), rng.choice(_OWNERS)
        timeline = _timeline(rng, self.as_of, cur, generic=True)
        created = min([self.as_of] + [ag.close for ag in timeline]) - timedelta(rng.randint(5, 90))
        row = [cust, name, _org_number(rng, iso), iso, owner, industry[1], _nordic(created)]
        self.emit("generic_customers", row)
        contract, parent = "", None
        for ag in timeline:
            if ag.kind != "reneg" or parent is None:  # a renegotiation amends its contract
                parent, contract = ag, self._contract(ag, cust, name, owner, cur)
            for line in ag.lines:
                self._generic_line(line, contract, parent, cur, cust)

    def _contract(self, ag: Agreement, cust: str, name: str, owner: str, cur: str) -> str:
        self.n_contracts += 1
        cid = f"A{ag.start.year}-{self.n_contracts:06d}"
        end = None
        if ag.term and not ag.auto_renew and self.rng.random() < 0.3:  # some write it out
            end = add_months(ag.start, ag.term) - timedelta(days=1)
        terminated = ag.stop - timedelta(days=1) if ag.reason and ag.stop else None
        who = owner if self.rng.random() < 0.2 else ""  # empty: the customer's owner
        row = [cid, cust, f"Assist-avtale {name}", who, _nordic(ag.start), _nordic(ag.close)]
        row += [str(ag.term or ""), _nordic(end), "ja" if ag.auto_renew else "nei"]
        row += ["12", str(ag.notice)] if ag.auto_renew else ["", ""]
        self.emit("generic_contracts", row + [cur, _nordic(terminated), ag.reason])
        return cid

    def _generic_line(
        self, line: Line, contract: str, parent: Agreement, cur: str, customer: str
    ) -> None:
        self.n_lines += 1
        end = None  # empty: the line follows its contract
        if line.stop is not None and line.stop != parent.stop:
            end = line.stop - timedelta(days=1)
        price = _money(line.cents, ",", thousands=True)
        row = [f"L{self.n_lines:07d}", contract, line.product, str(line.qty), price]
        row += [str(line.discount or ""), _nordic(line.discount_end), line.period]
        row += ["4" if line.period == "every_n_months" else "", _nordic(line.start), _nordic(end)]
        self.emit("generic_contract_lines", row + [cur if self.rng.random() < 0.2 else ""])
        self._assets(line, parent, customer, contract, row[0])

    def _assets(
        self, line: Line, ag: Agreement, customer: str, contract: str, line_id: str
    ) -> None:
        """Up to three machines under a new agreement's hardware service line, installed
        the day it starts (a renewal's line covers the same machines: not written again)."""
        if line.product != HARDWARE or ag.kind not in ("new", "comeback"):
            return
        rng = self.asset_rng
        for _ in range(min(line.qty, 3)):
            self.n_assets += 1
            serial = f"AS{line.start.year % 100:02d}-{self.n_assets:06d}"
            row = [serial, rng.choice(_MODELS), rng.choice(_SITES), customer, contract]
            self.emit("generic_assets", row + [line_id, _nordic(line.start)])

    def close(self) -> dict[str, Path]:
        for sink in self.sinks.values():  # a file without records has nothing to copy
            for kind in range(len(sink.bad_kinds) if sink.count else 0):
                while sink.bad_made[kind] < BAD_MIN:
                    self._bad(sink, kind)
        return {kind: sink.close() for kind, sink in self.sinks.items()}


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    return path


def write_demo_data(
    out_dir: Path,
    companies: int = 500,
    seed: int = 42,
    as_of: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Write a demo portfolio of ``companies`` customers into ``out_dir``.

    Returns {kind: path}; the bytes depend only on (companies, seed, as_of)."""
    out_dir, as_of = Path(out_dir), as_of or business_today()
    rng = random.Random(seed)
    writer = _Writer(out_dir, rng, as_of, seed)
    step = max(1, companies // 10)
    for i in range(1, companies + 1):
        if rng.random() < 0.15:  # about 15 % are only in the accounting system
            writer.generic_customer()
        else:
            writer.hubspot_company()
        if progress and (i % step == 0 or i == companies):
            progress(f"demo data: {i:,} of {companies:,} companies")
    paths = writer.close()
    paths["bad_rows"] = _write(out_dir / "bad_rows.txt", writer.manifest)
    fx = [["currency", "rate"]] + [[cur, rate] for cur, rate in FX_RATES.items()]
    paths["fx_rates"] = _write(out_dir / "fx_rates.csv", fx)
    return paths
