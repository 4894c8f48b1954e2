"""The app speaks Nordic (issue 14, item 6): each user's locale (migration 0011, the command
line, the Users page), the one formatter the app shows values through, codes as words,
and product names per language."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select

from avtale.repository import library
from avtale.repository.db import alembic_config, make_engine, migrate, session_scope
from avtale.repository.models import Product, User
from avtale.rules.catalogue import load_catalogue, parse_catalogue
from avtale.rules.loading import RuleError
from avtale.services import users
from avtale.services.database import close_database, database_at
from avtale.services.unit_of_work import System
from avtale.settings import STREAMLIT_APP
from tests.app_ops_fixtures import as_user, make_template, open_page, use_database

if str(STREAMLIT_APP.parent) not in sys.path:  # the app's modules, imported as its pages do
    sys.path.insert(0, str(STREAMLIT_APP.parent))

from common import ui  # noqa: E402
from common.fmt import formatter  # noqa: E402

NB = "\xa0"  # Babel's group separator and the space before "kr" and "%": kept in the app

# locale -> what each format gives for the same values
EXPECTED = {
    "nb": {
        "money": f"1{NB}250,50{NB}kr",
        "tile": f"12{NB}431{NB}250{NB}kr",
        "small_tile": f"950{NB}000,50{NB}kr",
        "change": f"-1{NB}250,50{NB}kr",
        "rate": f"12,5{NB}%",
        "day": "3. des. 2026",
        "month": "des. 2026",
        "moment": "3. des. 2026 14:05",
        "count": f"12{NB}431",
        "separators": f",{NB}",
    },
    "da": {
        "money": f"1.250,50{NB}NOK",
        "tile": f"12.431.250{NB}NOK",
        "small_tile": f"950.000,50{NB}NOK",
        "change": f"-1.250,50{NB}NOK",
        "rate": f"12,5{NB}%",
        "day": "3. dec. 2026",
        "month": "dec. 2026",
        "moment": "3. dec. 2026 14:05",
        "count": "12.431",
        "separators": ",.",
    },
    "sv": {
        "money": f"1{NB}250,50{NB}Nkr",
        "tile": f"12{NB}431{NB}250{NB}Nkr",
        "small_tile": f"950{NB}000,50{NB}Nkr",
        "change": f"-1{NB}250,50{NB}Nkr",
        "rate": f"12,5{NB}%",
        "day": "3 dec. 2026",
        "month": "dec. 2026",
        "moment": "3 dec. 2026 14:05",
        "count": f"12{NB}431",
        "separators": f",{NB}",
    },
    "en": {
        "money": "NOK1,250.50",
        "tile": "NOK12,431,250",
        "small_tile": "NOK950,000.50",
        "change": "-NOK1,250.50",
        "rate": "12.5%",
        "day": "3 Dec 2026",
        "month": "Dec 2026",
        "moment": "3 Dec 2026 14:05",
        "count": "12,431",
        "separators": ".,",
    },
}


@pytest.mark.parametrize("locale", list(EXPECTED))
def test_each_locale_has_one_format_for_amounts_dates_months_and_rates(locale: str) -> None:
    shown = formatter(locale)
    # 13:05 UTC is 14:05 in Oslo in December: times read in the business's zone.
    at = datetime(2026, 12, 3, 13, 5, tzinfo=UTC)
    assert {
        "money": shown.money(1250.5, "NOK"),
        # A tile's amount of a million or more has no øre (whole kroner, not rounded to
        # "12,4 mill.": exact, and the same in every locale).
        "tile": shown.tile_money(12_431_250.37, "NOK"),
        "small_tile": shown.tile_money(950_000.5, "NOK"),
        "change": shown.change(-1250.5, "NOK"),
        "rate": shown.rate(0.125),
        "day": shown.day(date(2026, 12, 3)),
        "month": shown.month(date(2026, 12, 1)),
        "moment": shown.moment(at),
        "count": shown.count(12431),
        "separators": shown.separators(),
    } == EXPECTED[locale]


def test_a_change_has_its_sign_and_a_missing_rate_a_dash() -> None:
    shown = formatter("nb")
    assert shown.change(1200, "NOK") == f"+1{NB}200,00{NB}kr"
    assert shown.change(0, "NOK") == f"0,00{NB}kr"
    assert shown.signed(-3, 0) == "-3"
    assert shown.rate(None) == "–" and shown.rate(float("nan")) == "–"
    # Table cells: plain numbers in the locale, quantities with the decimals they have.
    assert shown.cell("money", 1250.5) == f"1{NB}250,50"
    assert shown.cell("quantity", 2.5) == "2,5"
    assert shown.cell("quantity", 12) == "12"
    assert shown.cell("percent", 12.75) == f"12,75{NB}%"
    assert shown.cell("nok", 99) == f"99,00{NB}kr"
    assert shown.cell("day", None) == ""


def test_the_warehouses_sentences_read_in_the_locale() -> None:
    """dbt writes a deadline's or a health signal's detail with ISO days and months, amounts
    as ``DKK 332640.00`` and percents as ``12.5 %``; the app shows them the reader's way and
    leaves every other number (terms, invoice numbers, ids) alone."""
    nb, en = formatter("nb"), formatter("en")
    notice = "Notice deadline 2027-02-11, else it renews on 2027-03-01"
    assert nb.sentence(notice) == "Notice deadline 11. feb. 2027, else it renews on 1. mars 2027"
    assert en.sentence(notice) == "Notice deadline 11 Feb 2027, else it renews on 1 Mar 2027"
    overdue = "F10001 overdue 12 days, DKK 332640.00 open; F10002 overdue 3 days, NOK 1250.50 open"
    assert nb.sentence(overdue) == (
        f"F10001 overdue 12 days, 332{NB}640,00{NB}DKK open; "
        f"F10002 overdue 3 days, 1{NB}250,50{NB}kr open"
    )
    assert nb.sentence("MRR fell 12 % since 2026-09") == f"MRR fell 12{NB}% since sep. 2026"
    assert nb.sentence("Discount of 12.5 % on Support ends 2027-01-31") == (
        f"Discount of 12,5{NB}% on Support ends 31. jan. 2027"
    )
    untouched = "Renews for a 12-month term; SO-2026-12; CT-000002; K2026-01-31x; v1.5"
    assert nb.sentence(untouched) == untouched
    assert nb.cell("sentence", "Price unchanged since 2025-04-01") == (
        "Price unchanged since 1. apr. 2025"
    )


def test_an_unknown_locale_reads_as_the_default() -> None:
    assert formatter("xx").language == "nb"


def test_codes_read_as_words() -> None:
    assert ui.record_id("app:CT-000002") == "CT-000002"
    assert ui.record_id("hubspot:123") == "HubSpot 123"
    assert ui.record_id("generic:A2024-000013") == "Accounting A2024-000013"
    assert ui.record_id("odoo:SO042") == "Odoo SO042"
    assert ui.record_id("K-1001") == "K-1001"
    assert ui.period_name("one_off") == "One-off"
    assert ui.period_name("every_n_months") == "Every N months"
    assert ui.period_name("fortnightly") == "Fortnightly"  # a CRM's period, not the app's
    assert ui.label("unit_price") == "Unit price"
    assert ui.label("org_number") == "Org number"
    assert ui.change_label("line 1.unit_price") == "Line 1 · Unit price"


# --- the locale in the database ------------------------------------------------------


def test_migration_0011_gives_existing_users_nb_and_products_their_names(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'avtale.db'}"
    migrate(url, "0010")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO users (username, password_hash, role, active, created_at) "
                "VALUES ('kari', 'x', 'admin', 1, '2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO products (code, name, billing_period, licence, active) "
                "VALUES ('ASSIST', 'Assist licence', 'monthly', 1, 1)"
            )
        )
    migrate(url)
    with session_scope(engine) as session:
        kari = session.scalar(select(User))
        assert kari is not None and kari.locale == "nb"
        product = session.scalar(select(Product))
        assert product is not None and product.names == {}
        assert product.name_in("sv") == "Assist licence"  # no names yet: the default
        # The built-in names arrive with install_defaults, once; names there are kept.
        added = library.install_defaults(session)
        assert added["product_names"] == 1
        assert product.names["nb"] == "Assist-lisens"
        assert product.name_in("sv") == "Assist-licens"
        assert product.name_in("de") == "Assist licence"  # no German name: the default
        assert "product_names" not in library.install_defaults(session)
        kari.locale = "fi"  # not one of the app's locales: the database refuses it
        with pytest.raises(sa.exc.IntegrityError):
            session.flush()
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
        columns = {c["name"] for c in sa.inspect(connection).get_columns("users")}
        assert "locale" not in columns
    engine.dispose()


def test_the_catalogue_names_products_per_language_and_refuses_an_unknown_one() -> None:
    assist = next(p for p in load_catalogue() if p.code == "ASSIST")
    assert assist.names == {
        "nb": "Assist-lisens",
        "da": "Assist-licens",
        "sv": "Assist-licens",
        "en": "Assist licence",
    }
    product = {
        "code": "X",
        "name": "X",
        "billing_period": "monthly",
        "prices": {"standard": {"NOK": 1}},
        "names": {"nb": "Iks", "fi": "Äks"},
    }
    with pytest.raises(RuleError, match=r"names\.fi: unknown language 'fi'; use one of: nb, da"):
        parse_catalogue({"version": 1, "products": [product]})


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("template"))


def test_the_command_line_sets_a_users_locale(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    template: Path,
) -> None:
    from avtale.cli import main

    url = use_database(tmp_path, monkeypatch, template)
    assert main(["user", "set", "sally", "--locale", "sv"]) == 0
    assert "sally: e-mail -, manager -, CRM owner -, locale sv" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # argparse names the choices
        main(["user", "set", "sally", "--locale", "fi"])
    assert "invalid choice: 'fi'" in capsys.readouterr().err
    database = database_at(url)
    try:
        account = users.account(database, "sally")
        assert account is not None and account.locale == "sv"
        refused = users.set_contact_details(database, System("t"), "sally", {"locale": "fi"})
        assert refused.errors == {"locale": "must be one of: nb, da, sv, en"}
    finally:
        close_database(database)


def test_an_admin_sets_a_users_locale_and_the_app_follows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: Path
) -> None:
    url = use_database(tmp_path, monkeypatch, template)
    at = open_page(as_user("ada"), "admin/pages/users.py")
    at.selectbox(key="contact_user").set_value("anna").run()
    assert at.selectbox(key="contact_anna_locale").value == "nb"  # everyone starts in nb
    at.selectbox(key="contact_anna_locale").set_value("en")
    at.button(key="contact_anna_submit").click().run()
    assert not at.exception, at.exception
    assert "Contact details of anna saved." in [s.value for s in at.success]
    listed = at.dataframe[0].value
    assert listed.loc[listed.username == "anna", "locale"].tolist() == ["English"]
    database = database_at(url)
    try:
        account = users.account(database, "anna")
        assert account is not None and account.locale == "en"
        created = users.users(database).set_index("username").created_at["anna"]
    finally:
        close_database(database)
    # The page reads in its reader's locale: ada's is Norwegian.
    shown = listed.loc[listed.username == "anna", "created_at"].tolist()
    assert shown == [formatter("nb").moment(created)]
    anna = open_page(as_user("anna"), "operations/pages/search.py")
    assert anna.session_state["user_locale"] == "en"
