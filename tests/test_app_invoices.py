"""Operations → Invoices as a user sees it, on a real SQLite register: the documents with
their status and a status filter, a credit note that names the invoice it corrects, the
PDF, a bank statement imported with its report and the payment nobody could place in the
queue; and the contract page's list of its invoices."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from avtale.dates import add_months
from avtale.dates import today as business_today
from avtale.repository.db import make_engine, session_scope
from avtale.services import invoices
from avtale.services.database import database_at
from avtale.settings import Paths
from tests import invoice_fixtures as fx
from tests.app_ops_fixtures import as_user, make_template, open_page, use_database

PAGE = "operations/pages/invoices.py"
CONTRACT_PAGE = "operations/pages/contract.py"
REASON_REQUIRED = "Reason: is required"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: Path) -> dict[str, Any]:
    """Two Norwegian contracts billed monthly: the first from two months ago, invoiced then
    (overdue by now) and today for the two months since; the second from this month,
    invoiced today (not due yet)."""
    url = use_database(tmp_path, monkeypatch, template)
    today = business_today()
    first_day = add_months(today.replace(day=1), -2)
    with session_scope(make_engine(url)) as session:
        old = fx.contract(session, fx.customer(session, fx.NORWAY), [fx.monthly()],
                          start_date=first_day)  # fmt: skip
        new = fx.contract(
            session,
            fx.customer(session, ("Nordlys Regnskap AS", "912 345 688", "NO")),
            [fx.monthly(5, "200")],
            start_date=today.replace(day=1),
        )
        numbers = (old.contract_number, new.contract_number)
    db, paths = database_at(url), Paths(tmp_path)
    (overdue,) = invoices.run_invoices(db, paths, first_day, today=first_day).invoices
    current = invoices.run_invoices(db, paths, today, today=today).invoices
    kid = invoices.payment_references(db, [overdue])[overdue]
    return {"contracts": numbers, "overdue": overdue, "current": current, "today": today,
            "kid": kid}  # fmt: skip


def texts(elements: Any) -> list[str]:
    return [element.value for element in elements]


def table(at: AppTest, *columns: str) -> Any:
    """The shown table with these columns (a read-only st.dataframe has no key to find)."""
    for frame in at.dataframe:
        if set(columns) <= set(frame.value.columns):
            return frame.value
    raise AssertionError(f"no table with columns {columns}")


def shown_register(at: AppTest) -> Any:
    return table(at, "number", "customer", "status")


def test_a_reader_sees_the_register_with_status_and_filters_it(register: dict[str, Any]) -> None:
    at = open_page(as_user("anna"), PAGE)
    assert texts(at.title) == ["Invoices"]
    table = shown_register(at)
    assert len(table) == 3  # two months of the old contract, one of the new
    overdue = register["overdue"]
    by_number = table.set_index("number")
    assert by_number.loc[overdue, "status"] == "overdue"
    assert by_number.loc[overdue, "customer"] == "Fjordkraft Kunde AS"
    assert by_number.loc[overdue, "total"] == 1000.0 * 1.25  # 10 × 100 and 25 % VAT
    assert set(by_number.drop(index=overdue).status) == {"issued"}

    at.multiselect(key="invoice_status").select("overdue").run()
    assert list(shown_register(at).number) == [overdue]
    assert "1 of 3 documents" in " ".join(texts(at.caption))
    # A reader may look, not credit or import.
    open_page(at, PAGE, invoice=overdue)
    assert not [form for form in at.text_input if form.key.startswith("credit_")]
    assert "Import a bank statement" not in texts(at.subheader)


def test_a_credit_note_names_the_invoice_it_corrects(register: dict[str, Any]) -> None:
    overdue = register["overdue"]
    at = open_page(as_user("sally"), PAGE, invoice=overdue)
    at.button(key=f"credit_{overdue}_submit").click().run()  # no reason given
    assert texts(at.error) == [REASON_REQUIRED]
    assert len(shown_register(at)) == 3

    at.text_input(key=f"credit_{overdue}_reason").input("Wrong licence count")
    at.button(key=f"credit_{overdue}_submit").click().run()
    assert not at.exception, at.exception
    assert texts(at.success) == [f"Credit note K10001 issued for {overdue}: NOK 1,250.00."]
    after = shown_register(at).set_index("number")
    assert after.loc["K10001", "corrects"] == overdue
    assert after.loc["K10001", "kind"] == "credit note"
    assert after.loc[overdue, "status"] == "credited"

    # The contract page lists its own documents, newest first, the credit note on top.
    open_page(at, CONTRACT_PAGE, contract=register["contracts"][0])
    listed = table(at, "number", "corrects")
    assert list(listed.number) == ["K10001", register["current"][0], overdue]
    assert list(listed.corrects.fillna("")) == [overdue, "", ""]


def test_the_pdf_of_an_invoice_downloads(register: dict[str, Any]) -> None:
    overdue = register["overdue"]
    at = open_page(as_user("sally"), PAGE, invoice=overdue)
    assert not at.get("download_button")
    at.button(key=f"pdf_{overdue}_submit").click().run()
    assert not at.exception, at.exception
    (download,) = at.get("download_button")
    assert download.proto.label.startswith("Download ") and overdue in download.proto.label


def test_a_statement_pays_by_kid_and_queues_what_it_cannot_place(
    register: dict[str, Any],
) -> None:
    overdue = register["overdue"]
    at = open_page(as_user("sally"), PAGE)
    statement = fx.camt053(
        fx.Transfer("1250.00", "B1", kid=register["kid"], booked=register["today"]),
        fx.Transfer(
            "99.00",
            "B2",
            message="gave",
            payer="Stranger AS",
            booked=register["today"] - timedelta(days=1),
        ),  # fmt: skip
    )
    at.file_uploader(key="statement_file").set_value(("march.xml", statement, "text/xml"))
    at.button(key="statement_submit").click().run()
    assert not at.exception, at.exception
    (message,) = texts(at.success)
    assert "2 payments imported" in message and "paid in full: 1" in message
    assert shown_register(at).set_index("number").loc[overdue, "status"] == "paid"
    queue = table(at, "payer", "reason")
    assert list(queue.payer) == ["Stranger AS"] and list(queue.amount) == [99.0]
