"""Forms refuse absurd data with the reason under the field (issue 10, item 7): prices,
quantities and months within config/limits.yaml, signed dates and signing deadlines that
can be true, currencies with a planning rate; and warn before a customer or a
counterparty file is registered twice. Through the repository on SQLite and the app."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from avtale.dates import today
from avtale.repository import agreements, generation, library
from avtale.repository.db import make_engine, migrate, session_scope
from avtale.repository.documents import register_counterparty_paper
from avtale.repository.models import Contract, Customer, Document, Proposal
from avtale.repository.service import (
    ValidationError,
    create_contract,
    create_customer,
    revise_contract,
)
from avtale.rules.loading import RuleError
from avtale.services import contracts
from avtale.services.database import database_at
from avtale.settings import Paths
from tests.app_ops_fixtures import as_user, make_template, open_page, use_database
from tests.conftest import Database
from tests.sample_files import minimal_pdf

# Streamlit's data_editor adds a row with blanks into typed columns (see
# test_app_operations); the rows arrive intact today.
pytestmark = pytest.mark.filterwarnings("ignore:Setting an item of incompatible dtype")

START = date(2025, 1, 1)
TERMS = {"start_date": START, "term_months": 12, "currency": "NOK"}
LINE = {"product": "Assist", "quantity": 10, "unit_price": "149", "billing_period": "monthly"}
NO_RATE = "has no planning rate: use one of DKK, EUR, NOK, SEK, USD, or load an FX rates file"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """SQLite only: the limits are the same on every backend (test_repository runs both)."""
    url = f"sqlite:///{tmp_path / 'avtale.db'}"
    migrate(url)
    engine = make_engine(url)
    yield Database("sqlite", url, engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """A data folder of the test's own: the built-in limits and planning rates."""
    folder = Paths(tmp_path / "home").ensure()
    monkeypatch.setenv("AVTALE_HOME", str(folder.home))
    return folder


def refusal(db: Database, terms: dict[str, Any], line: dict[str, Any]) -> dict[str, str]:
    """What create_contract says about the terms and the one line; {} when it saves them."""
    try:
        with session_scope(db.engine) as session:
            customer = create_customer(session, "sally", {"name": "Fjord AS"})
            create_contract(session, "sally", customer, TERMS | terms, [LINE | line])
    except ValidationError as refused:
        return refused.errors
    return {}


SOON = today() + timedelta(days=30)
# Each bound as (terms, line) just within it, just beyond it, and what is said beyond it.
CASES = [
    ({"currency": "DKK"}, {"unit_price": "6451612.90"}, {"currency": "DKK"}, {"unit_price": "1000000000000"}, {
        "lines[0].unit_price": "must be at most 6,451,612.90 DKK per unit"  # 10 million NOK at 1.55
    }),
    ({}, {"unit_price": "10000000"}, {}, {"unit_price": "10000000.01"}, {
        "lines[0].unit_price": "must be at most 10,000,000.00 NOK per unit"
    }),
    ({"currency": "EUR"}, {"unit_price": "862068.96"}, {"currency": "EUR"}, {"unit_price": "862069"}, {
        "lines[0].unit_price": "must be at most 862,068.96 EUR per unit"
    }),
    ({}, {"unit_price": "0"}, {}, {"unit_price": "-500"}, {"lines[0].unit_price": "cannot be negative"}),
    ({}, {"quantity": 100_000}, {}, {"quantity": 100_001}, {"lines[0].quantity": "must be at most 100,000"}),
    ({}, {"discount_percent": "0"}, {}, {"discount_percent": "-10"}, {
        "lines[0].discount_percent": "cannot be negative"
    }),
    ({"term_months": 120}, {}, {"term_months": 121}, {}, {"term_months": "must be at most 120 months"}),
    ({"lock_in_months": 120}, {}, {"lock_in_months": 121}, {}, {
        "lock_in_months": "must be at most 120 months"
    }),
    ({"notice_months": 36}, {}, {"notice_months": 37}, {}, {"notice_months": "must be at most 36 months"}),
    ({"auto_renew": True, "renewal_term_months": 120}, {}, {"auto_renew": True, "renewal_term_months": 240}, {}, {
        "renewal_term_months": "must be at most 120 months"
    }),
    ({"signed_date": START}, {}, {"signed_date": START + timedelta(days=1)}, {}, {
        "signed_date": "must be on or before the start date (2025-01-01)"
    }),
    ({"signed_date": today(), "start_date": SOON}, {}, {"signed_date": today() + timedelta(days=1), "start_date": SOON}, {}, {
        "signed_date": "cannot be in the future"
    }),
    ({"currency": "USD"}, {}, {"currency": "GBP"}, {}, {"currency": f"GBP {NO_RATE} with it first"}),
]  # fmt: skip


