"""The operations pages as a user sees them: login, roles, the customer card, contracts,
counterparty paper and users, on a fresh SQLite database per test."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from avtale.repository import service
from avtale.repository.db import make_engine, session_scope
from avtale.repository.models import AuditLog, Contract, Customer, Document, User
from avtale.services import customers
from avtale.services.database import database_at
from avtale.settings import paths
from avtale.valuation import line_mrr
from tests.app_ops_fixtures import (
    PASSWORD,
    as_user,
    log_in,
    make_template,
    open_page,
    start_app,
    use_database,
)
from tests.sample_files import minimal_pdf

# Streamlit's data_editor adds a row with blanks into typed columns, which pandas 3 warns
# will fail in pandas 4; the rows arrive intact today.
pytestmark = pytest.mark.filterwarnings("ignore:Setting an item of incompatible dtype")

PAGES = {
    "dashboards/pages/mrr_overview.py": "read",
    "operations/pages/search.py": "read",
    "operations/pages/customer.py": "read",
    "operations/pages/contract.py": "read",
    "operations/pages/crm_customer.py": "read",
    "operations/pages/new_customer.py": "edit",
    "agreements/pages/new_contract.py": "edit",
    "agreements/pages/counterparty_paper.py": "edit",
    "operations/pages/upload.py": "upload",
    "admin/pages/users.py": "admin",
}
SEES = {
    "anna": {"read", "upload"},
    "leo": {"read"},
    "sally": {"read", "edit", "upload"},
    "ada": {"read", "edit", "admin", "upload"},
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: Path) -> str:
    return use_database(tmp_path, monkeypatch, template)


def submit(at: AppTest, form: str) -> AppTest:
    at.button(key=f"{form}_submit").click().run()
    assert not at.exception, at.exception
    return at


def stay_on(at: AppTest, page: str) -> None:
    """Keep the test on the page the app switched to. AppTest requests the page of its
    last ``switch_page()`` on every later run, where a browser stays where the app went."""
    at.switch_page(page)


def fill(at: AppTest, form: str, **values: Any) -> AppTest:
    for field, value in values.items():
        at.text_input(key=f"{form}_{field}").input(value)
    return at


def texts(elements: Any) -> list[str]:
    return [element.value for element in elements]


def table(at: AppTest, *columns: str) -> Any:
    """The shown table with these columns (a read-only st.dataframe has no key to find)."""
    for frame in at.dataframe:
        if set(columns) <= set(frame.value.columns):
            return frame.value
    raise AssertionError(f"no table with columns {columns}")


def count(url: str, model: type) -> int:
    with session_scope(make_engine(url), readonly=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def add_customer(url: str, name: str = "Fjord Analytics AS") -> str:
    with session_scope(make_engine(url)) as session:
        customer = service.create_customer(
            session, "sally", {"name": name, "org_number": "912 345 688", "country": "NO"}
        )
        return customer.customer_number


# --- login --------------------------------------------------------------------------


def test_login_refuses_a_wrong_password_and_admits_the_right_one(url):
    at = start_app()
    assert not at.exception
    assert "logout" not in [button.key for button in at.button]

    log_in(at, "sally", "not-the-password")
    assert "Wrong username or password." in texts(at.error)
    assert "logout" not in [button.key for button in at.sidebar.button]

    log_in(at, "sally", PASSWORD)
    assert not at.exception
    assert "**sally** · Sales ops" in texts(at.sidebar.markdown)
    assert "login_password" not in at.session_state  # the password does not linger

    at.sidebar.button(key="logout").click().run()
    assert at.text_input(key="login_username").value == ""
    assert "user" not in at.session_state


def test_a_link_to_a_customer_card_opens_after_the_login(url):
    number = add_customer(url)
    at = start_app()
    open_page(at, "operations/pages/customer.py", customer=number)  # e.g. a bookmark
    assert texts(at.title) == ["Log in to Avtale"]
    assert not at.header  # nothing of the card before the login

    log_in(at, "anna")
    assert texts(at.header) == ["Fjord Analytics AS"]


def test_without_users_the_login_page_says_how_to_add_the_first(tmp_path, monkeypatch):
    use_database(tmp_path, monkeypatch, None)  # migrated by the app on first use
    at = start_app()
    assert not at.exception
    assert "avtale user add NAME --role admin" in at.info[0].value


def test_an_unreachable_database_is_named_without_its_password(tmp_path, monkeypatch):
    monkeypatch.setenv("AVTALE_HOME", str(tmp_path))
    monkeypatch.setenv("AVTALE_DATABASE_URL", "postgresql://avtale:s3cret@127.0.0.1:1/avtale")
    at = start_app()
    assert not at.exception
    assert "Cannot open the operational database" in at.error[0].value
    assert "s3cret" not in at.error[0].value


def test_a_deactivated_user_is_logged_out_on_the_next_click(url):
    at = as_user("sally")
    with session_scope(make_engine(url)) as session:
        # Straight in the database, past the audit log: the app must notice all the same.
        sally = session.scalar(select(User).where(User.username == "sally"))
        sally.active = False
    at.run()
    assert at.text_input(key="login_username")  # back at the login form


# --- roles --------------------------------------------------------------------------


@pytest.mark.parametrize("username", list(SEES))
def test_each_role_sees_only_its_pages(url, username):
    """Its pages run; another page's file is not in its navigation (its address answers
    with a stand-in that says which roles may open it: tests/test_browser.py)."""
    at = as_user(username)
    for page, needs in PAGES.items():
        if needs in SEES[username]:
            at.switch_page(page)  # raises when the page is not in the navigation
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(page)


def test_an_analyst_reads_the_card_without_any_action(url):
    number = add_customer(url, name="Fjord_Data *AS*")
    at = open_page(as_user("anna"), "operations/pages/customer.py", customer=number)
    assert texts(at.header) == [r"Fjord\_Data \*AS\*"]  # shown as typed, not as markdown
    assert not at.form
    assert "archive_customer_submit" not in [button.key for button in at.button]


def test_a_form_refuses_a_role_that_may_not_write(url):
    # The page is hidden from an analyst; the write itself checks again.
    outcome = customers.create_customer(database_at(url), "anna", {"name": "Sneaky AS"})
    assert outcome.errors == {"form": "your role (analyst) may not do this"}
    assert count(url, Customer) == 0


# --- customers ----------------------------------------------------------------------


def test_a_new_customer_opens_on_its_card(url):
    at = open_page(as_user("sally"), "operations/pages/new_customer.py")
    fill(at, "new_customer", name="Nordlys Data AS", org_number="923 456 783", country="no")
    submit(at, "new_customer")

    assert texts(at.title) == ["Customer card"]
    assert texts(at.header) == ["Nordlys Data AS"]
    assert "Customer Nordlys Data AS (CU-000001) created." in texts(at.success)
    assert at.query_params == {"customer": "CU-000001"}
    assert "Customer created" in table(at, "at", "actor", "what")["what"].tolist()


def test_a_missing_required_field_shows_the_error_and_writes_nothing(url):
    audit_rows = count(url, AuditLog)
    at = open_page(as_user("sally"), "operations/pages/new_customer.py")
    fill(at, "new_customer", org_number="923 456 783", country="Norway")
    submit(at, "new_customer")

    assert texts(at.title) == ["New customer"]
    assert texts(at.error) == [
        "Name: is required",
        "Country: must be a two-letter country code (ISO 3166), such as NO",
    ]
    assert at.text_input(key="new_customer_org_number").value == "923 456 783"  # kept
    assert count(url, Customer) == 0
    assert count(url, AuditLog) == audit_rows


def test_terminate_and_restore_a_customer(url):
    number = add_customer(url)
    at = open_page(as_user("sally"), "operations/pages/customer.py", customer=number)

    submit(at, "terminate_customer")  # no reason given
    assert "Reason: is required" in texts(at.error)

    at.text_input(key="terminate_customer_reason").input("Moved to a competitor")
    at.text_area(key="terminate_customer_circumstances").input("Price after CPI adjustment")
    submit(at, "terminate_customer")
    assert "Fjord Analytics AS is terminated." in texts(at.success)
    assert "Terminated: Moved to a competitor — Price after CPI adjustment" in texts(at.warning)
    assert "terminate_customer_submit" not in [button.key for button in at.button]

    at.button(key="restore_customer_submit").click().run()
    assert "Fjord Analytics AS is active again." in texts(at.success)
    assert not at.warning
    timeline = table(at, "at", "actor", "what")
    assert timeline["what"].tolist()[:2] == ["Customer restored", "Customer terminated"]


def test_add_a_contact_who_may_sign(url):
    number = add_customer(url)
    at = open_page(as_user("sally"), "operations/pages/customer.py", customer=number)
    fill(at, "add_contact", name="Kari Nordmann", email="kari@fjord.no")
    at.checkbox(key="add_contact_may_sign").check()
    submit(at, "add_contact")
    assert "Contact Kari Nordmann added." in texts(at.success)
    contacts = table(at, "may_sign")
    assert contacts[["name", "may_sign"]].values.tolist() == [["Kari Nordmann", True]]

    # She gets a personal link to the customer portal, by mail (the outbox here).
    at.button(key="portal_link_submit").click().run()
    assert not at.exception, at.exception
    assert "A portal link went to Kari Nordmann (kari@fjord.no)." in texts(at.success)
    mails = list((paths().home / "outbox").glob("*.eml"))
    assert len(mails) == 1 and b"/portal/" in mails[0].read_bytes()


# --- contracts ----------------------------------------------------------------------

LINE = {
    "product": "Platform licence",
    "quantity": 10,
    "unit_price": 450.0,
    "billing_period": "monthly",
}


def edit_table(at: AppTest, key: str, *, added=(), edited=None) -> None:
    at.session_state[key] = {
        "edited_rows": edited or {},
        "added_rows": list(added),
        "deleted_rows": [],
    }


def test_create_revise_and_compare_a_contract(url):
    number = add_customer(url)
    at = open_page(as_user("sally"), "agreements/pages/new_contract.py", customer=number)
    at.text_input(key="new_contract_title").input("Analytics platform")
    at.date_input(key="new_contract_start_date").set_value(date(2025, 1, 1))
    at.number_input(key="new_contract_term_months").set_value(12)
    at.number_input(key="new_contract_notice_months").set_value(3)
    edit_table(at, "new_contract_lines", added=[LINE])
    submit(at, "new_contract")

    assert texts(at.title) == ["Contract"]
    assert "Contract CT-000001 created for Fjord Analytics AS." in texts(at.success)
    stay_on(at, "operations/pages/contract.py")
    assert table(at, "product", "mrr")["unit_price"].tolist() == [450.0]

    # A new price from March: the line editor holds the current lines, prefilled.
    at.date_input(key="revise_effective_date").set_value(date(2025, 3, 1))
    at.text_input(key="revise_reason").input("Price increase")
    edit_table(at, "revise_lines", edited={0: {"unit_price": 500.0}})
    submit(at, "revise")

    assert "CT-000001 version 2 saved, effective 2025-03-01." in texts(at.success)
    history = table(at, "version_no", "reason")
    assert history[["version_no", "reason"]].values.tolist() == [
        [2, "Price increase"],
        [1, "New contract"],
    ]
    compared = table(at, "field", "old", "new")
    assert compared.values.tolist() == [["Line 1 · Unit price", "450", "500"]]


def test_a_revision_without_effective_date_and_reason_is_refused(url):
    contract = add_contract(url)
    at = open_page(as_user("sally"), "operations/pages/contract.py", contract=contract)
    at.number_input(key="revise_notice_months").set_value(6)
    submit(at, "revise")
    assert "Effective date: is required" in texts(at.error)
    assert "Reason: is required" in texts(at.error)
    assert at.number_input(key="revise_notice_months").value == 6  # the input stays
    assert len(table(at, "version_no", "reason")) == 1


def test_add_an_asset_and_an_attachment_then_terminate_the_contract(url):
    contract = add_contract(url)
    at = open_page(as_user("sally"), "operations/pages/contract.py", contract=contract)
    fill(at, "add_asset", serial_number="SN-4711", model="Edge 200")
    submit(at, "add_asset")
    assert "Installed asset SN-4711 added." in texts(at.success)
    assert table(at, "serial_number", "model")["serial_number"].tolist() == ["SN-4711"]

    at.file_uploader(key="attachment_file").set_value(("empty.pdf", b"", "application/pdf"))
    submit(at, "attachment")
    assert "File: is empty" in texts(at.error)
    pdf = minimal_pdf()
    at.file_uploader(key="attachment_file").set_value(("amendment.pdf", pdf, "application/pdf"))
    submit(at, "attachment")
    assert f"Attached amendment.pdf (SHA-256 {hashlib.sha256(pdf).hexdigest()})." in texts(
        at.success
    )
    assert [button.label for button in at.get("download_button")] == [
        f"amendment.pdf (attachment, {len(pdf):,} bytes)"
    ]

    at.radio(key="portal_access_level").set_value("upgrade")
    submit(at, "portal_access")
    assert f"Portal access of {contract}: Upgrade only." in texts(at.success)

    at.date_input(key="terminate_contract_terminated_date").set_value(date(2025, 6, 30))
    at.text_input(key="terminate_contract_reason").input("Budget cut")
    submit(at, "terminate_contract")
    assert f"{contract} terminated; its last day is 2025-06-30." in texts(at.success)
    assert "revise_submit" not in [button.key for button in at.button]


def add_contract(url: str) -> str:
    number = add_customer(url)
    with session_scope(make_engine(url)) as session:
        customer = session.scalar(select(Customer).where(Customer.customer_number == number))
        terms = {"start_date": date(2025, 1, 1), "term_months": 12, "currency": "NOK"}
        version = service.create_contract(session, "sally", customer, terms, [LINE])
        return version.contract.contract_number


def test_search_finds_a_contract_by_product_and_opens_it(url):
    contract = add_contract(url)
    at = open_page(as_user("anna"), "operations/pages/search.py")
    at.text_input(key="search_text").input("licence").run()
    hits = at.dataframe(key="search_hits").value
    assert hits[["kind", "label"]].values.tolist() == [
        ["Contract", f"{contract} · Fjord Analytics AS"]
    ]
    at.session_state["search_hits"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert texts(at.title) == ["Contract"]
    assert at.query_params == {"contract": contract}


def test_the_term_filter_lists_matching_contracts(url):
    contract = add_contract(url)
    at = open_page(as_user("anna"), "operations/pages/search.py")
    at.date_input(key="terms_ends_before").set_value(date(2026, 1, 1)).run()
    assert at.dataframe(key="terms_results").value["contract"].tolist() == [contract]
    at.date_input(key="terms_ends_before").set_value(date(2025, 6, 1)).run()
    assert "No contract has these terms." in texts(at.caption)


def test_every_page_shows_without_error_for_an_admin(url):
    contract = add_contract(url)
    at = as_user("ada")
    for page in PAGES:
        if page == "dashboards/pages/mrr_overview.py":
            continue  # needs published marts: tests/test_app.py
        open_page(at, page, customer="CU-000001", contract=contract)
        assert not at.error, (page, texts(at.error))


def test_contract_mrr_follows_the_spec():
    line = {
        "quantity": Decimal(2),
        "unit_price": Decimal(1200),
        "discount_percent": Decimal(25),
        "discount_end_date": date(2025, 6, 30),
        "billing_period": "quarterly",
        "billing_interval_months": None,
    }
    assert line_mrr(line, date(2025, 6, 30)) == Decimal(600)  # 2 x 1200 x 0.75 / 3
    assert line_mrr(line, date(2025, 7, 1)) == Decimal(800)  # the discount ran out
    weekly = line | {"billing_period": "weekly", "discount_percent": Decimal(0)}
    assert line_mrr(weekly, date(2025, 7, 1)) == Decimal(2400) * 52 / 12
    every = line | {"billing_period": "every_n_months", "billing_interval_months": 4}
    assert line_mrr(every, date(2025, 7, 1)) == Decimal(600)
    assert line_mrr(line | {"billing_period": "one_off"}, date(2025, 7, 1)) == 0


# --- counterparty paper -------------------------------------------------------------


def test_counterparty_paper_refuses_a_non_pdf_and_stores_a_pdf(url, tmp_path):
    number = add_customer(url)
    at = open_page(as_user("sally"), "agreements/pages/counterparty_paper.py", customer=number)
    at.date_input(key="paper_start_date").set_value(date(2025, 2, 1))
    edit_table(at, "paper_lines", added=[LINE])
    at.file_uploader(key="paper_file").set_value(("contract.pdf", b"Dear Sirs", "application/pdf"))
    submit(at, "paper")
    assert "File: must be a PDF or a Word (.docx) document" in texts(at.error)
    assert count(url, Contract) == 0 and count(url, Document) == 0

    pdf = minimal_pdf()
    at.file_uploader(key="paper_file").set_value(("contract.pdf", pdf, "application/pdf"))
    submit(at, "paper")
    sha256 = hashlib.sha256(pdf).hexdigest()
    assert not at.error
    assert f"SHA-256 of **contract.pdf**: `{sha256}`" in texts(at.markdown)
    assert (tmp_path / "documents" / sha256[:2] / f"{sha256}.pdf").read_bytes() == pdf
    with session_scope(make_engine(url), readonly=True) as session:
        contract = session.scalar(select(Contract))
        assert (contract.origin, contract.versions[0].lines[0].unit_price) == (
            "counterparty_paper",
            Decimal("450"),
        )


# --- users --------------------------------------------------------------------------


def test_an_admin_adds_a_user_who_can_then_log_in(url):
    at = open_page(as_user("ada"), "admin/pages/users.py")
    fill(at, "add_user", username="nina", password="short")
    submit(at, "add_user")
    assert "Password: must be at least 10 characters" in texts(at.error)

    fill(at, "add_user", username="nina", password="nordic-analyst-1")
    at.selectbox(key="add_user_role").set_value("analyst")
    submit(at, "add_user")
    assert "User nina (analyst) created." in texts(at.success)
    users = table(at, "username", "role")
    assert users.loc[users.username == "nina", "role"].tolist() == ["Analyst"]

    nina = log_in(start_app(), "nina", "nordic-analyst-1")
    assert "**nina** · Analyst" in texts(nina.sidebar.markdown)


def test_an_admin_sets_where_a_users_reminders_go(url):
    """Issue 14, item 8: e-mail, manager and CRM owner on the Users page, starting from
    what is saved; a bad address is refused with the field named."""
    at = open_page(as_user("ada"), "admin/pages/users.py")
    at.selectbox(key="contact_user").set_value("sally").run()
    at.text_input(key="contact_sally_email").input("not an address")
    submit(at, "contact_sally")
    assert any("E-mail" in text or "email" in text.lower() for text in texts(at.error))
    at.text_input(key="contact_sally_email").input("sally@avtale.example")
    at.selectbox(key="contact_sally_manager").set_value("leo")
    at.text_input(key="contact_sally_crm_owner").input("Sally Sørensen")
    submit(at, "contact_sally")
    assert "Contact details of sally saved." in texts(at.success)
    shown = table(at, "username", "email", "manager", "crm_owner")
    assert shown.loc[
        shown.username == "sally", ["email", "manager", "crm_owner"]
    ].values.tolist() == [["sally@avtale.example", "leo", "Sally Sørensen"]]
    at = open_page(as_user("ada"), "admin/pages/users.py")
    at.selectbox(key="contact_user").set_value("sally").run()
    assert at.text_input(key="contact_sally_email").value == "sally@avtale.example"


def test_an_admin_deactivates_a_user(url):
    at = open_page(as_user("ada"), "admin/pages/users.py")
    at.selectbox(key="user_access_user").set_value("leo")
    at.radio(key="user_access_active").set_value("deactivate")
    submit(at, "user_access")
    assert "leo is now leadership, deactivated." in texts(at.success)
    refused = log_in(start_app(), "leo")
    assert "Wrong username or password." in texts(refused.error)
