"""The Streamlit app as a user sees it, on the hand-made marts of app_fixtures.py.

Expected values are worked out by hand from the table in that module's docstring.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from avtale.services import users
from avtale.services.database import close_database, database_at
from avtale.services.unit_of_work import System
from tests.app_fixtures import write_serving_fixture
from tests.app_ops_fixtures import log_in, make_template, start_app, use_database


@pytest.fixture(scope="module")
def users_db(tmp_path_factory) -> Path:
    return make_template(tmp_path_factory.mktemp("users"))


def start(home, monkeypatch, users_db) -> AppTest:
    # The dashboards are behind the login; an analyst sees them like everyone else.
    use_database(home, monkeypatch, users_db)
    return log_in(start_app(), "anna")


@pytest.fixture
def app(tmp_path, monkeypatch, users_db) -> AppTest:
    write_serving_fixture(tmp_path / "serving.duckdb")
    return start(tmp_path, monkeypatch, users_db)


def tiles(at: AppTest) -> dict[str, tuple[str, str]]:
    return {metric.label: (metric.value, metric.delta) for metric in at.metric}


def customers_listed(at: AppTest) -> list[str]:
    return at.dataframe[0].value["Customer"].tolist()


def pick(at: AppTest, month: date, movement: str) -> AppTest:
    at.selectbox(key="mrr_month").set_value(month)
    at.selectbox(key="mrr_movement").set_value(movement)
    return at.run()


def test_tiles_show_the_latest_complete_month(app):
    """One "now" on every dashboard: June 2025 is the last actual month, still running,
    so the tiles are May's (5100: C1 1500, C2 back with 1200, C3 2400), against April's
    (3900: C1 1500, C3 2400; net new -480, C3's contraction)."""
    assert not app.exception
    # anna has the default locale, Norwegian: amounts and months as a Norwegian reads them
    # (Babel's separators are non-breaking spaces, so an amount never breaks a line).
    assert tiles(app) == {
        "MRR": ("5\xa0100,00\xa0kr", "+1\xa0200,00\xa0kr"),
        "ARR": ("61\xa0200,00\xa0kr", "+14\xa0400,00\xa0kr"),
        "Customers with MRR": ("3", "+1"),
        "Net new MRR": ("1\xa0200,00\xa0kr", "+1\xa0680,00\xa0kr"),
    }
    assert "mai 2025, the latest complete month (juni 2025 is still running)" in (
        app.caption[0].value
    )


def test_an_english_user_reads_english_numbers_and_months(tmp_path, monkeypatch, users_db):
    """The locale is the user's (Admin → Users): the same page for anna set to English."""
    write_serving_fixture(tmp_path / "serving.duckdb")
    url = use_database(tmp_path, monkeypatch, users_db)
    database = database_at(url)
    set_to = users.set_contact_details(database, System("setup"), "anna", {"locale": "en"})
    close_database(database)
    assert set_to.ok and set_to.detail["locale"] == "en"
    at = log_in(start_app(), "anna")
    assert not at.exception
    assert tiles(at)["MRR"] == ("NOK5,100.00", "+NOK1,200.00")
    assert tiles(at)["ARR"] == ("NOK61,200.00", "+NOK14,400.00")
    assert "May 2025, the latest complete month (Jun 2025 is still running)" in (
        at.caption[0].value
    )


def test_country_filter_counts_only_those_customers(app):
    app.multiselect(key="filter_country").select("SE").run()
    assert not app.exception
    # May: Skärgård 2,400 (Öresund starts in June); in April Skärgård too, unchanged.
    assert tiles(app)["MRR"] == ("2\xa0400,00\xa0kr", "0,00\xa0kr")
    assert tiles(app)["Customers with MRR"] == ("1", "0")

    # May: Fjord 1,500 + Nordlys back with 1,200; April: Fjord alone.
    app.multiselect(key="filter_country").unselect("SE").select("NO").run()
    assert tiles(app)["MRR"] == ("2\xa0700,00\xa0kr", "+1\xa0200,00\xa0kr")


def test_owner_and_currency_filters_combine(app):
    app.multiselect(key="filter_owner").select("Lars")
    app.multiselect(key="filter_currency").select("SEK").run()
    assert tiles(app)["MRR"] == ("2\xa0400,00\xa0kr", "0,00\xa0kr")  # Skärgård alone


def test_month_and_movement_list_the_customers_behind_them(app):
    assert customers_listed(app) == ["Öresund Logistik AB"]  # June, all movements

    pick(app, date(2025, 3, 1), "churn")
    assert customers_listed(app) == ["Nordlys Data AS"]
    assert app.dataframe[0].value["Amount"].tolist() == [-2000.0]

    pick(app, date(2025, 3, 1), "all")
    assert customers_listed(app) == ["Nordlys Data AS", "Fjord Analytics AS"]

    pick(app, date(2025, 5, 1), "reactivation")
    row = app.dataframe[0].value.iloc[0]
    assert (row["Customer"], row["Previous MRR"], row["MRR"]) == ("Nordlys Data AS", 0, 1200)

    pick(app, date(2025, 4, 1), "new")
    assert not app.dataframe
    assert "No customer had this movement in this month." in [c.value for c in app.caption]


def test_filters_also_apply_to_the_customer_list(app):
    pick(app, date(2025, 1, 1), "new")
    assert customers_listed(app) == ["Nordlys Data AS", "Fjord Analytics AS"]
    app.multiselect(key="filter_owner").select("Ingrid").run()
    assert customers_listed(app) == ["Fjord Analytics AS"]


def test_a_month_the_filter_does_not_cover_falls_back_to_the_latest(app):
    pick(app, date(2025, 1, 1), "new")
    app.multiselect(key="filter_country").select("SE").run()  # Swedish MRR starts in February
    assert not app.exception
    assert app.selectbox(key="mrr_month").value == date(2025, 6, 1)
    assert customers_listed(app) == ["Öresund Logistik AB"]


def test_without_published_data_the_app_explains_what_to_run(tmp_path, monkeypatch, users_db):
    at = start(tmp_path, monkeypatch, users_db)
    assert not at.exception
    assert "avtale refresh" in at.info[0].value
    assert not at.metric
