"""Products and price lists imported from a CSV (issue 14, SPEC I1), on SQLite and
PostgreSQL: a Windows-1252 file with semicolons and decimal commas creates and updates
products and prices (values checked by hand); a file with a bad row changes nothing and
names every bad row by file, row and column; a second import of the same file changes
nothing; the built-in catalogue installed later leaves the import alone; an imported price
list is a choice for bulk price updates and prices the guided flow's lines; and
`avtale catalogue import` exits 0 or 1 accordingly."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from avtale.repository import auth, library
from avtale.repository.db import session_scope
from avtale.repository.models import AuditLog, Price, Product
from avtale.services import agreements, bulk, catalogue, customers, templates
from avtale.services.database import Database, close_database, database_at
from avtale.settings import PROJECT_ROOT
from tests.conftest import Database as Backend

CATALOGUE = ("product", "price", "catalogue")  # the audit log's entities of an import

# As Excel on Windows saves it in Norway: Windows-1252, semicolons, decimal commas.
GOOD = """code;name;billing_period;billing_interval_months;licence;active;price_list;currency;unit_price
ASSIST;Assist licence;Monthly;;ja;;standard;NOK;1.234,50
ASSIST;Assist licence;monthly;;;;partner;NOK;119,00
ASSIST;;;;;;kampanje;NOK;99,90
SETUP;Etablering;;;;nei;;;
SERVICE-AVTALE;Serviceavtale, årlig;every n months;6;nei;;standard;NOK;12.500,00
SERVICE-AVTALE;Serviceavtale, årlig;;;;;standard;SEK;13.750,5
""".encode("cp1252")

BAD = b"""code,name,billing_period,price_list,currency,unit_price
ASSIST,Assist licence,monthly,standard,NOK,159
ASSIST,Assist lisens,monthly,partner,NOK,129
NEW,New thing,fortnightly,standard,NOK,10
SETUP,,,standard,EUR,900000
API,,,standard,NOK,2000000000
"""


@pytest.fixture
def database(db: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The services' handle on a database with the built-in catalogue and an admin; the
    data folder (limits, planning rates) is the test's own."""
    monkeypatch.setenv("AVTALE_HOME", str(tmp_path / "home"))
    with session_scope(db.engine) as session:
        auth.create_user(session, "setup", "ada", "fjord-analytics-2025", "admin")
        auth.create_user(session, "setup", "sally", "fjord-analytics-2025", "sales_ops")
    opened = database_at(db.url)
    templates.install_builtins(opened)
    yield opened
    close_database(opened)


def prices(database: Database) -> dict[tuple[str, str, str], Decimal]:
    with session_scope(database.engine, readonly=True) as session:
        rows = session.execute(
            select(Product.code, Price.price_list, Price.currency, Price.unit_price).join(
                Price, Price.product_id == Product.id
            )
        )
        return {(code, plist, currency): amount for code, plist, currency, amount in rows}


def product(database: Database, code: str) -> dict[str, object]:
    with session_scope(database.engine, readonly=True) as session:
        found = session.scalar(
            select(Product).where(Product.code == code).options(selectinload(Product.prices))
        )
        assert found is not None
        return {
            "name": found.name,
            "billing_period": found.billing_period,
            "billing_interval_months": found.billing_interval_months,
            "licence": found.licence,
            "active": found.active,
        }


def audit_actions(database: Database) -> dict[str, int]:
    with session_scope(database.engine, readonly=True) as session:
        rows = session.execute(select(AuditLog.action, func.count()).group_by(AuditLog.action))
        return {action: count for action, count in rows}


