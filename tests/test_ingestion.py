"""Ingestion on real DuckDB files: encodings, formats, lineage, duplicates, quarantine."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingestion.load import load_files
from tests.sample_files import drop

CURRENCIES = ["NOK", "DKK", "SEK", "EUR", "USD"]

COMPANIES_LABELS = (
    "Record ID,Company name,Company owner,Create Date,Country/Region,Industry\n"
    "101,Bølgen Regnskap AS,Kari Nordmann,2024-01-05 10:12,Norway,Accounting\n"
    "102,Ærø Logistik ApS,Ole Hansen,2024-01-06,Denmark,Logistics\n"
    "103,Müller Straßenbau GmbH,Jonas Berg,2024-01-07T08:00:00Z,Germany,Construction\n"
)
DEALS_LABELS = (
    "Record ID,Deal Name,Deal Stage,Pipeline,Close Date,Amount,Currency,Associated Company IDs\n"
    "201,Bølgen - Assist,Closed won,Sales,2024-01-15,1000,NOK,101\n"
    "202,Ærø - Assist,Closed won,Sales,2024-02-01,500,DKK,102\n"
    "203,Müller,Closed lost,Sales,2024-02-01,500,EUR,103\n"
)
# Internal names, Windows-1252, semicolons, decimal commas, dd.mm.yyyy: as saved by Excel.
LINE_ITEMS_INTERNAL = (
    "hs_object_id;name;quantity;price;hs_discount_percentage;recurringbillingfrequency;"
    "hs_recurring_billing_period;hs_recurring_billing_start_date;hs_line_item_currency_code;"
    "Associated Deal IDs\n"
    "301;Assist lisens ÆØÅ;10;1.234,50;;monthly;P12M;15.01.2024;NOK;201\n"
    "302;Digital oppstart;1;990,00;100;monthly;;15.01.2024;NOK;201\n"
    "303;Support;2;300;12,5;quarterly;P2Y;;DKK;202\n"
)


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture()
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def load(con, *paths: Path):
    return load_files(con, list(paths), CURRENCIES)


def test_labels_bom_and_windows_1252_with_decimal_commas(con, tmp_path: Path) -> None:
    report = load(
        con,
        write(tmp_path, "companies.csv", "\ufeff" + COMPANIES_LABELS),
        write(tmp_path, "deals.csv", DEALS_LABELS),
        write(tmp_path, "line_items.csv", LINE_ITEMS_INTERNAL, encoding="cp1252"),
    )
    assert report.ok, report.format()
    assert [f.rows_loaded for f in report.files] == [3, 3, 3]
    names = con.execute("SELECT name FROM hubspot.companies ORDER BY record_id").fetchall()
    assert names == [("Bølgen Regnskap AS",), ("Ærø Logistik ApS",), ("Müller Straßenbau GmbH",)]
    created = con.execute(
        "SELECT created_date FROM hubspot.companies ORDER BY record_id"
    ).fetchall()
    assert created == [(date(2024, 1, 5),), (date(2024, 1, 6),), (date(2024, 1, 7),)]
    rows = con.execute(
        "SELECT record_id, name, quantity, unit_price, discount_percent, billing_period, "
        "term_months, billing_start_date, source_file, row_number "
        "FROM hubspot.line_items ORDER BY record_id"
    ).fetchall()
    assert rows == [
        (
            "301",
            "Assist lisens ÆØÅ",
            10.0,
            1234.5,
            None,
            "monthly",
            12,
            date(2024, 1, 15),
            "line_items.csv",
            2,
        ),
        (
            "302",
            "Digital oppstart",
            1.0,
            990.0,
            100.0,
            "monthly",
            None,
            date(2024, 1, 15),
            "line_items.csv",
            3,
        ),
        ("303", "Support", 2.0, 300.0, 12.5, "quarterly", 24, None, "line_items.csv", 4),
    ]
    won = con.execute(
        "SELECT record_id FROM hubspot.deals WHERE is_closed_won ORDER BY 1"
    ).fetchall()
    assert won == [("201",), ("202",)]


def test_same_content_under_two_names_loads_once(con, tmp_path: Path) -> None:
    first = write(tmp_path, "companies.csv", COMPANIES_LABELS)
    copy = write(tmp_path, "companies (1).csv", COMPANIES_LABELS)
    report = load(con, first, copy)
    assert [f.status for f in report.files] == ["loaded", "duplicate"]
    assert "already loaded as load 1" in report.files[1].message
    assert con.execute("SELECT count(*) FROM hubspot.companies").fetchone() == (3,)
    assert load(con, copy).files[0].status == "duplicate"


def test_every_kind_of_bad_row_is_quarantined_with_row_field_and_reason(
    con, tmp_path: Path
) -> None:
    load(con, write(tmp_path, "companies.csv", COMPANIES_LABELS))
    deals = DEALS_LABELS + (
        "204,Bad date,Closed won,Sales,30.02.2024,1,NOK,101\n"
        "205,No company,Closed won,Sales,2024-02-01,1,NOK,999\n"
        "206,Bad currency,Closed won,Sales,2024-02-01,1,XYZ,101\n"
    )
    items = (
        "Record ID;Name;Quantity;Unit price;Billing frequency;Term;Currency;Associated Deal IDs\n"
        "401;Good;1;100;Monthly;P12M;NOK;201\n"
        "402;Bad number;abc;100;Monthly;;NOK;201\n"
        "403;Orphan;1;100;Monthly;;NOK;888\n"
        "404;Bad term;1;100;Monthly;twelve;NOK;201\n"
        "405;Bad frequency;1;100;Fortnightly;;NOK;201\n"
        "406;Line on a quarantined deal;1;100;Monthly;;NOK;204\n"
    )
    report = load(con, write(tmp_path, "deals.csv", deals), write(tmp_path, "items.csv", items))
    assert report.ok
    quarantined = con.execute(
        "SELECT source_file, row_number, field, reason FROM ingestion.quarantine ORDER BY 1, 2"
    ).fetchall()
    assert quarantined == [
        ("deals.csv", 5, "Close Date", "not a valid date: '30.02.2024'"),
        (
            "deals.csv",
            6,
            "Associated Company IDs",
            "no company with id 999 (not loaded, or quarantined itself)",
        ),
        ("deals.csv", 7, "Currency", "unknown currency: 'XYZ'"),
        ("items.csv", 3, "Quantity", "not a number: 'abc'"),
        (
            "items.csv",
            4,
            "Associated Deal IDs",
            "no deal with id 888 (not loaded, or quarantined itself)",
        ),
        ("items.csv", 5, "Term", "not an ISO 8601 duration such as P12M: 'twelve'"),
        ("items.csv", 6, "Billing frequency", "unknown billing frequency: 'Fortnightly'"),
        (
            "items.csv",
            7,
            "Associated Deal IDs",
            "no deal with id 204 (not loaded, or quarantined itself)",
        ),
    ]
    raw = con.execute(
        "SELECT raw_record FROM ingestion.quarantine WHERE source_file = 'items.csv' AND row_number = 3"
    ).fetchone()
    assert raw is not None and '"Quantity":"abc"' in raw[0]
    # Good rows of the same files are kept.
    assert con.execute("SELECT count(*) FROM hubspot.deals").fetchone() == (3,)
    assert con.execute("SELECT record_id FROM hubspot.line_items").fetchall() == [("401",)]
    loads = con.execute(
        "SELECT source_file, rows_read, rows_loaded, rows_quarantined FROM ingestion.loads ORDER BY 1"
    ).fetchall()
    assert ("deals.csv", 6, 3, 3) in loads and ("items.csv", 6, 1, 5) in loads


def test_files_are_loaded_in_dependency_order(con, tmp_path: Path) -> None:
    """Line items named before their deals still find them."""
    items = write(tmp_path, "a_items.csv", LINE_ITEMS_INTERNAL)
    deals = write(tmp_path, "b_deals.csv", DEALS_LABELS)
    companies = write(tmp_path, "c_companies.csv", COMPANIES_LABELS)
    report = load(con, items, deals, companies)
    assert [f.kind for f in report.files] == [
        "hubspot_companies",
        "hubspot_deals",
        "hubspot_line_items",
    ]
    assert sum(f.rows_quarantined for f in report.files) == 0


def test_generic_formats_and_fx_rates(con, tmp_path: Path) -> None:
    fx = write(tmp_path, "fx.csv", "currency,rate\nEUR,11.25\nGBP,13.1\n")
    customers = write(
        tmp_path,
        "customers.csv",
        "customer_id;name;org_number;country\nC1;Göteborgs Måleri AB;556677-8899;SE\n",
    )
    contracts = write(
        tmp_path,
        "contracts.csv",
        "contract_id\tcustomer_id\tstart_date\tterm_months\tauto_renew\tnotice_months\tcurrency\n"
        "K1\tC1\t01/03/2024\t12\tja\t3\tGBP\n"
        "K2\tC1\t01/03/2024\t12\tmaybe\t3\tSEK\n",
    )
    lines = write(
        tmp_path,
        "lines.csv",
        "line_id,contract_id,product,quantity,unit_price,discount_percent,billing_period,"
        "billing_interval_months\n"
        'L1,K1,Assist,5,"1.200,00",150,monthly,\n'
        'L2,K1,Assist,5,"1.200,00",10,every_n_months,4\n',
    )
    report = load(con, lines, contracts, customers, fx)
    assert report.ok, report.format()
    assert con.execute("SELECT currency, rate FROM planning.fx_rates ORDER BY 1").fetchall() == [
        ("EUR", 11.25),
        ("GBP", 13.1),
    ]
    assert con.execute(
        "SELECT contract_id, auto_renew, start_date FROM generic.contracts"
    ).fetchall() == [
        ("K1", True, date(2024, 3, 1)),
    ]
    assert con.execute(
        "SELECT line_id, unit_price, billing_period, billing_interval_months FROM generic.contract_lines"
    ).fetchall() == [("L2", 1200.0, "every_n_months", 4)]
    reasons = con.execute("SELECT field, reason FROM ingestion.quarantine ORDER BY 1").fetchall()
    assert reasons == [
        ("auto_renew", "not yes/no (true/false): 'maybe'"),
        ("discount_percent", "must be at most 100: '150'"),
    ]


def test_unreadable_and_unknown_files_fail_clearly_and_others_still_load(
    con, tmp_path: Path
) -> None:
    empty = write(tmp_path, "empty.csv", "")
    unknown = write(tmp_path, "orders.csv", "order,total\n1,2\n")
    good = write(tmp_path, "companies.csv", COMPANIES_LABELS)
    report = load(con, empty, unknown, good)
    assert not report.ok
    by_name = {f.path.name: f for f in report.files}
    assert by_name["empty.csv"].message == "the file is empty"
    assert by_name["orders.csv"].message.startswith(
        "not a known export; its header is [order, total]"
    )
    assert by_name["companies.csv"].rows_loaded == 3
    assert "2 failed" in report.format()


def test_folders_are_searched_for_csv_files(con, tmp_path: Path) -> None:
    folder = tmp_path / "exports" / "hubspot"
    folder.mkdir(parents=True)
    write(folder, "companies.csv", COMPANIES_LABELS)
    write(folder, "notes.md", "not data")
    report = load(con, tmp_path / "exports")
    assert [f.path.name for f in report.files] == ["companies.csv"]


def test_a_file_with_decimal_commas_reads_points_as_thousands(con, tmp_path: Path) -> None:
    load(con, write(tmp_path, "companies.csv", COMPANIES_LABELS))
    load(con, write(tmp_path, "deals.csv", DEALS_LABELS))
    items = (
        "Record ID;Quantity;Unit price;Discount Percentage;Associated Deal IDs\n"
        "501;2;1.000;12,5;201\n"
    )
    load(con, write(tmp_path, "items.csv", items))
    assert con.execute(
        "SELECT unit_price, discount_percent FROM hubspot.line_items"
    ).fetchall() == [(1000.0, 12.5)]


def test_the_original_is_loaded_before_its_copy(con, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    write(folder, "companies (1).csv", COMPANIES_LABELS)
    write(folder, "companies.csv", COMPANIES_LABELS)
    report = load(con, folder)
    assert [(f.path.name, f.status) for f in report.files] == [
        ("companies.csv", "loaded"),
        ("companies (1).csv", "duplicate"),
    ]


def test_inbox_files_move_to_the_archive_without_overwriting(tmp_path: Path) -> None:
    from avtale.pipeline import ingest_inbox
    from avtale.settings import Paths

    home = Paths(tmp_path / "home").ensure()
    drop(home.inbox / "companies.csv", COMPANIES_LABELS)
    drop(home.inbox / "notes.csv", "what,ever\n1,2\n")
    first = ingest_inbox(home)
    drop(home.inbox / "companies.csv", COMPANIES_LABELS.replace("Bølgen", "Bølge"))
    second = ingest_inbox(home)
    assert [f.status for f in first.files + second.files] == ["error", "loaded", "loaded"]
    assert list(home.inbox.iterdir()) == []
    archived = sorted(p.name for p in home.archive.rglob("*.csv"))
    assert archived == ["companies.2.csv", "companies.csv"]
    rejected = sorted(p.name for p in home.rejected.iterdir())
    assert rejected == ["notes.csv", "notes.csv.error.txt"]
    assert "not a known export" in (home.rejected / "notes.csv.error.txt").read_text()


def test_malformed_lines_are_quarantined_and_the_rest_keep_their_row_numbers(
    con, tmp_path: Path
) -> None:
    text = (
        "Record ID,Company name,Country/Region\n"
        "1,A AS,Norway\n"
        "2,B AS,Norway,extra\n"
        '3,"C, AS",Sweden\n'
        '4,"Unclosed,Norway\n'
    )
    report = load(con, write(tmp_path, "companies.csv", text))
    assert report.ok
    assert (report.files[0].rows_read, report.files[0].rows_quarantined) == (4, 2)
    kept = con.execute("SELECT record_id, name, row_number FROM hubspot.companies ORDER BY 1")
    assert kept.fetchall() == [("1", "A AS", 2), ("3", "C, AS", 4)]
    quarantined = con.execute(
        "SELECT row_number, reason, raw_record FROM ingestion.quarantine ORDER BY 1"
    ).fetchall()
    assert [(r[0], r[1].split(" (")[0]) for r in quarantined] == [
        (3, "malformed CSV row: too many columns"),
        (5, "malformed CSV row: unbalanced quote"),
    ]
    assert quarantined[0][2] == "2,B AS,Norway,extra"
