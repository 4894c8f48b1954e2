"""The customer portal through the services, on SQLite and PostgreSQL (SPEC P1-P2): a
contact's personal link, what each access level allows, cancellation dates, and the audit
rows that name the link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from avtale.repository import library
from avtale.repository.contracts import create_contract, current_version
from avtale.repository.db import session_scope
from avtale.repository.models import AuditLog, Contact, Contract, ContractVersion, Proposal
from avtale.repository.portal import cancellation_date
from avtale.repository.service import add_contact, create_customer
from avtale.services import portal
from avtale.services.database import Database, close_database, database_at
from avtale.services.signing import Refused
from avtale.settings import Settings
from tests.conftest import Database as Backend
from tests.signing_fixtures import SALES, outbox, settings_for

CONTACT = "ingrid@fjellbygg.example"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("AVTALE_SMTP_HOST", "AVTALE_SECRET_KEY", "AVTALE_PORTAL_URL"):
        monkeypatch.delenv(name, raising=False)
    return settings_for(tmp_path / "home")


@pytest.fixture
def database(db: Backend) -> Iterator[Database]:
    opened = database_at(db.url)
    yield opened
    close_database(opened)


def contract_for(session, name: str, org: str, access: str) -> Contract:  # type: ignore[no-untyped-def]
    customer = create_customer(session, SALES, {"name": name, "org_number": org})
    add_contact(session, SALES, customer, {"name": "Ingrid Fjell", "email": CONTACT})
    terms = {
        "start_date": date(2026, 1, 1),
        "signed_date": date(2025, 12, 1),
        "term_months": 12,
        "auto_renew": True,
        "renewal_term_months": 12,
        "notice_months": 3,
        "currency": "NOK",
    }
    lines = [
        {
            "product": "Assist licence",
            "quantity": 10,
            "unit_price": 149,
            "billing_period": "monthly",
        },
        {
            "product": "Premium support",
            "quantity": 1,
            "unit_price": 1500,
            "billing_period": "monthly",
        },
    ]
    version = create_contract(session, SALES, customer, terms, lines)
    version.contract.portal_access = access
    return version.contract


@pytest.fixture
def token(database: Database, settings: Settings) -> str:
    """A portal link for the contact of a customer with one contract per access level."""
    with session_scope(database.engine) as session:
        library.install_defaults(session)
        ours = contract_for(session, "Fjellbygg AS", "912 345 688", "upgrade")
        customer = ours.customer
        for access in ("restricted", "upgrade_downgrade"):
            terms = {"start_date": date(2026, 1, 1), "currency": "NOK", "notice_months": 1}
            line = {
                "product": "Assist licence",
                "quantity": 5,
                "unit_price": 149,
                "billing_period": "monthly",
            }
            create_contract(session, SALES, customer, terms, [line]).contract.portal_access = access
        contract_for(session, "Someone Else AS", "923 456 784", "upgrade_downgrade")
        contact_id = session.scalar(select(Contact.id).where(Contact.customer_id == customer.id))
    from avtale.repository import auth

    with session_scope(database.engine) as session:
        auth.create_user(session, "setup", SALES, "fjord-contracts-2026", "sales_ops")
    sent = portal.send_link(database, SALES, settings, contact_id)
    assert sent.ok, sent.errors
    mails = [m for m in outbox(settings.paths) if m.to == CONTACT]
    found = re.search(r"/portal/([A-Za-z0-9_-]{43,})", mails[-1].body)
    assert found
    return found.group(1)


def numbers(database: Database, customer: str) -> list[str]:
    with session_scope(database.engine) as session:
        return sorted(
            session.scalars(
                select(Contract.contract_number)
                .join(Contract.customer)
                .where(Contract.customer.has(name=customer))
            )
        )


def test_the_portal_shows_the_customers_own_contracts_only(
    database: Database, settings: Settings, token: str
) -> None:
    shown = portal.view(database, settings, token)
    assert shown.customer == "Fjellbygg AS" and shown.contact == "Ingrid Fjell"
    assert [c.number for c in shown.contracts] == numbers(database, "Fjellbygg AS")
    assert {c.access for c in shown.contracts} == {"restricted", "upgrade", "upgrade_downgrade"}
    other = numbers(database, "Someone Else AS")[0]
    with pytest.raises(Refused, match="no such contract"):
        portal.cancel(database, settings, token, other, "Too expensive")
    with pytest.raises(Refused, match="not valid"):
        portal.view(database, settings, token[:-1] + ("x" if token[-1] != "x" else "y"))


def test_a_new_portal_link_kills_the_old_one(
    database: Database, settings: Settings, token: str
) -> None:
    with session_scope(database.engine) as session:
        contact_id = session.scalar(select(Contact.id).where(Contact.email == CONTACT))
    assert contact_id is not None
    assert portal.send_link(database, SALES, settings, contact_id).ok
    with pytest.raises(Refused, match="withdrawn"):
        portal.view(database, settings, token)


def by_access(database: Database, settings: Settings, token: str) -> dict[str, str]:
    return {c.access: c.number for c in portal.view(database, settings, token).contracts}


def test_each_access_level_allows_what_it_says(
    database: Database, settings: Settings, token: str
) -> None:
    contracts = by_access(database, settings, token)
    with pytest.raises(Refused, match="account manager"):
        portal.change_licences(database, settings, token, contracts["restricted"], {1: "6"})
    down = portal.change_licences(database, settings, token, contracts["upgrade"], {1: "8"})
    assert down.errors == {"line_1": "can only go up on this contract"}
    not_licence = portal.change_licences(database, settings, token, contracts["upgrade"], {2: "2"})
    assert not_licence.errors == {"line_2": "is not a licence line of this contract"}
    up = portal.change_licences(database, settings, token, contracts["upgrade"], {1: "12"})
    assert up.ok, up.errors
    none = portal.change_licences(
        database, settings, token, contracts["upgrade_downgrade"], {1: "0"}
    )
    assert none.errors == {
        "quantities": "no licences at all is a cancellation: cancel the contract instead"
    }
    minus = portal.change_licences(
        database, settings, token, contracts["upgrade_downgrade"], {1: "-1"}
    )
    assert minus.errors == {"line_1": "must be a whole number from 0 to 100000"}
    fewer = portal.change_licences(
        database, settings, token, contracts["upgrade_downgrade"], {1: "2"}
    )
    assert fewer.ok, fewer.errors
    with session_scope(database.engine) as session:
        proposals = {p.contract.contract_number: p for p in session.scalars(select(Proposal))}
        upgrade = proposals[contracts["upgrade"]]
        assert upgrade.kind == "renegotiation" and upgrade.status == "draft"
        # The licences asked for, the rest as it was, and seed 004's free onboarding.
        assert [Decimal(str(line["quantity"])) for line in upgrade.lines] == [12, 1, 1]
        assert upgrade.lines[-1]["product_code"] == "DIGITAL-ONBOARDING"
        assert Decimal(str(proposals[contracts["upgrade_downgrade"]].lines[0]["quantity"])) == 2
        actors = set(
            session.scalars(
                select(AuditLog.actor).where(AuditLog.action == "portal.change_licences")
            )
        )
    assert len(actors) == 1 and actors.pop().startswith("portal-link:")
    # The portal says a change is under way, and offers no second one.
    shown = {c.number: c for c in portal.view(database, settings, token).contracts}
    assert shown[contracts["upgrade"]].open_proposal == up.target


def test_cancelling_ends_the_contract_on_the_next_allowed_date_with_the_reason(
    database: Database, settings: Settings, token: str
) -> None:
    contracts = by_access(database, settings, token)
    number = contracts["upgrade"]
    refused = portal.cancel(database, settings, token, number, "Because")
    assert set(refused.errors) == {"reason"}
    shown = {c.number: c for c in portal.view(database, settings, token).contracts}
    expected = shown[number].cancellation_date
    done = portal.cancel(database, settings, token, number, "Too expensive")
    assert done.ok and str(expected) in done.message
    with session_scope(database.engine) as session:
        contract = session.scalar(select(Contract).where(Contract.contract_number == number))
        assert contract is not None and contract.status == "terminated"
        version = current_version(contract)
        assert version.terminated_date == expected and version.termination_reason == "Too expensive"
        actor = session.scalar(
            select(AuditLog.actor).where(AuditLog.action == "contract.terminate")
        )
        assert actor is not None and actor.startswith("portal-link:")
    again = portal.cancel(database, settings, token, number, "Too expensive")
    assert again.errors == {"contract": "is already cancelled"}


def version(
    end: date | None, notice: int, auto_renew: bool, renewal: int | None = 12
) -> ContractVersion:
    return ContractVersion(
        start_date=date(2025, 1, 1),
        end_date=end,
        notice_months=notice,
        auto_renew=auto_renew,
        renewal_term_months=renewal,
        term_months=12,
    )


@pytest.mark.parametrize(
    ("end", "notice", "auto_renew", "today", "expected"),
    [
        # A fixed term that does not renew ends when it ends, notice or not.
        (date(2026, 12, 31), 3, False, date(2026, 11, 1), date(2026, 12, 31)),
        # Auto-renewing, notice deadline 30 September still ahead: this term's end.
        (date(2026, 12, 31), 3, True, date(2026, 9, 30), date(2026, 12, 31)),
        # One day late: the next term's end.
        (date(2026, 12, 31), 3, True, date(2026, 10, 1), date(2027, 12, 31)),
        # A term ending 31 January with 1 month's notice: deadline 31 December.
        (date(2027, 1, 31), 1, True, date(2026, 12, 31), date(2027, 1, 31)),
        (date(2027, 1, 31), 1, True, date(2027, 1, 1), date(2028, 1, 31)),
        # An old end date rolled forward term by term.
        (date(2024, 6, 30), 0, True, date(2026, 12, 4), date(2027, 6, 30)),
        # No end date: the end of the month in which the notice runs out.
        (None, 3, False, date(2026, 12, 4), date(2027, 3, 31)),
        (None, 0, False, date(2026, 12, 4), date(2026, 12, 31)),
    ],
)
def test_the_next_allowed_cancellation_date(
    end: date | None, notice: int, auto_renew: bool, today: date, expected: date
) -> None:
    assert cancellation_date(version(end, notice, auto_renew), today) == expected


def test_the_contact_edits_their_own_details(
    database: Database, settings: Settings, token: str
) -> None:
    assert portal.update_contact(database, settings, token, "+47 400 00 000", "CFO").ok
    shown = portal.view(database, settings, token)
    assert (shown.phone, shown.title) == ("+47 400 00 000", "CFO")
    assert set(portal.update_contact(database, settings, token, "9" * 41, "").errors) == {"phone"}


def test_an_invoice_mailed_to_a_contact_carries_their_portal_link(
    database: Database, settings: Settings, token: str
) -> None:
    with session_scope(database.engine) as session:
        customer_id = session.scalar(select(Contact.customer_id).where(Contact.email == CONTACT))
    assert customer_id is not None
    assert portal.link_for_address(database, settings, customer_id, "billing@x.example") is None
    url = portal.link_for_address(database, settings, customer_id, CONTACT.upper())
    assert url is not None and "/portal/" in url
    assert portal.view(database, settings, url.rsplit("/", 1)[1]).contact == "Ingrid Fjell"
    with pytest.raises(Refused, match="withdrawn"):  # the one sent before is replaced
        portal.view(database, settings, token)
