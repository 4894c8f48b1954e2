"""The Renewals queue as sales ops use it (SPEC A3): renew and let expire with one click."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from avtale.dates import add_months
from avtale.dates import today as oslo_today
from avtale.repository.db import make_engine, session_scope
from avtale.repository.models import Contract, Renewal
from avtale.repository.service import create_contract, create_customer, current_version
from avtale.settings import STREAMLIT_APP
from tests.app_ops_fixtures import log_in, make_template, use_database

LINES = [{"product": "Assist", "quantity": 10, "unit_price": 100, "billing_period": "monthly"}]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def app(tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """Two manual contracts whose term ends in 10 and 20 days, one auto-renewing one."""
    home = tmp_path / "home"
    home.mkdir()
    url = use_database(home, monkeypatch, template)
    engine = make_engine(url)
    today = oslo_today()
    with session_scope(engine) as session:
        for name, days, auto in (
            ("Bølgen AS", 10, False),
            ("Fjell AS", 20, True),
            ("Li AS", 20, False),
        ):
            customer = create_customer(session, "sally", {"name": name, "country": "NO"})
            end = today + timedelta(days=days)
            create_contract(
                session,
                "sally",
                customer,
                {
                    "start_date": end - timedelta(days=364),
                    "end_date": end,
                    "currency": "NOK",
                    "auto_renew": auto,
                    "renewal_term_months": 12,
                },
                LINES,
            )
    engine.dispose()
    return STREAMLIT_APP, url


def renewals_page(frame: Path) -> AppTest:
    at = log_in(AppTest.from_file(str(frame), default_timeout=30).run(), "sally")
    assert not at.exception
    at.switch_page("operations/pages/renewals.py").run()
    assert not at.exception, at.exception
    return at


def state(url: str, number: str) -> tuple[date | None, bool, list[str]]:
    engine = make_engine(url)
    with session_scope(engine, readonly=True) as session:
        contract = session.scalars(select(Contract).where(Contract.contract_number == number)).one()
        version = current_version(contract)
        decisions = list(
            session.scalars(select(Renewal.decision).where(Renewal.contract_id == contract.id))
        )
        result = (version.end_date, version.auto_renew, decisions)
    engine.dispose()
    return result


def test_the_queue_lists_manual_renewals_and_renew_is_one_click(app: tuple[Path, str]) -> None:
    frame, url = app
    at = renewals_page(frame)
    assert at.title[0].value == "Renewals (2)"
    names = [md.value for md in at.markdown if md.value.startswith("**CT-")]
    assert len(names) == 2 and "Bølgen AS" in names[0] and "Li AS" in names[1]
    number = names[0].strip("*").split(" ")[0]
    before, _, _ = state(url, number)
    at.button(key=f"renew_{number}_submit").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Renewals (1)"
    assert any("renewed until" in s.value for s in at.success)
    after, _, decisions = state(url, number)
    assert before is not None and after is not None and after > before + timedelta(days=360)
    assert decisions == ["renewed"]


def test_let_expire_asks_for_a_note(app: tuple[Path, str]) -> None:
    frame, url = app
    at = renewals_page(frame)
    names = [md.value for md in at.markdown if md.value.startswith("**CT-")]
    number = names[1].strip("*").split(" ")[0]
    form = f"expire_{number}"
    at.button(key=f"{form}_submit").click().run()
    assert not at.exception, at.exception
    assert state(url, number)[2] == []
    at.text_input(key=f"{form}_note").input("Customer is moving to a rival")
    at.button(key=f"{form}_submit").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Renewals (1)"
    end, auto, decisions = state(url, number)
    assert decisions == ["expired"] and auto is False


def test_renegotiate_opens_the_new_agreement_flow(app: tuple[Path, str]) -> None:
    frame, url = app
    at = renewals_page(frame)
    names = [md.value for md in at.markdown if md.value.startswith("**CT-")]
    number = names[0].strip("*").split(" ")[0]
    at.button(key=f"renegotiate_{number}_submit").click().run()
    assert not at.exception, at.exception
    assert state(url, number)[2] == ["renegotiating"]
    assert at.query_params.get("proposal")


def test_renew_asks_for_the_term_when_the_contract_has_none(app: tuple[Path, str]) -> None:
    """A contract taken over from HubSpot has an end date but no term: Renew asks how long,
    and that becomes its renewal term."""
    frame, url = app
    engine = make_engine(url)
    end = oslo_today() + timedelta(days=15)
    with session_scope(engine) as session:
        customer = create_customer(session, "sally", {"name": "Havn AS", "country": "NO"})
        number = create_contract(
            session,
            "sally",
            customer,
            {"start_date": end - timedelta(days=200), "end_date": end, "currency": "NOK"},
            LINES,
        ).contract.contract_number
    engine.dispose()
    at = renewals_page(frame)
    form = f"renew_{number}"
    assert f"{form}_submit" in [button.key for button in at.button]
    at.number_input(key=f"{form}_months").set_value(24)
    at.button(key=f"{form}_submit").click().run()
    assert not at.exception, at.exception
    after, _, decisions = state(url, number)
    assert decisions == ["renewed"] and after == add_months(
        end + timedelta(days=1), 24
    ) - timedelta(days=1)
    with session_scope(make_engine(url), readonly=True) as session:
        contract = session.scalars(select(Contract).where(Contract.contract_number == number)).one()
        assert current_version(contract).renewal_term_months == 24