@pytest.mark.parametrize(("terms", "line", "terms_beyond", "line_beyond", "errors"), CASES)
def test_a_new_contract_is_held_to_the_limits(
    db: Database,
    terms: dict[str, Any],
    line: dict[str, Any],
    terms_beyond: dict[str, Any],
    line_beyond: dict[str, Any],
    errors: dict[str, str],
) -> None:
    assert refusal(db, terms, line) == {}
    assert refusal(db, terms_beyond, line_beyond) == errors


def test_the_limits_of_the_data_folder_apply(db: Database, home: Paths) -> None:
    tighter_limits(home, "max_quantity: 100000", "max_quantity: 50")
    assert refusal(db, {}, {"quantity": 51}) == {"lines[0].quantity": "must be at most 50"}
    tighter_limits(home, "max_quantity: 100000", "max_quantity: 50\nmax_discount: 3")
    with pytest.raises(RuleError, match="limits.yaml: max_discount: unknown key"):
        refusal(db, {}, {})


def test_a_currency_of_a_loaded_fx_file_is_accepted_at_its_rate(db: Database, home: Paths) -> None:
    # The published copy converted GBP lines at 13.5: GBP has a planning rate now.
    with duckdb.connect(str(home.serving)) as con:
        con.execute("create table contract_lines (currency varchar, fx_rate double)")
        con.execute("insert into contract_lines values ('GBP', 13.5), ('XXX', null)")
    assert refusal(db, {"currency": "GBP"}, {}) == {}
    assert refusal(db, {"currency": "GBP"}, {"unit_price": "740741"}) == {
        "lines[0].unit_price": "must be at most 740,740.74 GBP per unit"
    }
    assert "XXX has no planning rate" in refusal(db, {"currency": "XXX"}, {})["currency"]


def test_a_revision_is_held_to_the_limits_of_what_it_changes(db: Database) -> None:
    with session_scope(db.engine) as session:
        customer = create_customer(session, "sally", {"name": "Fjord AS"})
        contract = create_contract(session, "sally", customer, TERMS, [LINE]).contract
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        revise_contract(
            session,
            "sally",
            session.get_one(Contract, contract.id),
            {"notice_months": 48},
            [LINE | {"unit_price": "99999999999"}],
            START,
            "Typo",
        )
    assert refused.value.errors == {
        "notice_months": "must be at most 36 months",
        "lines[0].unit_price": "must be at most 10,000,000.00 NOK per unit",
    }


@pytest.fixture
def ready(db: Database) -> Database:
    with session_scope(db.engine) as session:
        library.install_defaults(session)
    return db


def tighter_limits(home: Paths, old: str, new: str) -> None:
    limits = Path(__file__).parents[1] / "avtale" / "config" / "limits.yaml"
    text = limits.read_text(encoding="utf-8")
    assert old in text
    (home.home / "limits.yaml").write_text(text.replace(old, new), encoding="utf-8")


def test_terms_made_before_a_bound_was_tightened_do_not_block_other_changes(
    ready: Database, home: Paths
) -> None:
    with session_scope(ready.engine) as session:
        customer = create_customer(session, "sally", {"name": "Fjord AS", "country": "NO"})
        contract = create_contract(
            session, "sally", customer, TERMS | {"notice_months": 6}, [LINE]
        ).contract
    tighter_limits(home, "max_notice_months: 36", "max_notice_months: 3")
    with session_scope(ready.engine) as session:
        contract = session.get_one(Contract, contract.id)
        revise_contract(session, "sally", contract, {"sla": "Gold"}, None, START, "SLA")
        proposal = agreements.start_renegotiation(session, "sally", contract)
        cheaper = dict(proposal.lines[0]) | {"unit_price": "139"}
        agreements.update_proposal(session, "sally", proposal, lines=[cheaper])
        with pytest.raises(ValidationError) as refused:
            agreements.update_proposal(
                session, "sally", proposal, terms=proposal.terms | {"notice_months": 4}
            )
    assert refused.value.errors == {"notice_months": "must be at most 3 months"}


