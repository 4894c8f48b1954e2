"""The guided agreement flow, the inbox and the template library as users see them:
New agreement from customer to signature, approval of a high discount, a renegotiation
routed to customer success, an invoice PDF, refused templates, and who sees which page
(SPEC C, D), each on a fresh SQLite database with the built-in templates and catalogue."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from avtale.dates import today as business_today
from avtale.repository import agreements, generation, library, service
from avtale.repository.db import make_engine, session_scope
from avtale.repository.models import (
    Contact,
    Contract,
    Customer,
    Document,
    Notification,
    Template,
)
from avtale.services import agreements as agreement_service
from avtale.services import users
from avtale.services.database import database_at
from avtale.settings import paths
from tests.app_ops_fixtures import (
    app_formatter,
    as_user,
    make_template,
    open_page,
    sqlite_url,
    use_database,
)

pytestmark = pytest.mark.filterwarnings("ignore:Setting an item of incompatible dtype")

FLOW = "agreements/pages/new_agreement.py"
NOTIFICATIONS_PAGE = "operations/pages/notifications.py"
INBOX = "agreements/pages/inbox.py"
TEMPLATES = "admin/pages/templates.py"
# The business day, as the app counts it (Oslo): near midnight it is not the UTC date.
TODAY = business_today()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = make_template(tmp_path_factory.mktemp("template"))
    engine = make_engine(sqlite_url(path))
    with session_scope(engine) as session:
        library.install_defaults(session)
    engine.dispose()
    return path


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: Path) -> str:
    return use_database(tmp_path, monkeypatch, template)


def click(at: AppTest, form: str) -> AppTest:
    at.button(key=f"{form}_submit").click().run(timeout=60)
    assert not at.exception, at.exception
    return at


def texts(elements: Any) -> list[str]:
    return [element.value for element in elements]


def table(at: AppTest, *columns: str) -> Any:
    """The shown table with these columns (a read-only st.dataframe has no key to find)."""
    for frame in at.dataframe:
        if set(columns) <= set(frame.value.columns):
            return frame.value
    raise AssertionError(f"no table with columns {columns}")


def add_customer(url: str) -> str:
    with session_scope(make_engine(url)) as session:
        customer = service.create_customer(
            session,
            "sally",
            {"name": "Fjord Analytics AS", "org_number": "912345688", "country": "NO"},
        )
        session.add(
            Contact(
                customer=customer,
                name="Kari Nordmann",
                email="kari@fjordanalytics.example",
                may_sign=True,
            )
        )
        return customer.customer_number


def add_contract(url: str, licences: int) -> str:
    number = add_customer(url)
    with session_scope(make_engine(url)) as session:
        customer = session.scalar(select(Customer).where(Customer.customer_number == number))
        terms = {
            "start_date": date(2025, 1, 1),
            "signed_date": date(2024, 12, 1),
            "term_months": 36,
            "currency": "NOK",
        }
        line = {
            "product": "Assist licence",
            "quantity": licences,
            "unit_price": 149,
            "billing_period": "monthly",
        }
        version = service.create_contract(session, "sally", customer, terms, [line])
        return version.contract.contract_number


def edit_lines(at: AppTest, *, added=(), edited=None) -> None:
    at.session_state["flow_lines_lines"] = {
        "edited_rows": edited or {},
        "added_rows": list(added),
        "deleted_rows": [],
    }


def go_to_step(at: AppTest, step: int) -> None:
    at.button_group(key="flow_step").set_value(step).run()
    assert at.query_params["step"] == str(step)


def sign(at: AppTest) -> AppTest:
    at.date_input(key="flow_sign_signed_date").set_value(TODAY)
    at.text_input(key="flow_sign_signer_name").input("Kari Nordmann")
    return click(at, "flow_sign")


def count(url: str, model: type) -> int:
    with session_scope(make_engine(url), readonly=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- the whole flow -----------------------------------------------------------------


def test_a_new_agreement_from_customer_to_signed_contract(url):
    customer = add_customer(url)
    at = open_page(as_user("sally"), FLOW, customer=customer)
    click(at, "flow_start")
    assert "Proposal OF-000001 started for Fjord Analytics AS." in texts(at.success)
    assert at.query_params == {"proposal": "OF-000001", "step": "1"}
    assert texts(at.header) == ["OF-000001 · Fjord Analytics AS"]

    click(at, "flow_setup")  # the defaults: existing answers, Norwegian, standard prices
    assert at.query_params["step"] == "2"
    at.number_input(key="flow_terms_term_months").set_value(36)
    click(at, "flow_terms")
    assert "Terms saved." in texts(at.success)

    # 30 licences and premium support at list price; the rules add volume and term discounts.
    edit_lines(
        at,
        added=[
            {"product_code": "ASSIST", "quantity": 30.0},
            {"product_code": "SUPPORT-PREMIUM", "quantity": 1.0, "discount_percent": 10.0},
        ],
    )
    click(at, "flow_lines")
    assert "2 line items saved." in texts(at.success)
    priced = table(at, "automatic_percent", "why")
    assert priced[
        ["product", "unit_price", "automatic_percent", "discount_percent"]
    ].values.tolist() == [
        ["Assist licence", 149.0, 15.0, 15.0],
        ["Premium support", 18000.0, 5.0, 10.0],
    ]
    assert "10 % volume discount for 25 or more" in priced["why"][0]
    assert not at.warning  # nothing above the approval threshold

    go_to_step(at, 4)
    click(at, "flow_clauses")  # the proposed clauses, as ticked
    assert at.query_params["step"] == "5"
    click(at, "flow_pdf")
    assert any(text.startswith("PDF version 1 made") for text in texts(at.success))
    assert at.get("image"), "the first page is shown"
    documents = table(at, "doc_version", "template")
    assert documents[["doc_version", "format", "template"]].values.tolist() == [
        [1, "PDF", "agreement v1"]
    ]

    go_to_step(at, 6)
    click(at, "flow_send")
    assert "OF-000001 is sent for signature to 2 parties." in texts(at.success)
    parties = table(at, "party", "link expires")
    assert sorted(zip(parties.party, parties.status, strict=True)) == [
        ("Kari Nordmann", "⏳ waiting"),  # the customer's CEO and the seller's signatory
        ("Kari Nordmann", "⏳ waiting"),
    ]
    click(at, "flow_resend")
    assert "A new link went to Kari Nordmann; the old one no longer works." in texts(at.success)
    click(at, "flow_revoke")
    assert "Kari Nordmann's link no longer works." in texts(at.success)
    # Signed on paper after all: registered by hand, as before signing links.
    sign(at)
    assert "OF-000001 signed: CT-000001 version 1." in texts(at.success)
    assert "Open contract CT-000001" in [link.label for link in at.get("page_link")]

    with session_scope(make_engine(url), readonly=True) as session:
        contract = session.scalar(select(Contract))
        lines = service.current_version(contract).lines
        assert [(line.product, line.quantity, line.discount_percent) for line in lines] == [
            ("Assist licence", 30, 15),
            ("Premium support", 1, 10),
        ]
        document = session.scalar(select(Document).where(Document.contract_id == contract.id))
        stored = paths().home / "documents" / document.stored_path
        content = stored.read_bytes()
        assert content.startswith(b"%PDF")
        assert hashlib.sha256(content).hexdigest() == document.sha256


# --- approval -----------------------------------------------------------------------


def priced_proposal(url: str, discount: float) -> str:
    """A proposal with one line at ``discount`` % and its PDF, ready to send but for that."""
    number = add_customer(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        customer = session.scalar(select(Customer).where(Customer.customer_number == number))
        proposal = agreements.start_proposal(session, "sally", customer)
        line = {
            "product_code": "ASSIST",
            "product": "Assist licence",
            "quantity": 10,
            "unit_price": 149,
            "discount_percent": discount,
            "billing_period": "monthly",
        }
        agreements.update_proposal(session, "sally", proposal, lines=[line])
        # Above the threshold the final PDF waits for the approval: a draft meanwhile.
        draft = agreements.approval_state(proposal) == "needed"
        generation.generate_for_proposal(session, "sally", paths(), proposal, "pdf", draft=draft)
        return proposal.number


def test_a_high_discount_waits_for_another_users_approval(url):
    number = priced_proposal(url, 35)
    sally = open_page(as_user("sally"), FLOW, proposal=number, step="6")
    assert sally.button(key="flow_send_submit").disabled
    assert any("35 % is above the 20 %" in text for text in texts(sally.warning))
    click(sally, "flow_approval")
    assert "Approval asked for; it waits in the Inbox." in texts(sally.success)

    leo = open_page(as_user("leo"), INBOX)
    assert texts(leo.title) == ["Inbox (1)"]
    assert f"**{number} · Fjord Analytics AS**" in texts(leo.markdown)
    click(leo, "reject_1")
    assert "Note: say why it is rejected" in texts(leo.error)
    click(leo, "approve_1")
    assert f"Discounts of {number} approved." in texts(leo.success)
    assert texts(leo.title) == ["Inbox (0)"]

    sally.run()
    assert "Discounts approved by leo." in texts(sally.success)
    assert sally.button(key="flow_send_submit").disabled  # the PDF is still the draft
    made = agreement_service.generate(database_at(url), "sally", paths(), number, "pdf")
    assert made.ok, made.errors
    sally.run()
    click(sally, "flow_send")
    assert f"{number} is sent for signature to 2 parties." in texts(sally.success)


def test_only_approvers_decide_on_discounts(url):
    number = priced_proposal(url, 35)
    db = database_at(url)
    assert agreement_service.request_approval(db, "sally", paths(), number).ok
    refused = agreement_service.decide_approval(db, "sally", paths(), 1, True, "")
    assert refused.errors == {"form": "your role (sales_ops) may not do this"}
    assert agreement_service.request_approval(db, "ada", paths(), number).errors == {
        "approval": "is already pending for this version"
    }
    assert agreement_service.decide_approval(db, "ada", paths(), 1, True, "").message == (
        f"Discounts of {number} approved."
    )


def test_approvers_hear_of_a_request_and_the_requester_of_the_decision(url):
    """Issue 14, item 8: the bell and a mail, both ways; the notice opens the Inbox, the
    answer opens the proposal."""
    number = priced_proposal(url, 35)
    db = database_at(url)
    for name in ("leo", "sally"):
        saved = users.set_contact_details(db, "ada", name, {"email": f"{name}@avtale.example"})
        assert saved.ok, saved.errors
    assert agreement_service.request_approval(db, "sally", paths(), number).ok
    asked = {n.username: n for n in notification_rows(url)}
    assert set(asked) == {"leo", "ada"}  # every approver but the one who asked
    assert asked["leo"].link == "inbox" and number in asked["leo"].title
    assert agreement_service.decide_approval(db, "leo", paths(), 1, False, "Too deep").ok
    answer = [n for n in notification_rows(url) if n.username == "sally"]
    assert [(n.title, n.link) for n in answer] == [
        (f"Discounts of {number} rejected by leo", f"new_agreement?proposal={number}&step=6")
    ]
    assert "Note: Too deep" in answer[0].body
    mails = sorted(
        message_from_bytes(path.read_bytes(), policy=policy.default)["To"]
        for path in (paths().home / "outbox").glob("*.eml")
    )
    assert mails == ["leo@avtale.example", "sally@avtale.example"]  # ada has no address
    sally = open_page(as_user("sally"), NOTIFICATIONS_PAGE)
    assert any(f"Discounts of {number} rejected by leo" in text for text in texts(sally.markdown))


def notification_rows(url: str) -> list[Notification]:
    with session_scope(make_engine(url)) as session:
        rows = list(session.scalars(select(Notification).order_by(Notification.id)))
        session.expunge_all()
        return rows


# --- renegotiation ------------------------------------------------------------------


def test_a_large_licence_reduction_is_routed_to_customer_success(url):
    contract = add_contract(url, licences=100)
    at = open_page(as_user("sally"), "operations/pages/contract.py", contract=contract)
    click(at, "renegotiate")
    assert f"Renegotiation OF-000001 of {contract} started." in texts(at.success)
    at.switch_page(FLOW)  # stay where the app went
    assert f"Renegotiation of {contract}" in [link.label for link in at.get("page_link")]
    assert "Additional licences / renegotiation" in texts(at.markdown)  # seed 004 defaults
    deadline = app_formatter("nb").day(TODAY + timedelta(days=7))  # e.g. 12. des. 2026
    assert deadline in texts(at.markdown)  # the signing deadline, as sally reads a day

    edit_lines(at, edited={0: {"quantity": 70.0}})
    click(at, "flow_lines")
    go_to_step(at, 5)
    click(at, "flow_pdf")
    go_to_step(at, 6)
    click(at, "flow_send")
    sign(at)
    assert f"OF-000001 signed: {contract} version 2." in texts(at.success)
    routed = table(at, "team", "title", "changes")
    assert routed["team"].tolist() == ["Customer success"]

    inbox = open_page(at, INBOX)
    assert texts(inbox.title) == ["Inbox (1)"]
    assert "Customer success (1)" in texts(inbox.subheader)
    assert "100 → 70" in texts(inbox.markdown)
    inbox.text_input(key="task_1_note").input("Called the customer")
    click(inbox, "task_1")
    assert texts(inbox.title) == ["Inbox (0)"]


# --- invoices ---------------------------------------------------------------------


def test_an_invoice_pdf_from_the_contract_page(url):
    contract = add_contract(url, licences=10)
    at = open_page(as_user("sally"), "operations/pages/contract.py", contract=contract)
    at.selectbox(key="invoice_period_start").set_value(date(2025, 3, 1))
    click(at, "invoice")
    filename = f"INV-{contract}-202503.pdf"
    assert any(text.startswith(f"Invoice {filename} made") for text in texts(at.success))
    labels = [button.label for button in at.get("download_button")]
    assert f"Download {filename}" in labels
    assert any(
        label.startswith(f"{filename} (invoice 2025-03 · template invoice v1") for label in labels
    )


# --- templates ----------------------------------------------------------------------

BAD_TEMPLATE = b"""<!doctype html>
<html>
<body>
<h1>{{ document.title }}</h1>
<p>{{ customer.name }}</p>
<p>{{ contract.number }}</p>
<p>{{ contract.pricee }}</p>
</body>
</html>
"""


def test_a_template_with_an_unknown_field_is_refused_with_its_line(url):
    before = count(url, Template)
    at = open_page(as_user("ada"), TEMPLATES)
    at.text_input(key="tpl_upload_key").input("agreement")
    at.text_input(key="tpl_upload_name").input("Agreement with a typo")
    at.file_uploader(key="tpl_upload_file").set_value(("agreement.html", BAD_TEMPLATE, "text/html"))
    click(at, "tpl_upload")
    assert texts(at.error) == ["Body: line 7: unknown field contract.pricee"]
    assert count(url, Template) == before

    # The same check on the HTML editor: the typo is named with its line, nothing saved.
    at.selectbox(key="tpl_editing").set_value("agreement").run()
    body = at.text_area(key="tpl_edit_body").value
    line = body[: body.index("document.number)")].count("\n") + 1
    typo = body.replace("document.number)", "document.numbr)", 1)
    at.text_area(key="tpl_edit_body").input(typo)
    click(at, "tpl_edit")
    assert texts(at.error) == [f"Body: line {line}: unknown field document.numbr"]
    assert count(url, Template) == before


# --- roles --------------------------------------------------------------------------

SEES = {
    "anna": set(),
    "leo": {INBOX},
    "sally": {FLOW, INBOX},
    "ada": {FLOW, INBOX, TEMPLATES},
}


@pytest.mark.parametrize("username", list(SEES))
def test_each_role_sees_only_the_flow_pages_it_may_use(url, username):
    at = as_user(username)
    for page in (FLOW, INBOX, TEMPLATES):
        if page in SEES[username]:
            at.switch_page(page)
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(page)
