"""Admin → Catalogue as users see it (issue 14): the products with their prices per list
and currency; an uploaded products / price-list CSV previewed (what it would change, or
every bad row) and applied on a button; the guided flow shows the imported prices on its
next render; only admins open the page."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from avtale.services.database import close_database, database_at
from tests.app_ops_fixtures import as_user, make_template, open_page, use_database
from tests.test_app_documents import add_customer, click
from tests.test_catalogue import BAD, GOOD, prices

CATALOGUE = "admin/pages/catalogue.py"
FLOW = "agreements/pages/new_agreement.py"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: Path) -> str:
    return use_database(tmp_path, monkeypatch, template)


def table(at: AppTest, *columns: str) -> Any:
    """The shown table with these columns (a read-only st.dataframe has no key to find)."""
    for frame in at.dataframe:
        if set(columns) <= set(frame.value.columns):
            return frame.value
    raise AssertionError(f"no table with columns {columns}")


def price_of(at: AppTest, code: str, column: str) -> float:
    shown = table(at, "code", "standard NOK")
    return float(shown.loc[shown.code == code, column].iloc[0])


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="cat_import_file").set_value((name, data, "text/csv")).run(timeout=60)
    assert not at.exception, at.exception
    return at


def test_an_admin_previews_and_imports_a_price_list(url):
    at = open_page(as_user("ada"), CATALOGUE)
    assert [title.value for title in at.title] == ["Catalogue"]
    assert price_of(at, "ASSIST", "standard NOK") == 149
    assert "kampanje NOK" not in table(at, "code", "standard NOK").columns

    upload(at, "prisliste.csv", GOOD)
    assert [info.value for info in at.info] == [
        "prisliste.csv would change the catalogue: products: 1 created, 1 updated, 1 "
        "unchanged; prices: 3 created, 1 changed, 1 unchanged."
    ]
    changes = table(at, "what", "before", "after")
    assert changes.values.tolist()[:2] == [
        ["ASSIST", "price", "standard NOK", "149", "1234.5"],
        ["ASSIST", "new price", "kampanje NOK", "", "99.9"],
    ]
    assert len(changes) == 7  # 2 of ASSIST, 2 of SETUP (name, active), 3 of SERVICE-AVTALE
    assert price_of(at, "ASSIST", "standard NOK") == 149, "a preview changes nothing"

    at.button(key="cat_import_submit").click().run(timeout=60)
    assert not at.exception, at.exception
    assert [success.value for success in at.success] == [
        "prisliste.csv imported: products: 1 created, 1 updated, 1 unchanged; prices: 3 "
        "created, 1 changed, 1 unchanged."
    ]
    assert price_of(at, "ASSIST", "standard NOK") == 1234.5
    assert price_of(at, "ASSIST", "kampanje NOK") == 99.9
    assert price_of(at, "SERVICE-AVTALE", "standard SEK") == 13750.5
    assert not at.file_uploader(key="cat_import_file").value, "the file is done with"
    database = database_at(url)
    assert prices(database)[("ASSIST", "kampanje", "NOK")] == Decimal("99.90")
    close_database(database)


def test_a_file_with_bad_rows_is_shown_with_them_and_cannot_be_applied(url):
    at = open_page(as_user("ada"), CATALOGUE)
    upload(at, "prices.csv", BAD)
    assert [error.value for error in at.error] == [
        "4 problems in prices.csv: nothing is imported until the file is fixed."
    ]
    problems = table(at, "where", "problem")
    assert problems["where"].tolist() == [
        "prices.csv, row 3, name",
        "prices.csv, row 4, billing_period",
        "prices.csv, row 5, unit_price",
        "prices.csv, row 6, unit_price",
    ]
    assert "cat_import_submit" not in [button.key for button in at.button]
    assert price_of(at, "ASSIST", "standard NOK") == 149


def test_the_guided_flow_shows_imported_prices_on_its_next_render(url):
    customer = add_customer(url)
    flow = open_page(as_user("sally"), FLOW, customer=customer)
    click(flow, "flow_start")
    flow.button_group(key="flow_step").set_value(3).run()
    listed = table(flow, "code", "list_price")
    assert listed.loc[listed.code == "ASSIST", "list_price"].iloc[0] == 149

    admin = open_page(as_user("ada"), CATALOGUE)
    upload(admin, "prisliste.csv", GOOD)
    admin.button(key="cat_import_submit").click().run(timeout=60)
    assert admin.success

    flow.run()
    listed = table(flow, "code", "list_price")
    assert listed.loc[listed.code == "ASSIST", "list_price"].iloc[0] == 1234.5
    assert "SERVICE-AVTALE" in listed.code.tolist()
    assert "SETUP" not in listed.code.tolist()  # made inactive by the file


@pytest.mark.parametrize("username", ["leo", "anna", "sally"])
def test_only_admins_open_the_catalogue(url, username):
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        as_user(username).switch_page(CATALOGUE)