# --- proposals ---------------------------------------------------------------------------


def test_a_renegotiation_line_at_an_absurd_price_is_refused_not_waved_through(
    ready: Database,
) -> None:
    # The case: a 99,999,999,999 NOK line was "approval not needed".
    with session_scope(ready.engine) as session:
        customer = create_customer(session, "sally", {"name": "Fjord AS", "country": "NO"})
        contract = create_contract(session, "sally", customer, TERMS, [LINE]).contract
        proposal = agreements.start_renegotiation(session, "sally", contract)
        number, revision = proposal.number, proposal.revision
    with pytest.raises(ValidationError) as refused, session_scope(ready.engine) as session:
        proposal = session.scalars(select(Proposal)).one()
        line = dict(proposal.lines[0]) | {"unit_price": "99999999999"}
        agreements.update_proposal(session, "sally", proposal, lines=[line])
    assert refused.value.errors == {
        "lines[0].unit_price": "must be at most 10,000,000.00 NOK per unit"
    }
    with session_scope(ready.engine) as session:
        proposal = session.scalars(select(Proposal).where(Proposal.number == number)).one()
        assert proposal.revision == revision  # nothing saved


def test_a_signing_deadline_after_the_start_is_refused(ready: Database) -> None:
    with session_scope(ready.engine) as session:
        customer = create_customer(session, "sally", {"name": "Fjord AS", "country": "NO"})
        # Four days before the month ends: a week ahead would pass the start on the 1st.
        proposal = agreements.start_proposal(session, "sally", customer, today=date(2026, 11, 27))
        assert (proposal.terms["start_date"], proposal.signing_deadline) == (
            "2026-12-01",
            date(2026, 12, 1),
        )
        with pytest.raises(ValidationError) as refused:
            agreements.update_proposal(
                session, "sally", proposal, setup={"signing_deadline": "2026-12-02"}
            )
    assert refused.value.errors == {
        "signing_deadline": "must be on or before the start date (2026-12-01)"
    }


def test_a_signature_dated_after_the_start_of_a_new_agreement_is_refused(
    ready: Database, home: Paths
) -> None:
    with session_scope(ready.engine) as session:
        customer = create_customer(session, "sally", {"name": "Fjord AS", "country": "NO"})
        proposal = agreements.start_proposal(session, "sally", customer, today=date(2025, 11, 3))
        agreements.update_proposal(session, "sally", proposal, lines=[LINE])
        generation.generate_for_proposal(session, "sally", home, proposal, "pdf")
        agreements.send_proposal(session, "sally", proposal, today=date(2025, 11, 3))
        with pytest.raises(ValidationError) as refused:
            agreements.register_signature(
                session, "sally", proposal, signed_date=date(2025, 12, 2), signer_name="Åse"
            )
    assert refused.value.errors == {
        "signed_date": "must be on or before the start date (2025-12-01)"
    }


def test_a_counterparty_paper_is_held_to_the_limits(db: Database, home: Paths) -> None:
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        customer = create_customer(session, "sally", {"name": "Fjord AS"})
        register_counterparty_paper(
            session,
            "sally",
            home,
            customer,
            TERMS | {"lock_in_months": 600},
            [LINE | {"quantity": 10**9}],
            filename="contract.pdf",
            data=minimal_pdf(),
        )
    assert refused.value.errors == {
        "lock_in_months": "must be at most 120 months",
        "lines[0].quantity": "must be at most 100,000",
    }


# --- the app ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def url(home: Paths, monkeypatch: pytest.MonkeyPatch, template: Path) -> str:
    return use_database(home.home, monkeypatch, template)


