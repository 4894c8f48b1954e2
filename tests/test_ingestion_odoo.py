"""Odoo 17 subscription exports: recognised by labels and by technical names, typed alike.

The sample export in ``tests/data/odoo`` is written twice: with Odoo's field labels
(UTF-8, `,`, ISO dates, decimal point, `In Progress`) and as an import-compatible
export saved by Excel in Norway (technical names, Windows-1252, `;`, CRLF,
dd.mm.yyyy, decimal comma, `3_progress`). Both must give the same rows.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingestion.kinds import recognise
from ingestion.load import load_files

CURRENCIES = ["NOK", "DKK", "SEK", "EUR", "USD"]
SAMPLES = Path(__file__).parent / "data" / "odoo"
TABLES = ("odoo.subscriptions", "odoo.subscription_lines", "odoo.mrr_log")
# What is written differently in the two exports on purpose: the raw plan and status
# (`3 Months` / `Quarterly`, `In Progress` / `3_progress`), the lines' external ids.
AS_WRITTEN = {
    "odoo.subscriptions": "plan, status, load_id, source_file",
    "odoo.subscription_lines": "line_ref, load_id, source_file",
    "odoo.mrr_log": "load_id, source_file",
}


@pytest.fixture()
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def load(con: duckdb.DuckDBPyConnection, *paths: Path):
    return load_files(con, list(paths), CURRENCIES)


def header(path: Path, encoding: str = "utf-8") -> list[str]:
    first = path.read_bytes().decode(encoding).splitlines()[0]
    return first.split(";" if ";" in first else ",")


@pytest.mark.parametrize(("variant", "encoding"), [("labels", "utf-8"), ("technical", "cp1252")])
def test_each_export_is_recognised_by_its_header(variant: str, encoding: str) -> None:
    kinds = {
        name: recognise(header(SAMPLES / variant / f"{name}.csv", encoding))
        for name in ("subscriptions", "subscription_lines", "mrr_log")
    }
    assert {name: kind.name if kind else None for name, kind in kinds.items()} == {
        "subscriptions": "odoo_subscriptions",
        "subscription_lines": "odoo_subscription_lines",
        "mrr_log": "odoo_mrr_log",
    }


def test_hubspot_and_generic_headers_are_not_taken_for_odoo() -> None:
    assert recognise(
        ["Record ID", "Name", "Quantity", "Unit price", "Associated Deal IDs"]
    ).name == (  # type: ignore[union-attr]
        "hubspot_line_items"
    )
    assert recognise(["line_id", "contract_id", "product", "quantity", "unit_price"]).name == (  # type: ignore[union-attr]
        "generic_contract_lines"
    )
    assert recognise(["Record ID", "Company name"]).name == "hubspot_companies"  # type: ignore[union-attr]


def test_labels_and_technical_names_load_the_same_rows(tmp_path: Path) -> None:
    rows = {}
    for variant in ("labels", "technical"):
        with duckdb.connect(str(tmp_path / f"{variant}.duckdb")) as con:
            report = load(con, SAMPLES / variant)
            assert report.ok, report.format()
            assert sum(f.rows_quarantined for f in report.files) == 0, report.format()
            assert {f.kind for f in report.files} == {
                "odoo_subscriptions",
                "odoo_subscription_lines",
                "odoo_mrr_log",
            }
            rows[variant] = {
                table: con.execute(
                    f"SELECT * EXCLUDE ({AS_WRITTEN[table]}) FROM {table} ORDER BY row_number"
                ).fetchall()
                for table in TABLES
            }
    assert rows["labels"] == rows["technical"]


def test_plans_states_nordic_letters_and_decimal_commas_are_read(con) -> None:
    report = load(con, SAMPLES / "technical")
    assert report.ok, report.format()
    assert "windows-1252, ';', CRLF, decimal comma" in report.format()
    subscriptions = con.execute(
        "SELECT order_ref, customer, billing_period, subscription_state, start_date, "
        "end_date, recurring_monthly, currency FROM odoo.subscriptions ORDER BY order_ref"
    ).fetchall()
    assert subscriptions == [
        (
            "S00001",
            "Bølgen Regnskap AS",
            "monthly",
            "in_progress",
            date(2025, 1, 15),
            None,
            1349.0,
            "NOK",
        ),
        (
            "S00002",
            "Ærø Logistik ApS",
            "yearly",
            "churned",
            date(2025, 2, 1),
            date(2025, 4, 30),
            0.0,
            "DKK",
        ),
        (
            "S00003",
            "Müller Straßenbau GmbH",
            "quarterly",
            "paused",
            date(2025, 3, 1),
            None,
            300.0,
            "EUR",
        ),
        (
            "S00004",
            "Göteborgs Måleri AB",
            "monthly",
            "quotation",
            date(2025, 4, 1),
            None,
            200.0,
            "SEK",
        ),
        ("S00005", "Bølgen Regnskap AS", "monthly", "upsell", date(2025, 3, 1), None, 100.0, "NOK"),
        ("S00006", "Fjord Kro AS", "monthly", "churned", date(2025, 1, 1), None, 0.0, "NOK"),
    ]
    lines = con.execute(
        "SELECT line_ref, product, quantity, unit_price, discount_percent "
        "FROM odoo.subscription_lines WHERE order_ref IN ('S00001', 'S00002') ORDER BY row_number"
    ).fetchall()
    assert lines == [
        ("__export__.sale_order_line_11_3e9d", "Assist lisens", 10.0, 99.9, 0.0),
        ("__export__.sale_order_line_12_c0a1", "Support – årsavtale", 1.0, 400.0, 12.5),
        ("__export__.sale_order_line_21_58f2", "Assist lisens", 12.0, 1234.5, 10.0),
    ]
    log = con.execute(
        "SELECT event_date, event_type, amount_signed, recurring_monthly "
        "FROM odoo.mrr_log WHERE order_ref = 'S00002' ORDER BY row_number"
    ).fetchall()
    assert log == [
        (date(2025, 2, 1), "new", 1111.05, 1111.05),
        (date(2025, 5, 1), "churn", -1111.05, 0.0),
    ]


@pytest.mark.parametrize(
    ("plan", "period", "interval"),
    [
        ("Monthly", "monthly", None),
        ("1 Month", "monthly", None),
        ("Quarterly", "quarterly", None),
        ("3 Months", "quarterly", None),
        ("6 Months", "half_yearly", None),
        ("Yearly", "yearly", None),
        ("12 Months", "yearly", None),
        ("2 Years", "two_yearly", None),
        ("4 Months", "every_n_months", 4),
        ("18 Months", "every_n_months", 18),
        ("Weekly", "weekly", None),
        ("2 Weeks", "biweekly", None),
    ],
)
def test_recurring_plans_map_to_billing_periods(
    con, tmp_path: Path, plan: str, period: str, interval: int | None
) -> None:
    path = tmp_path / "subscriptions.csv"
    path.write_text(
        "Order Reference,Customer,Recurring Plan,Subscription Status,Start Date\n"
        f"S1,Fjord Kro AS,{plan},In Progress,2025-01-01\n",
        encoding="utf-8",
    )
    assert load(con, path).ok
    assert con.execute(
        "SELECT billing_period, billing_interval_months FROM odoo.subscriptions"
    ).fetchall() == [(period, interval)]


def test_bad_rows_are_quarantined_naming_file_row_and_field(con, tmp_path: Path) -> None:
    subscriptions = tmp_path / "subscriptions.csv"
    subscriptions.write_text(
        "Order Reference,Customer,Recurring Plan,Subscription Status,Start Date,Currency\n"
        "S1,Fjord Kro AS,Monthly,In Progress,2025-01-01,NOK\n"
        "S2,Fjord Kro AS,Fortnightly,In Progress,2025-01-01,NOK\n"
        "S3,Fjord Kro AS,Monthly,Sleeping,2025-01-01,NOK\n"
        "S4,Fjord Kro AS,Monthly,In Progress,,NOK\n"
        "S5,Fjord Kro AS,Monthly,Quotation,,XYZ\n"
        "S6,Fjord Kro AS,Monthly,Churned,2025-01-01,NOK\n",
        encoding="utf-8",
    )
    lines = tmp_path / "lines.csv"
    lines.write_text(
        "Order Reference;Product;Quantity;Unit Price;Discount (%)\n"
        "S1;Kassesystem;2;250,00;0\n"
        "S1;Kassesystem;to;250,00;0\n"
        "S1;Kassesystem;1;250,00;112,5\n"
        "S2;Kassesystem;1;250,00;0\n",
        encoding="utf-8",
    )
    log = tmp_path / "log.csv"
    log.write_text(
        "Subscription,Date,Type,MRR change,Recurring Monthly\n"
        "S1,2025-01-01,New,500,500\n"
        "S1,2025-02-01,Downgrade,-100,400\n"
        "S1,2025-03-01,Expansion,,\n",
        encoding="utf-8",
    )
    report = load(con, lines, log, subscriptions)
    assert report.ok, report.format()
    assert con.execute(
        "SELECT source_file, row_number, field, reason FROM ingestion.quarantine ORDER BY 1, 2"
    ).fetchall() == [
        ("lines.csv", 3, "Quantity", "not a number: 'to'"),
        ("lines.csv", 4, "Discount (%)", "must be at most 100: '112,5'"),
        (
            "lines.csv",
            5,
            "Order Reference",
            "no subscription with id S2 (not loaded, or quarantined itself)",
        ),
        ("log.csv", 3, "Type", "unknown MRR log event type: 'Downgrade'"),
        ("log.csv", 4, "MRR change", "needs the MRR change or the recurring monthly after it"),
        (
            "subscriptions.csv",
            3,
            "Recurring Plan",
            "unknown recurring plan (Monthly, Yearly, 3 Months, ...): 'Fortnightly'",
        ),
        ("subscriptions.csv", 4, "Subscription Status", "unknown subscription status: 'Sleeping'"),
        ("subscriptions.csv", 5, "Start Date", "a confirmed subscription needs a start date"),
        ("subscriptions.csv", 6, "Currency", "unknown currency: 'XYZ'"),
        (
            "subscriptions.csv",
            7,
            "end date",
            "a closed subscription needs an end date or a date of next invoice",
        ),
    ]
    by_file = {f.path.name: (f.rows_read, f.rows_loaded, f.rows_quarantined) for f in report.files}
    assert by_file == {
        "subscriptions.csv": (6, 1, 5),
        "lines.csv": (4, 1, 3),
        "log.csv": (3, 1, 2),
    }
