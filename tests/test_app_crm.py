"""Customers and contracts from CRM and accounting exports, shown read-only beside the
app's own: the search lists them, and their page shows origin, terms, lines and MRR.

The marts are the hand-made serving file of app_fixtures.py (customers C1-C4 from
HubSpot), plus a customer from a generic accounting export and one entered in the app.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from streamlit.testing.v1 import AppTest

from avtale.dates import today
from avtale.repository.db import make_engine, session_scope
from avtale.repository.models import Contract
from tests.app_fixtures import write_serving_fixture
from tests.app_ops_fixtures import log_in, make_template, start_app, use_database

CRM_PAGE = "operations/pages/crm_customer.py"
SECTION = "From CRM and accounting exports (read-only)"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("template"))


def write_marts(path: Path) -> None:
    """The fixture marts, with contracts.current_mrr (as dbt now publishes it), a customer
    from an accounting export and one from the app, which the CRM views must leave out."""
    write_serving_fixture(path)
    con = duckdb.connect(str(path))
    try:
        con.execute("alter table contracts add column current_mrr double")
        con.execute(
            "update contracts set current_mrr = case contract_id "
            "when 'K1' then 1500 when 'K3' then 1200 when 'K4' then 2400 "
            "when 'K5' then 812.5 else 0 end"
        )
        con.execute(
            "insert into customers values "
            "('generic:77', 'generic', '77', 'Fjellvann Regnskap AS', '934567890', 'NO', "
            "'Ingrid', 'Accounting', date '2025-01-01', 'NOK', date '2025-01-01', 300), "
            "('app:1', 'app', '1', 'Fjordkraft Drift AS', '945678901', 'NO', 'Ingrid', "
            "'Energy', date '2025-01-01', 'NOK', date '2025-01-01', 900)"
        )
    finally:
        con.close()


@pytest.fixture
def analyst(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: Path) -> AppTest:
    write_marts(tmp_path / "serving.duckdb")
    use_database(tmp_path, monkeypatch, template)
    at = log_in(start_app(), "anna")
    assert not at.exception
    return at


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def search(at: AppTest, text: str) -> AppTest:
    at.switch_page("operations/pages/search.py").run()
    at.text_input(key="search_text").input(text).run()
    assert not at.exception, at.exception
    return at


def open_crm(at: AppTest, customer_id: str) -> AppTest:
    at.query_params.clear()
    at.query_params.update({"crm_customer": customer_id})
    at.switch_page(CRM_PAGE).run()
    assert not at.exception, at.exception
    return at


def test_search_lists_crm_customers_under_the_read_only_section(analyst):
    at = search(analyst, "fjord")
    assert SECTION in texts(at.subheader)
    hits = at.dataframe(key="crm_hits").value
    # The app's own customer is searched in the operational database, not here.
    assert hits["name"].tolist() == ["Fjord Analytics AS"]
    assert hits["source_system"].tolist() == ["HubSpot"]
    assert hits["matched_on"].tolist() == ["name"]


@pytest.mark.parametrize(
    ("text", "names", "matched_on"),
    [
        ("912345678", ["Fjord Analytics AS"], "org number"),
        ("40002", ["Skärgård Systems AB"], "contract id"),  # K4's id in the export
        ("LOGISTICS", ["Öresund Logistik AB"], "product"),
        ("regnskap", ["Fjellvann Regnskap AS"], "name"),
    ],
)
def test_search_matches_org_number_contract_id_product_and_accounting_rows(
    analyst, text, names, matched_on
):
    hits = search(analyst, text).dataframe(key="crm_hits").value
    assert hits["name"].tolist() == names
    assert set(hits["matched_on"]) == {matched_on}


def test_a_search_that_matches_nothing_says_so(analyst):
    at = search(analyst, "zzz")
    assert "No exported customer matches “zzz”." in texts(at.caption)


def test_a_hit_opens_the_read_only_customer_view(analyst):
    at = search(analyst, "Skärgård")
    at.session_state["crm_hits"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    assert texts(at.title) == ["CRM customer"]
    assert at.query_params == {"crm_customer": "C3"}
    assert texts(at.header) == ["Skärgård Systems AB"]


def test_the_crm_view_shows_origin_contracts_lines_and_mrr_without_edit_actions(analyst):
    at = open_crm(analyst, "C2")
    assert texts(at.header) == ["Nordlys Data AS"]
    assert at.info[0].value.startswith("Origin: HubSpot export. Company data is edited in HubSpot")
    shown = " ".join(texts(at.markdown))
    for expected in ("Nordlys pilot", "Nordlys return", "923456789", "1\xa0200,00\xa0kr"):
        assert expected in shown
    assert "budget" in at.warning[0].value  # K3 was terminated, with its reason
    # One table of lines per contract, K2 then K3 (a read-only table has no key to find).
    k3 = at.dataframe[1].value
    assert k3[["product", "quantity", "unit_price", "line_mrr"]].values.tolist() == [
        ["Platform", 12, 100, 1200]
    ]
    # Read-only to an analyst: no form, no button but the sidebar's log-out, nothing to type.
    assert not at.form
    assert [button.key for button in at.button] == ["logout"]
    assert not at.text_input
    assert not at.text_area


def test_an_accounting_customer_names_its_own_source(analyst):
    at = open_crm(analyst, "generic:77")
    assert at.info[0].value.startswith("Origin: accounting export (generic CSV). Company data")
    assert "No contracts in the export." in texts(at.caption)


def test_app_customers_and_unknown_ids_are_not_shown_as_crm(analyst):
    at = open_crm(analyst, "app:1")
    assert not at.header
    assert "Pick a customer" in texts(at.caption)[0]


@pytest.mark.parametrize("username", ["leo", "anna", "sally", "ada"])
def test_every_role_that_reads_may_open_the_crm_view(tmp_path, monkeypatch, template, username):
    write_marts(tmp_path / "serving.duckdb")
    use_database(tmp_path, monkeypatch, template)
    at = open_crm(log_in(start_app(), username), "C1")
    assert texts(at.header) == ["Fjord Analytics AS"]


def test_without_published_data_search_and_view_say_so_quietly(tmp_path, monkeypatch, template):
    use_database(tmp_path, monkeypatch, template)
    at = search(log_in(start_app(), "anna"), "fjord")
    assert "No CRM or accounting data is published yet." in texts(at.caption)
    assert not at.error
    at = open_crm(at, "C1")
    assert "No CRM or accounting data is published yet" in at.info[0].value


def test_the_term_filter_covers_exported_contracts_too(analyst):
    at = analyst
    at.switch_page("operations/pages/search.py").run()
    at.selectbox(key="terms_auto_renew").select("no").run()
    assert not at.exception, at.exception
    rows = at.dataframe(key="crm_terms_results").value
    assert sorted(rows["customer"]) == ["Nordlys Data AS", "Nordlys Data AS"]
    at.date_input(key="terms_ends_before").set_value(date(2025, 8, 1)).run()
    rows = at.dataframe(key="crm_terms_results").value
    # K2 ended long ago: outside the deadlines window, its end date stands in.
    assert rows["current_term_end"].dt.date.tolist() == [date(2025, 2, 28), date(2025, 7, 31)]
    assert rows["auto_renew"].tolist() == [False, False]


def test_sales_ops_take_a_crm_contract_over_and_then_find_it_kept_in_avtale(
    tmp_path, monkeypatch, template
):
    """Issue 14, item 1: the CRM contract's first action adopts it; the page then links to
    the app's copy instead of offering to take it over again."""
    write_marts(tmp_path / "serving.duckdb")
    # The same company in accounting too: the picker must keep the two apart (its label).
    con = duckdb.connect(str(tmp_path / "serving.duckdb"))
    con.execute(
        "insert into customers values ('generic:78', 'generic', '78', 'Fjord Analytics AS', "
        "null, 'NO', 'Ingrid', null, date '2025-01-01', 'NOK', null, 0)"
    )
    con.close()
    use_database(tmp_path, monkeypatch, template)
    at = open_crm(log_in(start_app(), "sally"), "C2")
    # K2 has ended and K3 is terminated: nothing to take over.
    assert [button.key for button in at.button] == ["logout"]
    at = open_crm(at, "C1")
    keys = [button.key for button in at.button]
    assert "adopt_K1_submit" in keys and "adopt_renegotiate_K1_submit" in keys
    at.button(key="adopt_K1_submit").click().run()
    assert not at.exception, at.exception
    assert texts(at.title) == ["Contract"]
    number = at.query_params["contract"]
    assert "Taken over from K1 on" in at.info[0].value
    at = open_crm(at, "C1")
    assert "adopt_K1_submit" not in [button.key for button in at.button]
    assert any(f"as {number}" in link.label for link in at.get("page_link"))