def test_an_import_creates_and_updates_products_and_prices(database):
    before = prices(database)
    assert before[("ASSIST", "standard", "NOK")] == 149  # catalogue.yaml
    assert product(database, "SETUP")["name"] == "Setup fee"

    preview = catalogue.import_catalogue(database, "ada", "prisliste.csv", GOOD, dry_run=True)
    assert preview.ok, preview.errors
    assert prices(database) == before, "a dry run changes nothing"

    outcome = catalogue.import_catalogue(database, "ada", "prisliste.csv", GOOD)
    assert outcome.ok, outcome.errors
    report = outcome.detail["report"]
    assert report.read_as == "windows-1252, ';', LF, decimal comma"
    assert report.rows == 6
    assert report.products_created == ["SERVICE-AVTALE"]
    assert report.products_updated == ["SETUP"]
    assert report.products_unchanged == ["ASSIST"]
    assert sorted(report.prices_created) == [
        ("ASSIST", "kampanje", "NOK"),
        ("SERVICE-AVTALE", "standard", "NOK"),
        ("SERVICE-AVTALE", "standard", "SEK"),
    ]
    assert report.prices_changed == [("ASSIST", "standard", "NOK")]
    assert report.prices_unchanged == [("ASSIST", "partner", "NOK")]
    assert report.not_in_file == 6  # the other built-in products, left alone
    assert preview.detail["report"].changes == report.changes  # the preview said so
    assert outcome.message == (
        "prisliste.csv imported: products: 1 created, 1 updated, 1 unchanged; "
        "prices: 3 created, 1 changed, 1 unchanged."
    )

    after = prices(database)
    assert after[("ASSIST", "standard", "NOK")] == Decimal("1234.50")
    assert after[("ASSIST", "partner", "NOK")] == Decimal("119")
    assert after[("ASSIST", "kampanje", "NOK")] == Decimal("99.90")
    assert after[("SERVICE-AVTALE", "standard", "NOK")] == Decimal("12500")
    assert after[("SERVICE-AVTALE", "standard", "SEK")] == Decimal("13750.50")
    # Only what the file names changed.
    unnamed = {k: v for k, v in before.items() if k[0] not in ("ASSIST", "SETUP")}
    assert {k: after[k] for k in unnamed} == unnamed
    assert after[("SETUP", "standard", "NOK")] == before[("SETUP", "standard", "NOK")]
    assert product(database, "SERVICE-AVTALE") == {
        "name": "Serviceavtale, årlig",
        "billing_period": "every_n_months",
        "billing_interval_months": 6,
        "licence": False,
        "active": True,
    }
    assert product(database, "SETUP") == {
        "name": "Etablering",
        "billing_period": "one_off",
        "billing_interval_months": None,
        "licence": False,
        "active": False,
    }
    assert product(database, "ASSIST")["licence"] is True
    # Audited per change and as a whole, by who imported.
    actions = audit_actions(database)
    assert {name: n for name, n in actions.items() if name.split(".")[0] in CATALOGUE} == {
        "product.create": 1,
        "product.update": 1,
        "price.create": 3,
        "price.update": 1,
        "catalogue.import": 1,
    }
    # The retired product leaves the guided flow's choices; the new one joins them.
    offered = agreements.catalogue(database)
    assert "SETUP" not in offered
    assert offered["SERVICE-AVTALE"]["prices"][("standard", "SEK")] == 13750.5


def test_a_second_import_of_the_same_file_changes_nothing(database):
    assert catalogue.import_catalogue(database, "ada", "prisliste.csv", GOOD).ok
    audited = audit_actions(database)
    again = catalogue.import_catalogue(database, "ada", "prisliste.csv", GOOD)
    assert again.ok
    report = again.detail["report"]
    assert not report.changed
    assert (report.products_created, report.products_updated) == ([], [])
    assert report.products_unchanged == ["ASSIST", "SETUP", "SERVICE-AVTALE"]
    assert (report.prices_created, report.prices_changed) == ([], [])
    assert len(report.prices_unchanged) == 5
    assert again.message.startswith("prisliste.csv: nothing to change")
    assert audit_actions(database) == audited, "nothing written, not even an audit row"