def count(url: str, model: type) -> int:
    with session_scope(make_engine(url), readonly=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def add_customer(url: str, **values: str) -> str:
    with session_scope(make_engine(url)) as session:
        data = {"name": "Fjord Analytics AS", "org_number": "923 609 016", "country": "NO"}
        return create_customer(session, "sally", data | values).customer_number


def texts(elements: Any) -> list[str]:
    return [element.value for element in elements]


def submit(at: AppTest, form: str) -> AppTest:
    at.button(key=f"{form}_submit").click().run()
    assert not at.exception, at.exception
    return at


def lines(at: AppTest, key: str, *added: dict[str, Any]) -> None:
    at.session_state[key] = {"edited_rows": {}, "added_rows": list(added), "deleted_rows": []}


def test_the_new_contract_form_shows_each_refusal_under_its_field(url: str) -> None:
    number = add_customer(url)
    at = open_page(as_user("sally"), "agreements/pages/new_contract.py", customer=number)
    at.date_input(key="new_contract_start_date").set_value(START)
    at.number_input(key="new_contract_notice_months").set_value(48)
    line = {"product": "Assist", "quantity": 1.0, "billing_period": "monthly"}
    lines(at, "new_contract_lines", line | {"unit_price": 1e12}, line | {"unit_price": -500.0})
    submit(at, "new_contract")
    assert sorted(texts(at.error)) == [
        "Notice (months): must be at most 36 months",
        "Row 1, Unit price: must be at most 10,000,000.00 NOK per unit",
        "Row 2, Unit price: cannot be negative",
    ]
    assert count(url, Contract) == 0


def test_the_currencies_offered_are_those_with_a_planning_rate(url: str) -> None:
    number = add_customer(url)
    at = open_page(as_user("sally"), "agreements/pages/new_contract.py", customer=number)
    assert at.selectbox(key="new_contract_currency").options == ["NOK", "DKK", "SEK", "EUR", "USD"]
    # Another may be typed into the box (AppTest cannot type into one): the form refuses it.
    outcome = contracts.create_contract(
        database_at(url), "sally", number, TERMS | {"currency": "GBP"}, None, [LINE]
    )
    assert outcome.errors == {"currency": f"GBP {NO_RATE} with it first"}
    assert count(url, Contract) == 0


def test_a_bad_org_number_is_refused_under_its_field(url: str) -> None:
    at = open_page(as_user("sally"), "operations/pages/new_customer.py")
    at.text_input(key="new_customer_name").input("Fjord AS")
    at.text_input(key="new_customer_org_number").input("923 609 017")
    at.text_input(key="new_customer_country").input("NO")
    submit(at, "new_customer")
    assert texts(at.error) == [
        "Org number: has a wrong check digit for a Norwegian organisation number"
    ]
    assert count(url, Customer) == 0


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ({"name": "Equinor", "org_number": "NO 923 609 016 MVA", "country": "NO"}, "organisation number"),
        ({"name": "  fjord analytics as ", "org_number": "", "country": "no"}, "name and country"),
    ],
)  # fmt: skip
def test_a_customer_that_may_exist_warns_links_and_is_made_only_when_confirmed(
    url: str, typed: dict[str, str], reason: str
) -> None:
    existing = add_customer(url)
    at = open_page(as_user("sally"), "operations/pages/new_customer.py")
    for field, value in typed.items():
        at.text_input(key=f"new_customer_{field}").input(value)
    submit(at, "new_customer")
    assert not at.error
    (warning,) = texts(at.warning)
    assert warning.startswith(f"{existing} Fjord Analytics AS has the same {reason}")
    links = [link for link in at.get("page_link") if existing in link.proto.label]
    assert [link.proto.query_string for link in links] == [f"customer={existing}"]
    assert count(url, Customer) == 1

    at.checkbox(key="new_customer_confirm_duplicate").check()
    submit(at, "new_customer")
    assert count(url, Customer) == 2
    assert texts(at.title) == ["Customer card"]


def test_the_same_counterparty_file_twice_warns_with_the_contract_it_is(url: str) -> None:
    number = add_customer(url)
    pdf = minimal_pdf()
    at = open_page(as_user("sally"), "agreements/pages/counterparty_paper.py", customer=number)

    def register() -> None:
        at.date_input(key="paper_start_date").set_value(START)
        lines(at, "paper_lines", LINE | {"unit_price": 149.0, "quantity": 10.0})
        at.file_uploader(key="paper_file").set_value(("contract.pdf", pdf, "application/pdf"))
        submit(at, "paper")

    register()
    assert not at.error and count(url, Contract) == 1
    register()
    assert texts(at.warning) == [
        "This file is already registered as contract CT-000001 (Fjord Analytics AS): open it, "
        "or confirm to register it again"
    ]
    links = [link for link in at.get("page_link") if "CT-000001" in link.proto.label]
    assert [link.proto.query_string for link in links] == ["contract=CT-000001"]
    assert count(url, Contract) == 1

    at.checkbox(key="paper_confirm_duplicate").check()
    register()
    assert count(url, Contract) == 2
    with session_scope(make_engine(url), readonly=True) as session:
        stored = session.scalars(select(Document.sha256)).all()
    assert stored == [hashlib.sha256(pdf).hexdigest()] * 2