def app_contract(url: str, source_ref: str) -> Contract | None:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            contract = session.scalar(
                select(Contract)
                .where(Contract.source_ref == source_ref)
                .options(selectinload(Contract.versions))
            )
            if contract is not None:
                session.expunge_all()
            return contract
    finally:
        engine.dispose()


def test_sales_ops_act_on_a_crm_contract_as_on_an_app_contract(tmp_path, monkeypatch, template):
    """Issue 14, item 1: terminate (with reason), renew, re-price and co-terminate straight
    from the CRM page; each takes the contract over first, and a refused termination takes
    nothing over."""
    write_marts(tmp_path / "serving.duckdb")
    con = duckdb.connect(str(tmp_path / "serving.duckdb"))
    ends = today() + timedelta(days=40)
    # A fixed-term CRM contract with no renewal term of its own: Renew must ask for one.
    con.execute(
        "insert into contracts values ('K6', 'C1', 'hubspot', '60002', 'Fjord support', "
        "'Ingrid', 'newbusiness', 'NOK', date '2025-01-01', date '2025-01-01', ?, 12, false, "
        "null, 1, null, null, 'active', 300)",
        [ends],
    )
    con.execute(
        "insert into contract_lines values ('L9', 'K6', 'C1', 'hubspot', '90003', 'Support', "
        "1, 300, 0, null, 'monthly', 1, true, 'NOK', 1.0, date '2025-01-01', ?, 300, 0)",
        [ends],
    )
    con.close()
    url = use_database(tmp_path, monkeypatch, template)
    at = open_crm(log_in(start_app(), "sally"), "C1")
    # K1 renews by itself and has no end: nothing to renew by hand.
    assert at.button(key="adopt_renew_K1_off").disabled

    form = "adopt_terminate_K1"
    last_day = today() + timedelta(days=30)
    at.date_input(key=f"{form}_terminated_date").set_value(last_day)
    at.button(key=f"{form}_submit").click().run()
    assert not at.exception, at.exception
    assert "reason" in " ".join(texts(at.error)).lower()
    assert app_contract(url, "K1") is None  # refused: nothing taken over
    at.text_input(key=f"{form}_reason").input("Moved to a competitor")
    at.button(key=f"{form}_submit").click().run()
    assert not at.exception, at.exception
    kept = app_contract(url, "K1")
    assert kept is not None
    latest = kept.versions[-1]
    assert (latest.terminated_date, latest.termination_reason) == (
        last_day,
        "Moved to a competitor",
    )
    assert any(f"as {kept.contract_number}" in link.label for link in at.get("page_link"))

    at.number_input(key="adopt_renew_K6_months").set_value(24)
    at.button(key="adopt_renew_K6_submit").click().run()
    assert not at.exception, at.exception
    renewed = app_contract(url, "K6")
    assert renewed is not None
    assert renewed.versions[-1].end_date == ends + relativedelta(months=24)
    assert renewed.versions[-1].renewal_term_months == 24

    at = open_crm(at, "C3")
    at.button(key="adopt_reprice_K4_submit").click().run()
    assert not at.exception, at.exception
    assert texts(at.title) == ["Contract"]
    revise = next(e for e in at.expander if e.label == "Revise (new version)")
    assert revise.proto.expanded

    at = open_crm(at, "C4")
    at.button(key="adopt_coterminate_K5_submit").click().run()
    assert not at.exception, at.exception
    assert texts(at.title) == ["Bulk operations"], [e.value for e in at.error]
    k5 = app_contract(url, "K5")
    assert k5 is not None
    assert at.segmented_control(key="bulk_kind").value == "co_terminate"
    assert at.multiselect(key="bulk_contracts").value == [k5.contract_number], at.multiselect(
        key="bulk_contracts"
    ).options