def test_a_file_with_bad_rows_changes_nothing_and_names_each(database):
    before, audited = prices(database), audit_actions(database)
    outcome = catalogue.import_catalogue(database, "ada", "prices.csv", BAD)
    assert outcome.errors == {
        "prices.csv, row 3, name": (
            "'Assist lisens' here but 'Assist licence' in row 2: the rows of ASSIST must agree"
        ),
        "prices.csv, row 4, billing_period": "unknown billing frequency: 'fortnightly'",
        # limits.yaml: 10 000 000 NOK at the planning rate of EUR (11.6).
        "prices.csv, row 5, unit_price": "must be at most 862,068.96 EUR per unit",
        # ingestion's bound for a unit price in any export.
        "prices.csv, row 6, unit_price": "must be at most 1 000 000 000: '2000000000'",
    }
    assert prices(database) == before
    assert audit_actions(database) == audited
    # The dry run reports the same.
    assert catalogue.import_catalogue(database, "ada", "prices.csv", BAD, dry_run=True).errors == (
        outcome.errors
    )


@pytest.mark.parametrize(
    ("rows", "errors"),
    [
        (  # a new product needs a name and a billing period
            "NEW;;;;;;standard;NOK;10",
            {
                "f.csv, row 2, name": "is required for a new product (NEW)",
                "f.csv, row 2, billing_period": "is required for a new product (NEW)",
            },
        ),
        (
            "NEW;New;every n months;;;;standard;NOK;10",
            {
                "f.csv, row 2, billing_interval_months": (
                    "billing_period every_n_months needs billing_interval_months (the N)"
                )
            },
        ),
        (
            "ASSIST;;quarterly;3;;;;;",
            {
                "f.csv, row 2, billing_interval_months": (
                    "only for billing every N months (ASSIST is billed quarterly)"
                )
            },
        ),
        (
            "SETUP;;;;yes;;;;",
            {
                "f.csv, row 2, licence": (
                    "a licence must be billed periodically, not one-off (SETUP)"
                )
            },
        ),
        (
            "ASSIST;;;;;;standard;;10",
            {
                "f.csv, row 2, currency": (
                    "is required on a price row (price_list, currency and unit_price)"
                )
            },
        ),
        (
            "ASSIST;;;;;;standard;XYZ;10",
            {
                "f.csv, row 2, currency": (
                    "XYZ has no planning rate: use one of DKK, EUR, NOK, SEK, USD, "
                    "or load an FX rates file with it first"
                )
            },
        ),
        (
            "ASSIST;;;;;;standard;NOK;1,23456",
            {"f.csv, row 2, unit_price": "must have at most 4 decimals"},
        ),
        (
            "ASSIST;;;;;;standard;kroner;10",
            {"f.csv, row 2, currency": "not a three-letter currency code: 'kroner'"},
        ),
        ("ASSIST;;;;;;standard;NOK;-5", {"f.csv, row 2, unit_price": "must be at least 0: '-5'"}),
        (
            "assist;;;;;;standard;NOK;10",
            {"f.csv, row 2, code": "'assist' must be capitals, digits, '-' or '_' (at most 40)"},
        ),
        (
            "ASSIST;;;;;;standard;NOK;10\nASSIST;;;;;;standard;NOK;12",
            {
                "f.csv, row 3, unit_price": (
                    "'12' here but '10' in row 2 for ASSIST on standard in NOK"
                )
            },
        ),
    ],
)
def test_each_rule_refuses_the_file(database, rows, errors):
    header = "code;name;billing_period;billing_interval_months;licence;active;price_list;currency;unit_price"
    data = f"{header}\n{rows}\n".encode()
    outcome = catalogue.import_catalogue(database, "ada", "f.csv", data, dry_run=True)
    assert outcome.errors == errors


def test_a_file_without_a_code_column_or_rows_is_refused(database):
    refused = catalogue.import_catalogue(database, "ada", "x.csv", b"name;price\nA;1\n")
    assert refused.errors == {"x.csv": "no code column: every row needs the product code"}
    empty = catalogue.import_catalogue(database, "ada", "y.csv", b"code;price\n")
    assert empty.errors == {"y.csv": "no rows below the header"}


def test_only_admins_import(database):
    before = prices(database)
    outcome = catalogue.import_catalogue(database, "sally", "prisliste.csv", GOOD)
    assert outcome.errors == {"form": "your role (sales_ops) may not do this"}
    assert prices(database) == before


