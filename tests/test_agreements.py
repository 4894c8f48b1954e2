"""The guided agreement flow on SQLite and PostgreSQL: proposals, pricing by the discount
rules, approvals, documents from templates, signature, routing tasks and invoices."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import docgen
from avtale.dates import today as business_today
from avtale.demo_agreements import seed_agreements
from avtale.repository import agreements, auth, generation, library
from avtale.repository.db import session_scope
from avtale.repository.documents import document_path
from avtale.repository.models import (
    AuditLog,
    Contract,
    ContractVersion,
    Customer,
    Document,
    Proposal,
    Task,
    Template,
)
from avtale.repository.service import (
    ValidationError,
    add_contact,
    create_contract,
    create_customer,
    current_version,
)
from avtale.services import agreements as agreement_services
from avtale.services.database import database_at
from avtale.settings import Paths
from tests.conftest import Database

SALES = "sally"
LEADER = "leo"
# The business day, as the app counts it (Oslo): near midnight it is not the UTC date.
TODAY = business_today()


@pytest.fixture
def home(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "home").ensure()


@pytest.fixture
def ready(db: Database) -> Database:
    with session_scope(db.engine) as session:
        library.install_defaults(session)
    return db


# Valid by their check digits; the German register number has no check digit to test.
ORG_NUMBERS = {"NO": "912 345 688", "DK": "DK 31 24 56 72", "DE": "HRB 12345"}


def customer(session: Session, country: str = "NO") -> Customer:
    found = create_customer(
        session,
        SALES,
        {
            "name": "Fjordkraft Regnskap AS",
            "org_number": ORG_NUMBERS.get(country),
            "country": country,
        },
    )
    add_contact(session, SALES, found, {"name": "Åse Berg", "title": "CEO", "may_sign": True})
    return found


def assist_lines(quantity: int, discount: int | str = 0) -> list[dict[str, Any]]:
    return [
        {
            "product_code": "ASSIST",
            "product": "Assist licence",
            "quantity": quantity,
            "unit_price": "149",
            "discount_percent": discount,
            "billing_period": "monthly",
        },
        {
            "product_code": "SETUP",
            "product": "Setup fee",
            "quantity": 1,
            "unit_price": "5000",
            "billing_period": "one_off",
        },
    ]


def proposal_with(session: Session, lines: list[dict[str, Any]]) -> Proposal:
    proposal = agreements.start_proposal(session, SALES, customer(session), today=TODAY)
    return agreements.update_proposal(session, SALES, proposal, lines=lines)


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


# --- defaults --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "close"),
    [
        (date(2026, 11, 23), date(2026, 11, 25)),
        (date(2026, 11, 29), date(2026, 11, 30)),  # two days ahead would leave the month
        (date(2026, 11, 30), date(2026, 11, 30)),
        (date(2024, 2, 28), date(2024, 2, 29)),
    ],
)
def test_expected_close_is_two_days_ahead_within_the_month(today: date, close: date) -> None:
    assert agreements.expected_close_default(today) == close


def test_install_defaults_fills_an_empty_database_once(db: Database) -> None:
    with session_scope(db.engine) as session:
        first = library.install_defaults(session)
    with session_scope(db.engine) as session:
        again = library.install_defaults(session)
        formats = {(t.key, t.format) for t in library.latest_templates(session)}
        languages = {c.language for c in library.latest_clauses(session)}
    assert first["templates"] >= 3 and first["clauses"] >= 6 * 10 and first["products"] >= 8
    assert again == {"templates": 0, "clauses": 0, "products": 0}
    assert {"html", "docx"} <= {fmt for _, fmt in formats}
    assert languages == {"nb", "da", "sv", "de", "nl", "en"}


def test_a_new_proposal_takes_its_defaults_from_the_customer(ready: Database) -> None:
    with session_scope(ready.engine) as session:
        proposal = agreements.start_proposal(
            session, SALES, customer(session, "DK"), today=date(2026, 11, 23)
        )
        assert proposal.number == "OF-000001"
        assert proposal.language == "da"
        assert proposal.terms["currency"] == "DKK"
        assert proposal.terms["start_date"] == "2026-12-01"
        assert proposal.signing_deadline == date(2026, 11, 30)
        assert proposal.expected_close == date(2026, 11, 25)
        assert proposal.answers == {"situation": "new_customer", "proposal": "new_agreement"}


# --- pricing and approval ----------------------------------------------------------------


def test_volume_tiers_apply_automatically_and_a_higher_manual_discount_wins(
    ready: Database,
) -> None:
    with session_scope(ready.engine) as session:
        proposal = proposal_with(session, assist_lines(25))
        assert [line["discount_percent"] for line in agreements.priced_lines(proposal)] == [
            "10",
            "0",
        ]
        assert agreements.approval_state(proposal) == "not_needed"
        agreements.update_proposal(session, SALES, proposal, lines=assist_lines(25, 15))
        assert agreements.priced_lines(proposal)[0]["discount_percent"] == "15"


def test_bad_lines_are_refused_per_field_and_change_nothing(ready: Database) -> None:
    with session_scope(ready.engine) as session:
        proposal = proposal_with(session, assist_lines(5))
        revision = proposal.revision
        bad = assist_lines(5)
        bad[1]["quantity"] = "many"
        with pytest.raises(ValidationError) as refused:
            agreements.update_proposal(session, SALES, proposal, lines=bad)
        assert refused.value.errors == {"lines[1].quantity": "must be a number"}
        assert proposal.revision == revision
        assert proposal.lines[1]["quantity"] == "1"


def test_a_discount_above_the_threshold_needs_someone_else_to_approve_it(
    ready: Database, home: Paths
) -> None:
    with session_scope(ready.engine) as session:
        proposal = proposal_with(session, assist_lines(10, 30))
        assert agreements.approval_state(proposal) == "needed"
        # No final PDF before the approval; a draft, marked as one, may be made.
        with pytest.raises(ValidationError, match="approval before the final PDF"):
            generation.generate_for_proposal(session, SALES, home, proposal, "pdf")
        draft = generation.generate_for_proposal(session, SALES, home, proposal, "pdf", draft=True)
        assert draft.source["status"] == "draft"
        assert "UTKAST" in pdf_text(document_path(home, draft))
        problems = agreements.send_problems(proposal)
        assert "generate the final PDF of this version first" in problems  # a draft is none
        assert any("approval" in p for p in problems)
        with pytest.raises(ValidationError, match="approval"):
            agreements.send_proposal(session, SALES, proposal)

        approval = agreements.request_approval(session, SALES, proposal)
        assert "30" in approval.reasons[0]
        with pytest.raises(ValidationError, match="someone else"):
            agreements.decide_approval(session, SALES, approval, approve=True)
        agreements.decide_approval(session, LEADER, approval, approve=True)
        assert agreements.approval_state(proposal) == "approved"
        final = generation.generate_for_proposal(session, SALES, home, proposal, "pdf")
        assert final.source["status"] == "final"
        agreements.send_proposal(session, SALES, proposal)
        assert proposal.status == "sent"

        # A change after approval is a new revision: it needs approving again.
        agreements.update_proposal(session, SALES, proposal, lines=assist_lines(10, 35))
        assert proposal.status == "draft"
        assert agreements.approval_state(proposal) == "needed"


# --- documents ----------------------------------------------------------------------------


def test_the_final_pdf_and_the_word_draft_are_stored_with_what_made_them(
    ready: Database, home: Paths
) -> None:
    with session_scope(ready.engine) as session:
        proposal = proposal_with(session, assist_lines(12))
        pdf = generation.generate_for_proposal(session, SALES, home, proposal, "pdf")
        word = generation.generate_for_proposal(session, SALES, home, proposal, "docx")
        template_version = library.latest_template(session, "agreement")
        assert template_version is not None

    stored = document_path(home, pdf).read_bytes()
    assert stored.startswith(b"%PDF-")
    assert pdf.sha256 in pdf.stored_path and pdf.filename == "OF-000001-v1.pdf"
    assert (pdf.doc_version, word.doc_version) == (1, 2)
    assert pdf.source["template"] == {
        "key": "agreement",
        "version": template_version.version_no,
        "id": template_version.id,
    }
    assert pdf.source["proposal_revision"] == word.source["proposal_revision"]
    assert pdf.source["clauses"] and all(c["version"] == 1 for c in pdf.source["clauses"])
    assert word.content_type.endswith("wordprocessingml.document")
    text = pdf_text(document_path(home, pdf))
    assert "Fjordkraft Regnskap AS" in text
    assert "OF-000001" in text
    # The lines come from the catalogue: named as the Norwegian document's language has it.
    assert "Assist-lisens" in text and "Assist licence" not in text
    assert "Konsumprisindeks (KPI)" in text  # the rule "cpi" in the document's language


def test_the_clauses_follow_the_answers_and_the_language(ready: Database) -> None:
    with session_scope(ready.engine) as session:
        proposal = proposal_with(session, assist_lines(12))
        keys = [c.key for c in generation.proposed_clauses(session, proposal)]
        assert {c.language for c in generation.proposed_clauses(session, proposal)} == {"nb"}
        assert "governing_law_no" in keys and "governing_law_general" not in keys
        agreements.update_proposal(
            session,
            SALES,
            proposal,
            answers={"situation": "competitor_switch", "proposal": "new_agreement"},
        )
        switched = [c.key for c in generation.proposed_clauses(session, proposal)]
        assert set(switched) - set(keys)  # the competitor migration clause joins
        orders = [c.order for c in generation.proposed_clauses(session, proposal)]
        assert orders == sorted(orders)

        agreements.update_proposal(session, SALES, proposal, clauses=["scope"])
        assert [c.key for c in generation.chosen_clauses(session, proposal)] == ["scope"]


def test_a_missing_required_field_stops_generation_and_stores_nothing(
    ready: Database, home: Paths
) -> None:
    with session_scope(ready.engine) as session:
        proposal = proposal_with(session, assist_lines(3))
        # A template that prints the SLA bare, and a proposal without one.
        body = library.latest_template(session, "agreement")
        assert body is not None
        library.save_template(
            session,
            "ada",
            "strict",
            {"name": "Strict", "purpose": "agreement", "format": "html"},
            b"<p>{{ customer.name }}</p><p>{{ contract.sla }}</p>",
        )
        agreements.update_proposal(session, SALES, proposal, setup={"template_key": "strict"})
        with pytest.raises(ValidationError, match="contract.sla"):
            generation.generate_for_proposal(session, SALES, home, proposal, "pdf")
        assert session.scalar(select(func.count(Document.id))) == 0
    assert not list((home.home / "documents").rglob("*.pdf"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<p>{{ customer.name }}</p>\n<p>{% if %}</p>", "line 2"),
        (b"<p>{{ customer.name }}</p>\n\n<p>{{ contract.pricee }}</p>", "line 3"),
        (b"<p>{{ customr.name }}</p>", "customr"),
    ],
)
def test_a_bad_template_is_refused_with_the_line_and_the_reason(
    ready: Database, body: bytes, message: str
) -> None:
    with session_scope(ready.engine) as session:
        before = session.scalar(select(func.count(Template.id)))
        with pytest.raises(ValidationError) as refused:
            library.save_template(
                session,
                "ada",
                "agreement",
                {"name": "Agreement", "purpose": "agreement", "format": "html"},
                body,
            )
        assert message in refused.value.errors["body"]
        assert session.scalar(select(func.count(Template.id))) == before


def test_a_new_template_version_is_used_for_the_next_document(ready: Database, home: Paths) -> None:
    with session_scope(ready.engine) as session:
        proposal = proposal_with(session, assist_lines(2))
        saved = library.save_template(
            session,
            "ada",
            "agreement",
            {"name": "Agreement", "purpose": "agreement", "format": "html", "note": "shorter"},
            "<h1>{{ labels.title_agreement }}</h1><p>{{ customer.name }} – Ny versjon</p>".encode(),
        )
        assert saved.version_no == 2
        document = generation.generate_for_proposal(session, SALES, home, proposal, "pdf")
        assert document.source["template"]["version"] == 2
    assert "Ny versjon" in pdf_text(document_path(home, document))


# --- signing and routing ------------------------------------------------------------------


def sign(session: Session, proposal: Proposal, home: Paths) -> ContractVersion:
    generation.generate_for_proposal(session, SALES, home, proposal, "pdf")
    agreements.send_proposal(session, SALES, proposal)
    return agreements.register_signature(
        session, SALES, proposal, signed_date=TODAY, signer_name="Åse Berg"
    )


def test_signing_a_new_agreement_makes_the_contract_with_the_priced_lines(
    ready: Database, home: Paths
) -> None:
    with session_scope(ready.engine) as session:
        proposal = proposal_with(session, assist_lines(25))
        version = sign(session, proposal, home)
        assert version.contract.status == "active"
        assert version.signed_date == TODAY
        assert [(line.product, line.discount_percent) for line in version.lines] == [
            ("Assist licence", Decimal(10)),
            ("Setup fee", Decimal(0)),
        ]
        assert proposal.status == "signed" and proposal.contract is version.contract
        assert all(doc.contract_id == version.contract_id for doc in proposal.documents)
        with pytest.raises(ValidationError, match="signed"):
            agreements.update_proposal(session, SALES, proposal, lines=assist_lines(1))


def signed_contract(session: Session, licences: int, signed: date, discount: int = 0) -> Contract:
    version = create_contract(
        session,
        SALES,
        customer(session),
        {
            "start_date": signed,
            "signed_date": signed,
            "term_months": 36,
            "currency": "NOK",
            "auto_renew": True,
        },
        [
            {
                "product": "Assist licence",
                "quantity": licences,
                "unit_price": 149,
                "discount_percent": discount,
                "billing_period": "monthly",
            }
        ],
    )
    return version.contract


def renegotiate(
    session: Session, contract: Contract, home: Paths, licences: int
) -> tuple[Proposal, ContractVersion]:
    proposal = agreements.start_renegotiation(session, SALES, contract, today=TODAY)
    lines = [dict(line) for line in proposal.lines]
    lines[0]["quantity"] = licences
    agreements.update_proposal(session, SALES, proposal, lines=lines)
    if agreements.approval_state(proposal) == "needed":
        approval = agreements.request_approval(session, SALES, proposal)
        agreements.decide_approval(session, LEADER, approval, approve=True)
    return proposal, sign(session, proposal, home)


def test_a_renegotiation_copies_the_terms_and_sets_the_seed_004_defaults(
    ready: Database,
) -> None:
    with session_scope(ready.engine) as session:
        contract = signed_contract(session, 40, TODAY - timedelta(days=400))
        proposal = agreements.start_renegotiation(session, SALES, contract, today=TODAY)
        assert proposal.kind == "renegotiation"
        assert proposal.base_version is current_version(contract)
        assert proposal.terms["term_months"] == 36
        assert proposal.lines[0]["quantity"] == "40" and proposal.lines[0]["line_no"] == 1
        assert proposal.signing_deadline == TODAY + timedelta(days=7)
        assert proposal.expected_close == agreements.expected_close_default(TODAY)
        assert proposal.deal_type == agreements.RENEGOTIATION_DEAL_TYPE
        with pytest.raises(ValidationError, match="already open"):
            agreements.start_renegotiation(session, SALES, contract, today=TODAY)


def test_a_renegotiation_reprices_only_the_lines_it_changes(ready: Database) -> None:
    with session_scope(ready.engine) as session:
        # 40 licences on a 36-month term: today's rules would give 10 % + 5 % bonus.
        contract = signed_contract(session, 40, TODAY - timedelta(days=400))
        proposal = agreements.start_renegotiation(session, SALES, contract, today=TODAY)
        assert agreements.priced_lines(proposal)[0]["discount_percent"] == "0"
        lines = [dict(line) for line in proposal.lines]
        lines[0]["quantity"] = 50  # 50+ licences: 15 % tier + 5 % term bonus = 20 %
        agreements.update_proposal(session, SALES, proposal, lines=lines)
        # Never silently: the agreed 0 % stays, the rules' 20 % is proposed ...
        assert agreements.priced_lines(proposal)[0]["discount_percent"] == "0"
        assert agreements.proposed_discounts(proposal) == {0: Decimal(20)}
        # ... until the user accepts it.
        agreements.accept_proposed_discounts(session, SALES, proposal)
        assert agreements.priced_lines(proposal)[0]["discount_percent"] == "20"
        assert agreements.proposed_discounts(proposal) == {}


def test_a_volume_discount_that_no_longer_applies_is_proposed_not_dropped(
    ready: Database,
) -> None:
    with session_scope(ready.engine) as session:
        contract = signed_contract(session, 60, TODAY - timedelta(days=400), discount=15)
        proposal = agreements.start_renegotiation(session, SALES, contract, today=TODAY)
        lines = [dict(line) for line in proposal.lines]
        lines[0]["quantity"] = 20  # under the 25 tier: the rules give 5 % + 5 % bonus
        agreements.update_proposal(session, SALES, proposal, lines=lines)
        assert agreements.priced_lines(proposal)[0]["discount_percent"] == "15"
        assert agreements.proposed_discounts(proposal) == {0: Decimal(10)}
        reasons = proposal.pricing["lines"][0]["reasons"]
        assert reasons[0] == "agreed 15 % kept"
        assert reasons[1].startswith("the rules now give 10 % (5 % volume discount for 10 or")


def test_a_renegotiation_adds_free_onboarding_and_may_take_licences_to_zero(
    ready: Database,
) -> None:
    with session_scope(ready.engine) as session:
        contract = signed_contract(session, 40, TODAY - timedelta(days=400))
        proposal = agreements.start_renegotiation(session, SALES, contract, today=TODAY)
        assert agreements.deal_name(proposal) == f"{contract.customer.name} - REFORHANDLING"
        onboarding = proposal.lines[-1]
        assert (onboarding["product_code"], onboarding["discount_percent"]) == (
            "DIGITAL-ONBOARDING",
            "100",
        )
        assert proposal.lines[0]["product_code"] == "ASSIST"  # found by the line's name
        assert proposal.pricing["needs_approval"] is False  # seed 004: exempt
        lines = [dict(line) for line in proposal.lines]
        lines[0]["quantity"] = 0
        agreements.update_proposal(session, SALES, proposal, lines=lines)
        assert agreements.priced_lines(proposal)[0]["quantity"] == "0"
        lines[-1]["quantity"] = 0  # a new line still needs a quantity
        with pytest.raises(ValidationError) as refused:
            agreements.update_proposal(session, SALES, proposal, lines=lines)
        assert refused.value.errors == {"lines[1].quantity": "must be more than 0"}


@pytest.mark.parametrize(
    ("before", "after", "months_ago", "teams"),
    [
        (100, 95, 40, {"invoicing"}),  # under 10 licences fewer
        (100, 85, 40, {"invoicing"}),  # 15 fewer, 15 %
        (100, 70, 40, {"customer_success"}),  # 30 fewer, 30 %
        (40, 50, 12, {"sales_registration", "invoicing"}),  # more, within 36 months
        (40, 50, 40, {"invoicing"}),  # more, after 36 months
    ],
)
def test_a_signed_renegotiation_opens_the_tasks_its_routing_rules_say(
    ready: Database, home: Paths, before: int, after: int, months_ago: int, teams: set[str]
) -> None:
    with session_scope(ready.engine) as session:
        contract = signed_contract(session, before, TODAY - timedelta(days=months_ago * 31))
        proposal, version = renegotiate(session, contract, home, after)
        assert version.version_no == 2 and version.supersedes_id == proposal.base_version.id
        tasks = session.scalars(select(Task).where(Task.version_id == version.id)).all()
        assert {task.team for task in tasks} == teams
        licence_task = next(t for t in tasks if "licences" in t.changes)
        assert licence_task.changes["licences"] == [str(before), str(after)]
        assert contract.contract_number in licence_task.title


def test_tasks_are_done_once_and_every_step_is_audited(ready: Database, home: Paths) -> None:
    with session_scope(ready.engine) as session:
        contract = signed_contract(session, 100, TODAY - timedelta(days=900))
        renegotiate(session, contract, home, 70)
        (task,) = agreements.open_tasks(session, team="customer_success")
        agreements.complete_task(session, "cora", task, note="Called the customer")
        with pytest.raises(ValidationError, match="was done by cora"):
            agreements.complete_task(session, "cora", task)
        assert agreements.open_tasks(session, team="customer_success") == []
        actions = set(session.scalars(select(AuditLog.action)))
    assert {
        "proposal.start",
        "proposal.update",
        "document.generate",
        "proposal.send",
        "contract.revise",
        "proposal.sign",
        "task.open",
        "task.done",
    } <= actions


# --- invoices -------------------------------------------------------------------------------


def test_an_invoice_bills_the_month_of_each_line(ready: Database, home: Paths) -> None:
    with session_scope(ready.engine) as session:
        version = create_contract(
            session,
            SALES,
            customer(session, "DE"),
            {"start_date": date(2026, 1, 15), "currency": "EUR", "payment_terms_days": 14},
            [
                {
                    "product": "Assist",
                    "quantity": 10,
                    "unit_price": 13,
                    "billing_period": "monthly",
                },
                {
                    "product": "Support",
                    "quantity": 1,
                    "unit_price": 600,
                    "billing_period": "yearly",
                },
                {"product": "Setup", "quantity": 1, "unit_price": 430, "billing_period": "one_off"},
            ],
        )
        january = generation.invoice_lines(version, date(2026, 1, 1))
        march = generation.invoice_lines(version, date(2026, 3, 1))
        assert [line["product"] for line in january] == ["Assist", "Support", "Setup"]
        assert [line["product"] for line in march] == ["Assist"]
        document = generation.generate_invoice(
            session, SALES, home, version.contract, period_start=date(2026, 1, 1), language="en"
        )
    text = pdf_text(document_path(home, document))
    # Net 130 + 600 + 430 = 1,160.00; a German business pays no Norwegian VAT (test_vat.py).
    assert "1,160.00" in text and "Reverse charge" in text
    assert f"INV-{version.contract.contract_number}-202601" in text


def test_the_demo_agreements_are_added_to_an_empty_database_only(ready: Database) -> None:
    with session_scope(ready.engine) as session:
        assert seed_agreements(session, owner="salesops") == 4
        assert seed_agreements(session, owner="salesops") == 0
        contracts = session.scalars(select(Contract)).all()
        assert [c.customer.country for c in contracts] == ["NO", "SE", "DK", "DE"]
        assert all(current_version(c).lines[0].product == "Assist licence" for c in contracts)
        (proposal,) = session.scalars(select(Proposal)).all()
        assert proposal.status == "draft" and proposal.customer is contracts[0].customer


def test_a_signed_increase_mails_the_sales_registration_notice(
    ready: Database, home: Paths
) -> None:
    """Seed 004: "må det sendes e-post ... slik at selgerne får registrert salget". The
    notice also goes by mail, to the address routing.yaml gives, after the commit; and the
    invoicing task says from when the new terms apply."""
    with session_scope(ready.engine) as session:
        auth.create_user(session, "admin", SALES, "fjord-analytics-2025", "sales_ops")
        contract = signed_contract(session, 40, TODAY - timedelta(days=400))
        proposal = agreements.start_renegotiation(session, SALES, contract, today=TODAY)
        lines = [dict(line) for line in proposal.lines]
        lines[0]["quantity"] = 45
        agreements.update_proposal(session, SALES, proposal, lines=lines)
        generation.generate_for_proposal(session, SALES, home, proposal, "pdf")
        agreements.send_proposal(session, SALES, proposal)
        number, named = proposal.number, f"{contract.contract_number} {contract.customer.name}"
    signed = agreement_services.sign(database_at(ready.url), SALES, home, number, TODAY, "Åse Berg")
    assert signed.ok, signed.errors
    (mail,) = [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in (home.home / "outbox").glob("*.eml")
    ]
    assert mail["To"] == "salgsregistrering@avtale.example"
    assert mail["Subject"].startswith("Register the sale: 5 more licences")
    assert "Licences: 40 → 45" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    with session_scope(ready.engine) as session:
        titles = session.scalars(select(Task.title).where(Task.team == "invoicing")).all()
    assert titles == [
        f"Licence increase of 5 (40 to 45) from {TODAY.isoformat()}: update invoicing: {named}"
    ]


def test_the_renegotiation_document_says_what_changes_and_from_when(
    ready: Database, home: Paths
) -> None:
    """Issue 14, item 3: the effective date printed, the clause pointing at it rather than
    the start date, and a changes table in the document's language and number format,
    discounts included."""
    with session_scope(ready.engine) as session:
        contract = signed_contract(session, 1200, TODAY - timedelta(days=400), discount=15)
        proposal = agreements.start_renegotiation(session, SALES, contract, today=TODAY)
        lines = [dict(line) for line in proposal.lines]
        lines[0] |= {"quantity": 1250, "unit_price": "1250.50", "discount_percent": "12.5"}
        agreements.update_proposal(session, SALES, proposal, lines=lines)
        context = generation.proposal_context(
            session, home, proposal, purpose="renegotiation", version=1
        )
        pdf = generation.generate_for_proposal(session, SALES, home, proposal, "pdf")
    assert context["contract"]["effective_date"] == TODAY
    assert context["changes"] == [
        {"label": "Assist-lisens: Antall", "old": "1\xa0200", "new": "1\xa0250"},
        {"label": "Assist-lisens: Enhetspris", "old": "149,00\xa0kr", "new": "1\xa0250,50\xa0kr"},
        {"label": "Assist-lisens: Rabatt", "old": "15\xa0%", "new": "12,5\xa0%"},
        {"label": "Digital oppstart: ny linje", "old": "", "new": "1"},
    ]
    text = " ".join(pdf_text(document_path(home, pdf)).split())
    effective = docgen.Formatter("nb").date(TODAY)
    assert f"Nye vilkår gjelder fra {effective}" in text
    assert "med virkning fra datoen som er angitt under «Nye vilkår gjelder fra»" in text
    assert "oppført i den, fra startdatoen" not in text
    assert "Assist-lisens: Rabatt 15 % 12,5 %" in text


def test_clauses_of_one_group_exclude_each_other(ready: Database) -> None:
    """One governing law, and a fixed term or automatic renewal, never both: "Add all"
    from the library must not give an agreement six governing laws."""
    with session_scope(ready.engine) as session:
        proposal = proposal_with(session, assist_lines(12))
        laws = ["governing_law_no", "governing_law_dk", "governing_law_se"]
        with pytest.raises(ValidationError) as refused:
            agreements.update_proposal(session, SALES, proposal, clauses=["scope", *laws])
        message = refused.value.errors["clauses"]
        assert message.endswith("exclude each other: keep one")
        assert message.count("law") == 3
        with pytest.raises(ValidationError, match="exclude each other"):
            agreements.update_proposal(
                session, SALES, proposal, clauses=["term_fixed", "term_auto_renewal"]
            )
        agreements.update_proposal(session, SALES, proposal, clauses=["scope", laws[0]])
        assert proposal.clauses == ["scope", "governing_law_no"]
