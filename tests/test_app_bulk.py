"""The Bulk operations page as sales ops uses it (SPEC A4): preview, apply, undo."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from avtale.repository import bulk
from avtale.repository.db import make_engine, session_scope
from avtale.repository.models import BulkOperation, Contract
from avtale.repository.service import create_contract, create_customer, current_version
from avtale.settings import STREAMLIT_APP
from tests.app_ops_fixtures import log_in, make_template, use_database

PAGE = "operations/pages/bulk.py"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def app(tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's copy, on a database with one active contract: 3 × 149 NOK a month."""
    home = tmp_path / "home"
    home.mkdir()
    url = use_database(home, monkeypatch, template)
    engine = make_engine(url)
    with session_scope(engine) as session:
        customer = create_customer(session, "sally", {"name": "Fjord AS"})
        create_contract(
            session,
            "sally",
            customer,
            {"start_date": date(2025, 1, 1), "term_months": 24, "currency": "NOK"},
            [
                {
                    "product": "Assist licence",
                    "quantity": 3,
                    "unit_price": "149",
                    "billing_period": "monthly",
                }
            ],
        )
    engine.dispose()
    return STREAMLIT_APP


def price(url: str) -> Decimal:
    engine = make_engine(url)
    with session_scope(engine, readonly=True) as session:
        contract = session.scalars(select(Contract)).one()
        found = current_version(contract).lines[0].unit_price
    engine.dispose()
    return found


def test_preview_apply_and_undo_a_price_update(app: Path) -> None:
    url = os.environ["AVTALE_DATABASE_URL"]
    at = log_in(AppTest.from_file(str(app), default_timeout=30).run(), "sally")
    assert not at.exception, at.exception
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Bulk operations"

    (number,) = at.multiselect(key="bulk_contracts").options
    at.multiselect(key="bulk_contracts").select(number.split(" · ")[0])
    at.date_input(key="bulk_effective_date").set_value(date(2026, 1, 1))
    at.text_input(key="bulk_percent").input("5")
    at.button(key="bulk_preview_submit").click().run()
    assert not at.exception, at.exception
    table = at.main.dataframe[0].value
    assert table.new_price.tolist() == [156.45]
    assert table.mrr_change.round(2).tolist() == [22.35]
    assert price(url) == Decimal("149")  # a preview writes nothing

    at.button(key="bulk_apply_submit").click().run()
    assert not at.exception, at.exception
    assert any("Applied price update #1 to 1 contract." in s.value for s in at.success)
    assert price(url) == Decimal("156.45")

    at.button(key="bulk_undo_1_submit").click().run()
    assert not at.exception, at.exception
    assert any("Undid #1 by #2" in s.value for s in at.success)
    assert price(url) == Decimal("149")
    engine = make_engine(url)
    with session_scope(engine, readonly=True) as session:
        first = session.get_one(BulkOperation, 1)
        assert first.undone_by_id == 2
    engine.dispose()
    assert not [b for b in at.button if b.key == "bulk_undo_1_submit"]


def test_analysts_do_not_see_the_page(app: Path) -> None:
    at = log_in(AppTest.from_file(str(app), default_timeout=30).run(), "anna")
    assert not at.exception, at.exception
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)


def test_co_terminate_and_indexation_preview_on_the_page(app: Path) -> None:
    url = os.environ["AVTALE_DATABASE_URL"]
    at = log_in(AppTest.from_file(str(app), default_timeout=30).run(), "sally")
    at.switch_page(PAGE).run()
    at.segmented_control(key="bulk_kind").set_value("co_terminate").run()
    assert not at.exception, at.exception
    (number,) = at.multiselect(key="bulk_contracts").options
    at.multiselect(key="bulk_contracts").select(number.split(" · ")[0])
    at.date_input(key="bulk_end_date").set_value(date(2026, 6, 30))
    at.button(key="bulk_preview_submit").click().run()
    assert not at.exception, at.exception
    assert at.main.dataframe[0].value.new_end.tolist() == [date(2026, 6, 30)]

    at.segmented_control(key="bulk_kind").set_value("indexation").run()
    at.text_input(key="bulk_cpi").input("3")
    at.button(key="bulk_preview_submit").click().run()
    assert not at.exception, at.exception
    # The one contract has no price adjustment rule: nothing is due.
    assert any("No contract would change" in info.value for info in at.info)
    assert price(url) == Decimal("149")


def test_recent_operations_show_the_mrr_change_per_currency(app: Path) -> None:
    # The "MRR +600.10" was DKK 591.25 and EUR 8.85 added up.
    url = os.environ["AVTALE_DATABASE_URL"]
    engine = make_engine(url)
    with session_scope(engine) as session:
        chosen = []
        for name, currency, quantity, unit_price in (
            ("Øresund", "DKK", 25, "473"),
            ("Eu", "EUR", 1, "177"),
        ):
            customer = create_customer(session, "sally", {"name": name})
            terms = {"start_date": date(2025, 1, 1), "currency": currency}
            line = {"product": "Assist", "quantity": quantity, "unit_price": unit_price}
            version = create_contract(
                session, "sally", customer, terms, [line | {"billing_period": "monthly"}]
            )
            chosen.append(version.contract)
        preview = bulk.preview_price_update(
            session, chosen, percent=5, effective_date=date(2026, 1, 1)
        )
        bulk.apply(session, "sally", preview)
    engine.dispose()
    at = log_in(AppTest.from_file(str(app), default_timeout=30).run(), "sally")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    (shown,) = [m.value for m in at.markdown if m.value.startswith("**#1 ")]
    # sally reads Norwegian (the default): each currency's change as a Norwegian writes it.
    assert "MRR +591,25\xa0DKK, +8,85\xa0€" in shown
    assert "600,1" not in shown and "600.1" not in shown