def test_the_built_in_catalogue_installed_later_leaves_the_import_alone(database):
    assert catalogue.import_catalogue(database, "ada", "prisliste.csv", GOOD).ok
    with session_scope(database.engine) as session:
        assert library.install_defaults(session) == {"templates": 0, "clauses": 0, "products": 0}
    assert prices(database)[("ASSIST", "standard", "NOK")] == Decimal("1234.50")
    assert product(database, "SETUP")["active"] is False


def test_an_imported_price_list_serves_bulk_updates_and_the_guided_flow(database):
    assert "kampanje" not in bulk.price_lists(database)
    assert catalogue.import_catalogue(database, "ada", "prisliste.csv", GOOD).ok
    assert bulk.price_lists(database) == ["kampanje", "partner", "standard"]

    customer = customers.create_customer(
        database,
        "sally",
        {"name": "Fjord Analytics AS", "org_number": "912345688", "country": "NO"},
    )
    assert customer.ok, customer.errors
    started = agreements.start_proposal(database, "sally", customer.target, None)
    number = started.target
    assert number is not None
    assert agreements.save_setup(
        database,
        "sally",
        number,
        {"situation": "new_customer", "proposal": "new_agreement"},
        {"price_list": "kampanje"},
    ).ok
    saved = agreements.save_lines(
        database,
        "sally",
        number,
        [
            {"product_code": "ASSIST", "quantity": 10},
            {"product_code": "SERVICE-AVTALE", "quantity": 1},
        ],
    )
    assert not saved.ok  # SERVICE-AVTALE has no kampanje price: the user is told to type one
    assert saved.errors == {
        "lines[1].unit_price": "SERVICE-AVTALE has no price on the kampanje list in NOK: type one"
    }
    saved = agreements.save_lines(
        database, "sally", number, [{"product_code": "ASSIST", "quantity": 10}]
    )
    assert saved.ok, saved.errors
    view = agreements.proposal_view(database, number)
    assert view is not None
    assert view.lines[["product", "unit_price"]].values.tolist() == [
        ["Assist licence", Decimal("99.90")]
    ]


# --- the command line -----------------------------------------------------------------


def avtale(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "avtale.cli", "catalogue", "import", *args],
        cwd=PROJECT_ROOT,
        env=os.environ | {"AVTALE_HOME": str(home), "AVTALE_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_line_imports_previews_and_refuses(tmp_path):
    home = tmp_path / "home"
    url = f"sqlite:///{tmp_path / 'avtale.db'}"
    good, bad = tmp_path / "prisliste.csv", tmp_path / "prices.csv"
    good.write_bytes(GOOD)
    bad.write_bytes(BAD)

    database = database_at(url)
    try:
        templates.install_builtins(database)  # as the app does when it first opens it
        before = prices(database)
        assert avtale(home, url, str(good), "--dry-run").returncode == 0
        assert prices(database) == before

        done = avtale(home, url, str(good))
        assert done.returncode == 0, done.stderr
        assert "  SERVICE-AVTALE new price standard SEK: 13750.5" in done.stdout.splitlines()
        assert "  ASSIST price standard NOK: 149 -> 1234.5" in done.stdout.splitlines()
        assert (
            "prisliste.csv imported: products: 1 created, 1 updated, 1 unchanged; "
            "prices: 3 created, 1 changed, 1 unchanged."
        ) in done.stdout.splitlines()
        assert prices(database)[("ASSIST", "kampanje", "NOK")] == Decimal("99.90")

        again = avtale(home, url, str(good))
        assert again.returncode == 0
        assert "prisliste.csv: nothing to change" in again.stdout

        refused = avtale(home, url, str(bad))
        assert refused.returncode == 1
        errors = refused.stderr.splitlines()
        assert errors[0] == (
            "error: prices.csv, row 3, name: 'Assist lisens' here but 'Assist licence' in "
            "row 2: the rows of ASSIST must agree"
        )
        assert errors[-1] == "error: prices.csv: nothing imported (4 problems)"
        assert prices(database)[("ASSIST", "standard", "NOK")] == Decimal("1234.50")
    finally:
        close_database(database)
