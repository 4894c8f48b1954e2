"""The demo portfolio: deterministic, parseable, consistent, and rich enough to analyse."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from avtale.demo_data import FX_RATES, add_months, write_demo_data

AS_OF = date(2025, 6, 15)
# file -> encoding, delimiter, date format (the way each source writes them)
FORMATS = {
    "hubspot/companies.csv": ("utf-8", ",", "%Y-%m-%d"),
    "hubspot/deals.csv": ("utf-8", ",", "%Y-%m-%d"),
    "hubspot/line_items.csv": ("utf-8", ",", "%Y-%m-%d"),
    "hubspot/deals_nordics_export.csv": ("cp1252", ";", "%d.%m.%Y"),
    "hubspot/line_items_nordics_export.csv": ("cp1252", ";", "%d.%m.%Y"),
    "generic/customers.csv": ("utf-8-sig", ";", "%d.%m.%Y"),
    "generic/contracts.csv": ("utf-8-sig", ";", "%d.%m.%Y"),
    "generic/contract_lines.csv": ("utf-8-sig", ";", "%d.%m.%Y"),
    "generic/assets.csv": ("utf-8-sig", ";", "%d.%m.%Y"),
    "fx_rates.csv": ("utf-8", ",", ""),
    "bad_rows.txt": ("utf-8", ",", ""),
}
RECORD_ID = {  # first column per file, in either naming
    "hubspot/deals_nordics_export.csv": "hs_object_id",
    "hubspot/line_items_nordics_export.csv": "hs_object_id",
}


def read(root: Path, name: str) -> list[dict[str, str]]:
    """Records with their spreadsheet row number (header = 1) under the key ``_row``."""
    encoding, delimiter, _ = FORMATS[name]
    with (root / name).open(encoding=encoding, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=delimiter, strict=True))
    for number, row in enumerate(rows, start=2):
        assert None not in row and None not in row.values(), f"{name}:{number} has a wrong width"
        row["_row"] = str(number)
    return rows


def parse_date(name: str, text: str) -> date:
    return datetime.strptime(text[:10], FORMATS[name][2]).date()


def is_date(name: str, text: str) -> bool:
    try:
        parse_date(name, text)
    except ValueError:
        return False
    return True


def number(text: str) -> float:
    """Decimal point or decimal comma with thousands dots (``1.234,50``)."""
    return float(text.replace(".", "").replace(",", ".") if "," in text else text)


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    write_demo_data(root, companies=600, seed=42, as_of=AS_OF)
    return root


@pytest.fixture(scope="module")
def bad(portfolio: Path) -> set[tuple[str, int]]:
    return {(r["file"], int(r["row_number"])) for r in read(portfolio, "bad_rows.txt")}


def good(root: Path, name: str, bad: set[tuple[str, int]]) -> list[dict[str, str]]:
    return [row for row in read(root, name) if (name, int(row["_row"])) not in bad]


def test_same_inputs_give_identical_bytes(tmp_path: Path) -> None:
    messages: list[str] = []
    first = write_demo_data(tmp_path / "a", companies=300, seed=7, as_of=AS_OF)
    second = write_demo_data(tmp_path / "b", 300, 7, AS_OF, progress=messages.append)
    other = write_demo_data(tmp_path / "c", companies=300, seed=8, as_of=AS_OF)
    assert first.keys() == second.keys() and len(first) == len(FORMATS)
    for kind, path in first.items():
        assert path.read_bytes() == second[kind].read_bytes(), kind
    assert first["hubspot_line_items"].read_bytes() != other["hubspot_line_items"].read_bytes()
    assert len(messages) == 10 and messages[-1].endswith("300 of 300 companies")
    assert {p.relative_to(tmp_path / "a").as_posix() for p in first.values()} == set(FORMATS)


def test_files_parse_in_their_own_encoding_and_delimiter(portfolio: Path) -> None:
    for name in FORMATS:
        assert read(portfolio, name), name
    assert (portfolio / "generic/customers.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert not (portfolio / "hubspot/deals.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    companies = read(portfolio, "hubspot/companies.csv")
    assert list(companies[0])[:-1] == [
        "Record ID", "Company name", "Company owner", "Create Date", "Country/Region", "Industry"
    ]  # fmt: skip
    assert {c["Country/Region"] for c in companies} == {
        "Norway", "Denmark", "Sweden", "Germany", "Netherlands"
    }  # fmt: skip
    assert all(datetime.strptime(c["Create Date"], "%Y-%m-%d %H:%M") for c in companies)
    generic_countries = {c["country"] for c in read(portfolio, "generic/customers.csv")}
    assert generic_countries == {"NO", "DK", "SE", "DE", "NL"}
    assert 6 <= len({c["Company owner"] for c in companies}) <= 10
    # Nordic letters survive Windows-1252 and UTF-8 alike
    nordics = read(portfolio, "hubspot/deals_nordics_export.csv")
    assert nordics and all(d["dealstage"] == "closedwon" for d in nordics)
    assert any(set(d["dealname"]) & set("æøåÆØÅäöüß") for d in nordics)
    assert any("Ø" in c["Company name"] or "ø" in c["Company name"] for c in companies)
    fx = {r["currency"]: float(r["rate"]) for r in read(portfolio, "fx_rates.csv")}
    assert fx == {cur: float(rate) for cur, rate in FX_RATES.items()} and fx["NOK"] == 1


def test_good_rows_have_valid_values(portfolio: Path, bad: set[tuple[str, int]]) -> None:
    checks = {  # file -> date columns, number columns, currency columns
        "hubspot/deals.csv": (["Close Date", "Create Date"], ["Amount"], ["Currency"]),
        "hubspot/line_items.csv": (
            ["Billing start date"], ["Quantity", "Unit price"], ["Currency"]
        ),
        "hubspot/deals_nordics_export.csv": (["closedate", "createdate"], ["amount"], []),
        "hubspot/line_items_nordics_export.csv": (
            ["hs_recurring_billing_start_date"], ["quantity", "price"], []
        ),
        "generic/contracts.csv": (
            ["start_date", "signed_date", "end_date", "terminated_date"], [], ["currency"]
        ),
        "generic/contract_lines.csv": (
            ["start_date", "end_date", "discount_end_date"], ["quantity", "unit_price"],
            ["currency"],
        ),
    }  # fmt: skip
    for name, (dates, numbers, currencies) in checks.items():
        for row in good(portfolio, name, bad):
            assert all(is_date(name, row[c]) for c in dates if row[c]), (name, row)
            assert all(number(row[c]) >= 0 for c in numbers), (name, row)
            assert all(row[c] in FX_RATES for c in currencies if row[c]), (name, row)


def test_references_resolve_and_ids_are_unique(portfolio: Path, bad: set[tuple[str, int]]) -> None:
    hubspot = [n for n in FORMATS if n.startswith("hubspot/")]
    ids = [r[RECORD_ID.get(n, "Record ID")] for n in hubspot for r in read(portfolio, n)]
    assert len(ids) == len(set(ids)) and all(i.isdigit() for i in ids)
    assert all(10 <= len(r["Record ID"]) <= 11 for r in read(portfolio, "hubspot/companies.csv"))
    company_ids = {r["Record ID"] for r in read(portfolio, "hubspot/companies.csv")}
    deals = good(portfolio, "hubspot/deals.csv", bad)
    deals += good(portfolio, "hubspot/deals_nordics_export.csv", bad)
    assert all(d["Associated Company IDs"].split(";")[0] in company_ids for d in deals)
    deal_ids = {d.get("Record ID") or d["hs_object_id"] for d in deals}
    lines = good(portfolio, "hubspot/line_items.csv", bad)
    lines += good(portfolio, "hubspot/line_items_nordics_export.csv", bad)
    assert all(li["Associated Deal IDs"] in deal_ids for li in lines)
    customers = {c["customer_id"] for c in read(portfolio, "generic/customers.csv")}
    contracts = good(portfolio, "generic/contracts.csv", bad)
    assert all(c["customer_id"] in customers for c in contracts)
    contract_ids = {c["contract_id"] for c in contracts}
    assert len(contract_ids) == len(contracts)
    generic_lines = read(portfolio, "generic/contract_lines.csv")
    assert len({li["line_id"] for li in generic_lines}) == len(generic_lines)
    assert all(
        li["contract_id"] in contract_ids
        for li in good(portfolio, "generic/contract_lines.csv", bad)
    )


def find_bad_rows(root: Path) -> set[tuple[str, int, str]]:
    """Every bad row found by looking, independently of the manifest."""
    found: set[tuple[str, int, str]] = set()

    def scan(name: str, rules: dict[str, Callable[[str], bool]]) -> None:
        for row in read(root, name):
            found.update((name, int(row["_row"]), f) for f, ok in rules.items() if not ok(row[f]))

    companies = {r["Record ID"] for r in read(root, "hubspot/companies.csv")}
    deals = {r["Record ID"] for r in read(root, "hubspot/deals.csv")}
    deals |= {r["hs_object_id"] for r in read(root, "hubspot/deals_nordics_export.csv")}
    customers = {r["customer_id"] for r in read(root, "generic/customers.csv")}
    contracts = {r["contract_id"] for r in read(root, "generic/contracts.csv")}
    currency = set(FX_RATES).__contains__

    def iso_ok(text: str) -> bool:
        return is_date("hubspot/deals.csv", text)

    def nordic_ok(text: str) -> bool:
        return is_date("generic/contracts.csv", text)

    scan("hubspot/deals.csv", {
        "Close Date": iso_ok, "Currency": currency,
        "Associated Company IDs": lambda v: v.split(";")[0] in companies,
    })  # fmt: skip
    scan("hubspot/line_items.csv", {
        "Quantity": str.isdigit, "Billing start date": iso_ok, "Currency": currency,
        "Associated Deal IDs": deals.__contains__,
    })  # fmt: skip
    scan("generic/contracts.csv", {
        "start_date": nordic_ok, "currency": currency, "customer_id": customers.__contains__,
    })  # fmt: skip
    scan("generic/contract_lines.csv", {
        "quantity": str.isdigit, "start_date": nordic_ok, "contract_id": contracts.__contains__,
        "currency": lambda v: not v or currency(v),
    })  # fmt: skip
    return found


def test_bad_rows_manifest_lists_exactly_the_bad_rows(portfolio: Path) -> None:
    manifest = read(portfolio, "bad_rows.txt")
    listed = {(r["file"], int(r["row_number"]), r["field"]) for r in manifest}
    assert len(listed) == len(manifest)
    assert listed == find_bad_rows(portfolio)
    kinds = Counter((r["file"], r["reason"]) for r in manifest)
    assert len(kinds) == 14 and min(kinds.values()) >= 5
    assert {r["reason"] for r in manifest} >= {
        "non-numeric quantity", "impossible date", "unknown currency", "unknown deal",
        "unknown company",
    }  # fmt: skip


def recurring_intervals(
    root: Path, bad: set[tuple[str, int]]
) -> dict[str, list[tuple[date, date | None]]]:
    """Customer -> (start, first inactive day) of each recurring contract line."""
    out: dict[str, list[tuple[date, date | None]]] = defaultdict(list)
    won = {}
    for name in ("hubspot/deals.csv", "hubspot/deals_nordics_export.csv"):
        for d in good(root, name, bad):
            if d.get("Deal Stage", d.get("dealstage")) in ("Closed won", "closedwon"):
                won[d.get("Record ID") or d["hs_object_id"]] = d["Associated Company IDs"]
    for name, freq, term, start in [
        ("hubspot/line_items.csv", "Billing frequency", "Term", "Billing start date"),
        ("hubspot/line_items_nordics_export.csv", "recurringbillingfrequency",
         "hs_recurring_billing_period", "hs_recurring_billing_start_date"),
    ]:  # fmt: skip
        for li in good(root, name, bad):
            if li[freq] and li["Associated Deal IDs"] in won:
                first = parse_date(name, li[start])
                stop = add_months(first, int(li[term][1:-1])) if li[term] else None
                out["hs" + won[li["Associated Deal IDs"]].split(";")[0]].append((first, stop))
    name = "generic/contract_lines.csv"
    contracts = {c["contract_id"]: c for c in good(root, "generic/contracts.csv", bad)}
    for li in good(root, name, bad):
        if li["billing_period"] in ("one_off", "setup_fee"):
            continue
        c, first = contracts[li["contract_id"]], parse_date(name, li["start_date"])
        last = li["end_date"] or c["terminated_date"] or c["end_date"]
        stop = parse_date(name, last) + timedelta(days=1) if last else None
        if not last and c["auto_renew"] == "nei" and c["term_months"]:
            stop = add_months(parse_date(name, c["start_date"]), int(c["term_months"]))
        out["g" + c["customer_id"]].append((first, stop))
    return out


def month_ends(until: date) -> list[date]:
    firsts = [add_months(until.replace(day=1), -k) for k in range(60, -1, -1)]
    return [
        add_months(first, 1) - timedelta(days=1)
        for first in firsts
        if add_months(first, 1) <= until
    ]


def test_portfolio_has_the_patterns_analytics_needs(
    portfolio: Path, bad: set[tuple[str, int]]
) -> None:
    ends = month_ends(AS_OF)
    churned, reactivated = set(), set()
    for customer, spans in recurring_intervals(portfolio, bad).items():
        active = [any(s <= e and (stop is None or stop > e) for s, stop in spans) for e in ends]
        pattern = "".join("x" if a else "." for a in active).strip(".")
        if not active[-1] and "x" in pattern:
            churned.add(customer)
        if "." in pattern:  # MRR, then none, then MRR again
            reactivated.add(customer)
    assert any(c.startswith("hs") for c in churned) and any(c.startswith("g") for c in churned)
    assert any(c.startswith("hs") for c in reactivated)
    lines = good(portfolio, "hubspot/line_items.csv", bad)
    generic = good(portfolio, "generic/contract_lines.csv", bad)
    assert any(li["Discount Percentage"] == "100" for li in lines)
    assert any(
        li["Name"] == "Digital oppstart" and li["Discount Percentage"] == "100" for li in lines
    )
    assert any(li["Billing frequency"] == "" and li["Term"] == "" for li in lines)  # one-off
    assert {"Weekly", "weekly"} & {li["Billing frequency"] for li in lines}
    assert {li["Term"] for li in lines} >= {"", "P12M", "P24M", "P36M"}
    assert any(
        parse_date("hubspot/line_items.csv", li["Billing start date"]) > AS_OF for li in lines
    )
    assert {li["billing_period"] for li in generic} >= {
        "monthly", "yearly", "weekly", "one_off", "setup_fee", "every_n_months"
    }  # fmt: skip
    assert any(li["discount_end_date"] for li in generic)
    contracts = good(portfolio, "generic/contracts.csv", bad)
    assert any(c["terminated_date"] and c["termination_reason"] for c in contracts)
    assert {c["auto_renew"] for c in contracts} == {"ja", "nei"}
    deals = good(portfolio, "hubspot/deals.csv", bad)
    assert {d["Deal Type"] for d in deals} >= {
        "New Business", "Renewal", "Tilleggslisenser / reforhandling"
    }  # fmt: skip
    assert {"Closed won", "Closed lost"} < {d["Deal Stage"] for d in deals}  # and open ones
    assert len({d["Currency"] for d in deals}) >= 4


def test_renegotiation_ends_the_old_licence_line_the_day_before_the_new_one(
    portfolio: Path, bad: set[tuple[str, int]]
) -> None:
    name = "hubspot/line_items.csv"
    deals = {d["Record ID"]: d for d in good(portfolio, "hubspot/deals.csv", bad)}
    licences: dict[str, list[dict[str, str]]] = defaultdict(list)
    for li in good(portfolio, name, bad):
        if li["Name"] == "Assist licence" and li["Associated Deal IDs"] in deals:
            deal = deals[li["Associated Deal IDs"]]
            licences[deal["Associated Company IDs"]].append(li | {"type": deal["Deal Type"]})
    checked = 0
    for lines in licences.values():
        for new in (li for li in lines if "reforhandling" in li["type"]):
            day = parse_date(name, new["Billing start date"])
            ended = [
                old for old in lines
                if old["Term"] and add_months(
                    parse_date(name, old["Billing start date"]), int(old["Term"][1:-1])
                ) == day
            ]  # fmt: skip
            assert ended and all(old["Quantity"] != new["Quantity"] for old in ended)
            checked += 1
    assert checked >= 5


def test_line_items_scale_with_companies(tmp_path: Path) -> None:
    paths = write_demo_data(tmp_path, companies=2000, seed=3, as_of=AS_OF)
    bad = {(r["file"], int(r["row_number"])) for r in read(tmp_path, "bad_rows.txt")}
    names = ["hubspot/line_items.csv", "hubspot/line_items_nordics_export.csv"]
    lines = sum(len(good(tmp_path, n, bad)) for n in [*names, "generic/contract_lines.csv"])
    assert 3.0 <= lines / 2000 <= 4.0
    customers = len(read(tmp_path, "generic/customers.csv"))
    assert customers + len(read(tmp_path, "hubspot/companies.csv")) == 2000
    assert 0.10 <= customers / 2000 <= 0.20
    nordic_deals = len(read(tmp_path, "hubspot/deals_nordics_export.csv"))
    assert 0 < nordic_deals < 0.05 * len(read(tmp_path, "hubspot/deals.csv"))
    assert paths["bad_rows"] == tmp_path / "bad_rows.txt"
