"""The operational database, on SQLite and PostgreSQL alike: schema, versioned contracts,
audit log, search, documents and users."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from avtale.repository import auth, contracts
from avtale.repository.db import (
    alembic_config,
    database_url,
    make_engine,
    migrate,
    session_scope,
)
from avtale.repository.documents import document_path, register_counterparty_paper, store_document
from avtale.repository.models import (
    AuditLog,
    Base,
    Contact,
    Contract,
    ContractLine,
    ContractVersion,
    Customer,
    Document,
    User,
)
from avtale.repository.service import (
    Change,
    ValidationError,
    add_contact,
    add_installed_asset,
    compare_versions,
    create_contract,
    create_customer,
    current_version,
    customer_timeline,
    filter_contracts,
    restore_customer,
    revise_contract,
    search,
    terminate_contract,
    terminate_customer,
    update_customer,
)
from avtale.repository.terms import term_end
from avtale.repository.validation import Field, clean
from avtale.settings import Paths
from avtale.vocabulary import APP_BILLING_PERIODS
from tests.conftest import Database
from tests.postgres import PostgresServer
from tests.sample_files import minimal_docx, minimal_pdf

ACTOR = "ingrid"

TERMS: dict[str, Any] = {
    "title": "Analytics platform",
    "start_date": date(2025, 1, 1),
    "term_months": 12,
    "notice_months": 3,
    "lock_in_months": 12,
    "auto_renew": True,
    "currency": "nok",
    "price_adjustment_rule": "cpi",
    "next_price_adjustment_date": date(2026, 1, 1),
    "payment_terms_days": 30,
    "sla": "99.5 % uptime, response within 4 hours",
    "custom_terms": {"data_residency": "EU"},
}
LINES: list[dict[str, Any]] = [
    {
        "product": "Platform licence",
        "quantity": 10,
        "unit_price": "450,00",
        "billing_period": "monthly",
    },
    {"product": "Onboarding", "quantity": 1, "unit_price": 15000, "billing_period": "one_off"},
]


def new_customer(session: Session, **data: Any) -> Customer:
    values = {"name": "Fjord Analytics AS", "org_number": "912 345 688", "country": "no"}
    return create_customer(session, ACTOR, values | data)


def new_contract(
    session: Session, customer: Customer, contract_number: str | None = None, **terms: Any
) -> ContractVersion:
    return create_contract(
        session, ACTOR, customer, TERMS | terms, LINES, contract_number=contract_number
    )


def count(db: Database, model: type[Base]) -> int:
    with Session(db.engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def audit_rows(db: Database) -> list[AuditLog]:
    with Session(db.engine) as session:
        return list(session.scalars(select(AuditLog).order_by(AuditLog.id)))


# --- schema and connections ---------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    yield server.url(name)
    server.drop_database(name)


def test_migrations_build_the_schema_of_the_models_on_an_empty_database(empty_url: str) -> None:
    migrate(empty_url)
    migrate(empty_url)  # a second run has nothing to do
    engine = make_engine(empty_url)
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        assert set(Base.metadata.tables) <= tables
        # The hand-written migration and the models describe the same schema.
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert MigrationContext.configure(connection).get_current_revision() == head
    engine.dispose()


def test_a_migrated_database_is_checked_without_the_write_lock(tmp_path: Path) -> None:
    """Every process that opens the database checks its schema. At the newest revision
    that check only reads: an app write holding SQLite's write lock does not make it wait
    (nor the writes queued behind it, which would fail with "database is locked")."""
    import sqlite3

    url = f"sqlite:///{tmp_path / 'avtale.db'}"
    migrate(url)
    writer = sqlite3.connect(tmp_path / "avtale.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        migrate(url)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'avtale.db'}")
    with engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}
    engine.dispose()


def test_database_url_is_the_environment_or_a_file_in_the_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AVTALE_DATABASE_URL", raising=False)
    assert database_url(Paths(tmp_path)) == f"sqlite:///{tmp_path}/avtale.db"
    monkeypatch.setenv("AVTALE_DATABASE_URL", "postgresql://app@db.example/avtale")
    assert database_url(Paths(tmp_path)) == "postgresql://app@db.example/avtale"
    # Plain postgresql:// means psycopg 3, the driver that is installed.
    assert make_engine("postgresql://app@db.example/avtale").dialect.driver == "psycopg"


def test_a_transaction_commits_at_the_end_and_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError), session_scope(db.engine) as session:
        new_customer(session)
        raise RuntimeError("the form crashed")
    assert count(db, Customer) == 0
    with session_scope(db.engine) as session:
        new_customer(session)
    assert count(db, Customer) == 1


def test_a_read_only_session_refuses_writes(db: Database) -> None:
    with pytest.raises(DBAPIError), session_scope(db.engine, readonly=True) as session:
        session.execute(text("DELETE FROM audit_log"))
    with session_scope(db.engine, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0


# --- customers ------------------------------------------------------------------------


def test_creating_a_customer_writes_one_audit_row_with_the_new_row(db: Database) -> None:
    with session_scope(db.engine) as session:
        customer = new_customer(session, owner="Ingrid")
    assert customer.customer_number == f"CU-{customer.id:06d}"
    assert (customer.country, customer.status) == ("NO", "active")
    [row] = audit_rows(db)
    assert (row.actor, row.action, row.entity, row.entity_id) == (
        ACTOR,
        "customer.create",
        "customer",
        str(customer.id),
    )
    assert row.before is None
    assert row.after is not None
    assert row.after["name"] == "Fjord Analytics AS"
    assert row.after["customer_number"] == customer.customer_number
    assert row.at.tzinfo is not None


def test_invalid_customer_input_is_refused_per_field_and_writes_nothing(db: Database) -> None:
    with session_scope(db.engine) as session:
        new_customer(session, customer_number="K-1")
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        create_customer(
            session,
            ACTOR,
            {"name": " ", "country": "Norway", "customer_number": "K-1", "colour": "blue"},
        )
    assert refused.value.errors == {
        "colour": "is not a known field",
        "name": "is required",
        "country": "must be a two-letter country code (ISO 3166), such as NO",
        "customer_number": "K-1 is already used by another customer",
    }
    assert count(db, Customer) == 1
    assert len(audit_rows(db)) == 1


def test_updating_a_customer_records_before_and_after(db: Database) -> None:
    with session_scope(db.engine) as session:
        customer = new_customer(session, owner="Ingrid")
    with session_scope(db.engine) as session:
        customer = session.get_one(Customer, customer.id)
        update_customer(session, "lars", customer, {"owner": "Lars", "industry": "Software"})
    with pytest.raises(ValidationError) as unchanged, session_scope(db.engine) as session:
        update_customer(session, "lars", session.get_one(Customer, customer.id), {"owner": "Lars"})
    assert unchanged.value.errors == {"changes": "nothing to change"}
    created, updated = audit_rows(db)
    assert (updated.actor, updated.action) == ("lars", "customer.update")
    assert updated.before is not None and updated.after is not None
    assert (updated.before["owner"], updated.after["owner"]) == ("Ingrid", "Lars")
    assert (updated.before["industry"], updated.after["industry"]) == (None, "Software")
    assert updated.before == created.after


def test_terminating_and_restoring_a_customer(db: Database) -> None:
    with session_scope(db.engine) as session:
        customer = new_customer(session)
        add_contact(session, ACTOR, customer, {"name": "Kari Nordmann", "may_sign": "yes"})
    with session_scope(db.engine) as session:
        customer = session.get_one(Customer, customer.id)
        terminate_customer(session, ACTOR, customer, "Price", "Chose a cheaper competitor")
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        new_contract(session, session.get_one(Customer, customer.id))
    assert refused.value.errors == {"customer": "is terminated: restore the customer first"}
    with session_scope(db.engine) as session:
        customer = session.get_one(Customer, customer.id)
        assert (customer.status, customer.termination_reason) == ("terminated", "Price")
        restore_customer(session, ACTOR, customer)
    with pytest.raises(ValidationError), session_scope(db.engine) as session:
        restore_customer(session, ACTOR, session.get_one(Customer, customer.id))

    with Session(db.engine) as session:
        customer = session.get_one(Customer, customer.id)
        assert (customer.status, customer.termination_reason) == ("active", None)
        timeline = customer_timeline(session, customer)
    assert [row.action for row in timeline] == [
        "customer.create",
        "contact.create",
        "customer.terminate",
        "customer.restore",
    ]
    terminate, restore = timeline[2:]
    assert terminate.after is not None and restore.before is not None
    assert terminate.after["termination_circumstances"] == "Chose a cheaper competitor"
    assert restore.before == terminate.after


def test_contacts_keep_who_may_sign_and_refuse_a_bad_email(db: Database) -> None:
    with session_scope(db.engine) as session:
        customer = new_customer(session)
        add_contact(
            session, ACTOR, customer, {"name": "Kari", "email": "kari@fjord.no", "may_sign": True}
        )
        add_contact(session, ACTOR, customer, {"name": "Ola"})
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        add_contact(
            session, ACTOR, session.get_one(Customer, customer.id), {"name": "X", "email": "x@"}
        )
    assert refused.value.errors == {"email": "must be an e-mail address such as name@example.com"}
    with Session(db.engine) as session:
        contacts = session.scalars(select(Contact).order_by(Contact.id)).all()
        assert [(c.name, c.email, c.may_sign) for c in contacts] == [
            ("Kari", "kari@fjord.no", True),
            ("Ola", None, False),
        ]


# --- contracts and versions -----------------------------------------------------------


def test_a_new_contract_is_version_1_with_typed_terms_and_lines(db: Database) -> None:
    with session_scope(db.engine) as session:
        version = new_contract(session, new_customer(session, owner="Ingrid"))
    with Session(db.engine) as session:
        contract = session.get_one(Contract, version.contract_id)
        v1 = current_version(contract)
        assert contract.contract_number == f"CT-{contract.id:06d}"
        assert (contract.status, contract.origin) == ("active", "app")
        assert (v1.version_no, v1.supersedes_id, v1.author) == (1, None, ACTOR)
        assert v1.effective_date == date(2025, 1, 1)
        assert v1.end_date == date(2025, 12, 31)  # 12 months from 1 January, inclusive
        assert (v1.owner, v1.currency, v1.renewal_term_months) == ("Ingrid", "NOK", 12)
        assert v1.custom_terms == {"data_residency": "EU"}
        assert [(line.line_no, line.product, line.unit_price) for line in v1.lines] == [
            (1, "Platform licence", Decimal("450")),
            (2, "Onboarding", Decimal("15000")),
        ]
        assert all(line.start_date == date(2025, 1, 1) for line in v1.lines)
        assert isinstance(v1.lines[0].quantity, Decimal)
    [_, created] = audit_rows(db)
    assert (created.action, created.entity, created.entity_id) == (
        "contract.create",
        "contract",
        str(contract.id),
    )
    assert created.after is not None
    assert created.after["version"]["lines"][0]["unit_price"] == "450"
    assert created.after["version"]["start_date"] == "2025-01-01"


def revise(session: Session, contract_id: int, **kwargs: Any) -> ContractVersion:
    contract = session.get_one(Contract, contract_id)
    arguments: dict[str, Any] = {
        "changes": {"notice_months": 6, "custom_terms": {"data_residency": "NO", "sso": True}},
        "lines": [
            {
                "line_no": 1,
                "product": "Platform licence",
                "quantity": 15,
                "unit_price": 450,
                "billing_period": "monthly",
            },
            {
                "product": "Premium support",
                "quantity": 1,
                "unit_price": "2 000",
                "billing_period": "quarterly",
                "start_date": "2025-07-01",
            },
        ],
        "effective_date": date(2025, 7, 1),
        "reason": "Renegotiated: 5 more licences, support instead of onboarding",
        "approver": "lars",
    }
    return revise_contract(session, ACTOR, contract, **(arguments | kwargs))


def test_a_revision_adds_version_2_and_leaves_version_1_as_it_was(db: Database) -> None:
    with session_scope(db.engine) as session:
        v1 = new_contract(session, new_customer(session))
        contract_id, v1_before = v1.contract_id, contracts.state(v1)["version"]
    with session_scope(db.engine) as session:
        revise(session, contract_id)

    with Session(db.engine) as session:
        contract = session.get_one(Contract, contract_id)
        first, second = contract.versions
        assert contracts.state(first)["version"] == v1_before
        assert (second.version_no, second.supersedes_id) == (2, first.id)
        assert (second.effective_date, second.approver, second.author) == (
            date(2025, 7, 1),
            "lars",
            ACTOR,
        )
        assert current_version(contract) is second
        assert current_version(contract, on=date(2025, 6, 30)) is first
        # Terms that were not changed are carried over.
        assert (second.sla, second.currency, second.term_months) == (
            first.sla,
            "NOK",
            12,
        )
        assert session.scalar(select(func.count()).select_from(ContractLine)) == 4
    revised = audit_rows(db)[-1]
    assert (revised.action, revised.entity_id) == ("contract.revise", str(contract_id))
    assert revised.before is not None and revised.after is not None
    assert revised.before["version"] == v1_before
    assert revised.after["version"]["version_no"] == 2


def test_compare_versions_lists_exactly_the_changed_terms_and_lines(db: Database) -> None:
    with session_scope(db.engine) as session:
        contract_id = new_contract(session, new_customer(session)).contract_id
    with session_scope(db.engine) as session:
        revise(session, contract_id)
    with Session(db.engine) as session:
        first, second = session.get_one(Contract, contract_id).versions
        changes = compare_versions(first, second)
    support = {
        "product": "Premium support",
        "quantity": Decimal(1),
        "unit_price": Decimal(2000),
        "discount_percent": Decimal(0),
        "discount_end_date": None,
        "billing_period": "quarterly",
        "billing_interval_months": None,
        "start_date": date(2025, 7, 1),
        "end_date": None,
    }
    assert changes[:3] == [
        Change("notice_months", 3, 6),
        Change("custom_terms.data_residency", "EU", "NO"),
        Change("custom_terms.sso", None, True),
    ]
    assert changes[3] == Change("line 1.quantity", Decimal(10), Decimal(15))
    assert changes[4].field == "line 2" and changes[4].new is None
    assert changes[4].old["product"] == "Onboarding"
    assert changes[5] == Change("line 3", None, support)
    assert len(changes) == 6
    assert compare_versions(second, second) == []


def test_a_line_without_line_no_continues_the_current_line_of_its_product(db: Database) -> None:
    with session_scope(db.engine) as session:
        contract_id = new_contract(session, new_customer(session)).contract_id
    lines = [dict(line) for line in LINES]
    lines[0]["discount_percent"] = "12,5"
    lines[0]["discount_end_date"] = "31.12.2025"
    with session_scope(db.engine) as session:
        revise(session, contract_id, changes={}, lines=lines)
    with Session(db.engine) as session:
        first, second = session.get_one(Contract, contract_id).versions
        assert compare_versions(first, second) == [
            Change("line 1.discount_percent", Decimal(0), Decimal("12.5")),
            Change("line 1.discount_end_date", None, date(2025, 12, 31)),
        ]


def test_a_refused_revision_writes_no_version_and_no_audit_row(db: Database) -> None:
    with session_scope(db.engine) as session:
        contract_id = new_contract(session, new_customer(session)).contract_id
    audited = len(audit_rows(db))
    with pytest.raises(ValidationError) as nothing, session_scope(db.engine) as session:
        revise(session, contract_id, changes={}, lines=None)
    assert nothing.value.errors == {
        "changes": "nothing changed: a new version needs at least one change"
    }
    bad_lines = [
        {"product": "Licence", "quantity": 0, "unit_price": "abc", "billing_period": "monthly"},
        {"product": "Licence", "quantity": 1, "unit_price": 1, "billing_period": "every_n_months"},
        {"line_no": 7, "product": "X", "quantity": 1, "unit_price": 1, "billing_period": "daily"},
    ]
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        revise(
            session,
            contract_id,
            changes={"end_date": "2024-06-30", "currency": ""},
            lines=bad_lines,
            effective_date="2024-12-31",
            reason="",
            approver=ACTOR,
        )
    assert refused.value.errors == {
        "effective_date": "must not be before version 1 took effect (2025-01-01)",
        "reason": "is required",
        "approver": "must be someone else than the author",
        "currency": "is required",
        "end_date": "must be on or after the start date",
        "lines[0].unit_price": "must be a number",
        "lines[0].quantity": "must be more than 0",
        "lines[1].billing_interval_months": "is required for every N months",
        "lines[2].billing_period": "must be one of: " + ", ".join(APP_BILLING_PERIODS),
        "lines[2].line_no": "is not a line of the current version",
    }
    assert count(db, ContractVersion) == 1
    assert len(audit_rows(db)) == audited


def test_a_failure_midway_leaves_neither_the_change_nor_its_audit_row(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(db.engine) as session:
        customer_id = new_customer(session).id

    def broken_record(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    # The contract, its version and lines are flushed by the time the audit row is written.
    monkeypatch.setattr(contracts, "record", broken_record)
    with pytest.raises(RuntimeError), session_scope(db.engine) as session:
        new_contract(session, session.get_one(Customer, customer_id))
    assert (count(db, Contract), count(db, ContractVersion), count(db, ContractLine)) == (0, 0, 0)
    assert [row.action for row in audit_rows(db)] == ["customer.create"]


def test_terminating_a_contract_adds_a_version_that_ends_it(db: Database) -> None:
    with session_scope(db.engine) as session:
        contract_id = new_contract(session, new_customer(session)).contract_id
    with session_scope(db.engine) as session:
        revise(session, contract_id)  # line 3 starts on 1 July
    with session_scope(db.engine) as session:
        contract = session.get_one(Contract, contract_id)
        terminate_contract(session, ACTOR, contract, "2025-06-30", "Bankruptcy", "Estate sold")
    with Session(db.engine) as session:
        contract = session.get_one(Contract, contract_id)
        second, third = contract.versions[1:]
        assert contract.status == "terminated"
        assert (third.version_no, third.supersedes_id) == (3, second.id)
        assert (third.terminated_date, third.termination_reason) == (
            date(2025, 6, 30),
            "Bankruptcy",
        )
        assert (third.end_date, third.auto_renew) == (date(2025, 6, 30), False)
        # The line that would only start on 1 July is gone; the others end with the contract.
        assert [(line.line_no, line.end_date) for line in third.lines] == [(1, date(2025, 6, 30))]
        assert third.effective_date == date(2025, 7, 1)  # not before version 2
        assert second.terminated_date is None
    for action in (
        lambda s, c: terminate_contract(s, ACTOR, c, "2025-08-31", "Again"),
        lambda s, c: revise(s, c.id),
    ):
        with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
            action(session, session.get_one(Contract, contract_id))
        assert "contract" in refused.value.errors
    terminated = audit_rows(db)[-1]
    assert terminated.action == "contract.terminate"
    assert terminated.before is not None and terminated.after is not None
    assert terminated.before["status"] == "active"
    assert terminated.after["status"] == "terminated"
    assert terminated.after["version"]["termination_circumstances"] == "Estate sold"


def test_a_new_contract_refuses_terms_that_contradict_each_other(db: Database) -> None:
    with session_scope(db.engine) as session:
        customer_id = new_customer(session).id
    terms = TERMS | {
        "term_months": None,
        "end_date": "31.12.2024",
        "price_adjustment_rule": "fixed_pct",
        "currency": "kroner",
        "notice_months": "three",
        "colour": "blue",
    }
    lines = [LINES[0] | {"discount_end_date": "2025-06-30", "unit_price": "12.34567"}]
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        create_contract(session, ACTOR, session.get_one(Customer, customer_id), terms, lines)
    assert refused.value.errors == {
        "colour": "is not a known field",
        "notice_months": "must be a number",
        "currency": "must be a three-letter currency code (ISO 4217), such as NOK",
        "end_date": "must be on or after the start date",
        "renewal_term_months": "is required when the contract renews automatically",
        "price_adjustment_pct": "is required for a fixed percentage rule",
        "lines[0].unit_price": "must have at most 4 decimals",
        "lines[0].discount_end_date": "only with a discount",
    }
    assert (count(db, Contract), len(audit_rows(db))) == (0, 1)


def test_the_customer_timeline_shows_everything_that_happened(db: Database, home: Paths) -> None:
    with session_scope(db.engine) as session:
        customer = new_customer(session)
        other = new_customer(session, name="Nordlys Data AS")
        contract = new_contract(session, customer).contract
        new_contract(session, other)
        add_installed_asset(
            session, ACTOR, contract, {"serial_number": "SN-0042", "model": "Scanner X2"}
        )
        store_document(
            session, ACTOR, home, filename="a.pdf", data=minimal_pdf(), contract=contract
        )
    with session_scope(db.engine) as session:
        revise(session, contract.id)
    with Session(db.engine) as session:
        timeline = customer_timeline(session, session.get_one(Customer, customer.id))
    assert [(row.action, row.entity) for row in timeline] == [
        ("customer.create", "customer"),
        ("contract.create", "contract"),
        ("asset.create", "installed_asset"),
        ("document.store", "document"),
        ("contract.revise", "contract"),
    ]
    assert timeline[2].after is not None and timeline[2].after["serial_number"] == "SN-0042"


def test_form_values_parse_the_way_nordic_users_type_them() -> None:
    errors: dict[str, str] = {}
    fields = {
        "a": Field("decimal"),
        "b": Field("decimal"),
        "c": Field("decimal"),
        "d": Field("date"),
        "e": Field("date"),
        "f": Field("bool"),
        "g": Field("int"),
        "h": Field("int"),
    }
    values = clean(
        {
            "a": "1.234,50",
            "b": "1,234.50",
            "c": "1 234",
            "d": "31.03.2025",
            "e": "31/03/2025",
            "f": "Ja",
            "g": "12",
            "h": "1,5",
        },
        fields,
        errors,
    )
    assert values == {
        "a": Decimal("1234.50"),
        "b": Decimal("1234.50"),
        "c": Decimal("1234"),
        "d": date(2025, 3, 31),
        "e": date(2025, 3, 31),
        "f": True,
        "g": 12,
    }
    assert errors == {"h": "must be a whole number"}
    assert term_end(date(2025, 1, 31), 1) == date(2025, 2, 27)
    assert term_end(date(2024, 3, 1), 12) == date(2025, 2, 28)


# --- search and filters ---------------------------------------------------------------


def test_search_finds_customers_and_contracts_by_every_field(db: Database) -> None:
    with session_scope(db.engine) as session:
        fjord = new_customer(session, owner="Ingrid")
        oresund = new_customer(
            session, name="Öresund Logistik AB", org_number="556987-6542", country="SE"
        )
        first = new_contract(session, fjord, contract_number="FA-2025-001")
        new_contract(session, oresund, owner="Lars Øvrebø", title="Freight tracking")
    with session_scope(db.engine) as session:
        revise(session, first.contract_id)  # Onboarding leaves, Premium support arrives

    def found(term: str) -> list[tuple[str, str, str]]:
        with Session(db.engine) as session:
            return [(hit.kind, hit.label, hit.matched_on) for hit in search(session, term)]

    assert found("öresund") == [("customer", "Öresund Logistik AB", "name")]
    assert found("5569876542") == [("customer", "Öresund Logistik AB", "org_number")]
    assert found("912345688") == [("customer", "Fjord Analytics AS", "org_number")]
    assert found("fa-2025") == [("contract", "FA-2025-001 · Fjord Analytics AS", "contract_number")]
    assert found("premium") == [("contract", "FA-2025-001 · Fjord Analytics AS", "product")]
    assert found("onboarding") == [
        ("contract", f"CT-{first.contract_id + 1:06d} · Öresund Logistik AB", "product")
    ]
    assert found("ØVREBØ") == [
        ("contract", f"CT-{first.contract_id + 1:06d} · Öresund Logistik AB", "owner")
    ]
    assert [hit[0] for hit in found("ingrid")] == ["customer", "contract"]
    assert found("100%_") == []
    assert found("  ") == []


def test_filter_contracts_by_their_current_terms(db: Database) -> None:
    variants: dict[str, dict[str, Any]] = {
        "A": {"auto_renew": True, "notice_months": 3, "term_months": 12},
        "B": {"auto_renew": True, "notice_months": 1, "term_months": 12},
        "C": {"auto_renew": False, "notice_months": 6, "term_months": 12},
        "D": {
            "auto_renew": True,
            "notice_months": 6,
            "term_months": None,
            "renewal_term_months": 12,
        },
        "E": {"auto_renew": True, "notice_months": 3, "term_months": 36},
    }
    with session_scope(db.engine) as session:
        customer = new_customer(session)
        ids = {
            name: new_contract(session, customer, contract_number=name, **terms).contract_id
            for name, terms in variants.items()
        }
    with session_scope(db.engine) as session:
        # Only the current version counts: B's notice period is 3 months from version 2 on.
        revise(session, ids["B"], changes={"notice_months": 3}, lines=None)

    def numbers(**criteria: Any) -> list[str]:
        with Session(db.engine) as session:
            return [v.contract.contract_number for v in filter_contracts(session, **criteria)]

    assert numbers() == ["A", "B", "C", "D", "E"]
    assert numbers(auto_renew=True, min_notice_months=3, ends_before=date(2026, 4, 1)) == [
        "A",
        "B",
    ]
    assert numbers(auto_renew=False) == ["C"]
    assert numbers(min_notice_months=6) == ["C", "D"]
    assert numbers(ends_before=date(2025, 12, 31)) == []
    assert numbers(status="terminated") == []


# --- documents ------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "home")


def test_pdf_and_docx_are_stored_by_their_hash_and_registered(db: Database, home: Paths) -> None:
    with session_scope(db.engine) as session:
        version = new_contract(session, new_customer(session))
        pdf = store_document(
            session,
            ACTOR,
            home,
            filename="signed.PDF",
            data=minimal_pdf(),
            contract=version.contract,
        )
        docx = store_document(
            session,
            ACTOR,
            home,
            filename="appendix.docx",
            data=minimal_docx(),
            customer=version.contract.customer,
        )
    assert (pdf.content_type, pdf.size_bytes, pdf.customer_id) == (
        "application/pdf",
        len(minimal_pdf()),
        version.contract.customer_id,
    )
    assert pdf.stored_path == f"{pdf.sha256[:2]}/{pdf.sha256}.pdf"
    assert document_path(home, pdf).read_bytes() == minimal_pdf()
    assert docx.stored_path.endswith(".docx") and docx.contract_id is None
    assert docx.content_type.endswith("wordprocessingml.document")
    stored = audit_rows(db)[-2:]
    assert [(row.action, row.entity_id) for row in stored] == [
        ("document.store", str(pdf.id)),
        ("document.store", str(docx.id)),
    ]
    assert stored[0].after is not None and stored[0].after["sha256"] == pdf.sha256


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("contract.pdf", b"This is only text, whatever the name says.", "must be a PDF"),
        ("contract.docx", b"", "is empty"),
        ("big.pdf", b"%PDF-1.4\n" + b"0" * 2048, "is 2.0 KB; the limit is 1.0 KB"),
        ("archive.docx", b"PK\x05\x06" + b"\0" * 18, "must be a PDF"),
    ],
)
def test_uploads_that_are_not_pdf_or_docx_or_empty_or_too_large_are_refused(
    db: Database, home: Paths, filename: str, data: bytes, reason: str
) -> None:
    with session_scope(db.engine) as session:
        contract = new_contract(session, new_customer(session)).contract
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        store_document(
            session, ACTOR, home, filename=filename, data=data, contract=contract, max_bytes=1024
        )
    assert set(refused.value.errors) == {"file"}
    assert reason in refused.value.errors["file"]
    assert count(db, Document) == 0
    assert not (home.home / "documents").exists()


def test_the_same_bytes_are_stored_once(db: Database, home: Paths) -> None:
    with session_scope(db.engine) as session:
        customer = new_customer(session)
        first = new_contract(session, customer).contract
        second = new_contract(session, customer).contract
        a = store_document(
            session, ACTOR, home, filename="a.pdf", data=minimal_pdf(), contract=first
        )
        again = store_document(
            session, ACTOR, home, filename="a.pdf", data=minimal_pdf(), contract=first
        )
        b = store_document(
            session, ACTOR, home, filename="b.pdf", data=minimal_pdf(), contract=second
        )
    assert again.id == a.id  # the same upload twice is one document
    assert (b.stored_path, b.contract_id) == (a.stored_path, second.id)
    assert count(db, Document) == 2
    assert len([path for path in (home.home / "documents").rglob("*") if path.is_file()]) == 1


def test_counterparty_paper_registers_the_contract_and_its_file_together(
    db: Database, home: Paths
) -> None:
    with session_scope(db.engine) as session:
        customer_id = new_customer(session).id
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        register_counterparty_paper(
            session,
            ACTOR,
            home,
            session.get_one(Customer, customer_id),
            TERMS | {"currency": ""},
            LINES,
            filename="theirs.pdf",
            data=b"not a pdf",
        )
    assert set(refused.value.errors) == {"currency", "file"}
    assert (count(db, Contract), count(db, Document)) == (0, 0)
    with session_scope(db.engine) as session:
        version, document = register_counterparty_paper(
            session,
            ACTOR,
            home,
            session.get_one(Customer, customer_id),
            TERMS,
            LINES,
            filename="theirs.docx",
            data=minimal_docx(),
        )
    assert version.contract.origin == "counterparty_paper"
    assert (document.kind, document.contract_id) == ("counterparty_paper", version.contract_id)


# --- users ----------------------------------------------------------------------------


def test_users_log_in_with_argon2_hashed_passwords(db: Database) -> None:
    with session_scope(db.engine) as session:
        auth.create_user(session, "admin", "Kari", "correct horse battery", "sales_ops")
    with Session(db.engine) as session:
        user = session.scalars(select(User)).one()
        assert (user.username, user.role, user.active) == ("kari", "sales_ops", True)
        assert user.password_hash.startswith("$argon2id$")
        assert "correct horse battery" not in user.password_hash
        assert auth.authenticate(session, "KARI", "correct horse battery") is not None
        assert auth.authenticate(session, "kari", "Correct horse battery") is None
        assert auth.authenticate(session, "nobody", "correct horse battery") is None
    with session_scope(db.engine) as session:
        # A hash made with weaker parameters is upgraded at the next good login.
        user = session.scalars(select(User)).one()
        user.password_hash = PasswordHasher(time_cost=1).hash("correct horse battery")
    with session_scope(db.engine) as session:
        assert auth.authenticate(session, "kari", "correct horse battery") is not None
    with session_scope(db.engine) as session:
        user = session.scalars(select(User)).one()
        assert not PasswordHasher().check_needs_rehash(user.password_hash)
        auth.set_password(session, "admin", user, "a new long passphrase")
        auth.update_user(session, "admin", user, active=False)
    with Session(db.engine) as session:
        assert auth.authenticate(session, "kari", "a new long passphrase") is None  # inactive
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        auth.create_user(session, "admin", "kari", "short", "boss")
    assert refused.value.errors == {
        "username": "kari is already taken",
        "password": "must be at least 10 characters",
        "role": "must be one of: leadership, analyst, sales_ops, admin",
    }
    rows = audit_rows(db)
    assert [(row.actor, row.action) for row in rows] == [
        ("admin", "user.create"),
        ("kari", "user.rehash_password"),
        ("admin", "user.set_password"),
        ("admin", "user.update"),
    ]
    assert all("password_hash" not in (row.after or {}) for row in rows)


def test_roles_map_to_permissions() -> None:
    table = {
        role: [
            action
            for action in (
                "read",
                "edit_agreements",
                "approve_discounts",
                "manage_users",
                "manage_settings",
                "upload_files",
            )
            if auth.can(role, action)
        ]
        for role in ("leadership", "analyst", "sales_ops", "admin", "stranger")
    }
    assert table == {
        "leadership": ["read", "approve_discounts"],
        "analyst": ["read", "upload_files"],
        "sales_ops": ["read", "edit_agreements", "upload_files"],
        "admin": [
            "read",
            "edit_agreements",
            "approve_discounts",
            "manage_users",
            "manage_settings",
            "upload_files",
        ],
        "stranger": [],
    }
    with pytest.raises(ValueError, match="unknown action"):
        auth.can("admin", "delete_everything")


# --- concurrency ----------------------------------------------------------------------


def test_two_writers_and_a_reader_on_sqlite_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'avtale.db'}"
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        customer_id = new_customer(session).id
    errors: list[BaseException] = []
    writing = threading.Barrier(3)
    per_writer = 25

    def writer(name: str) -> None:
        writing.wait()
        try:
            for number in range(per_writer):
                with session_scope(engine) as session:
                    customer = session.get_one(Customer, customer_id)
                    create_contract(
                        session, name, customer, TERMS, LINES, contract_number=f"{name}-{number}"
                    )
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    def reader(stop: threading.Event) -> None:
        writing.wait()
        try:
            while not stop.is_set():
                with session_scope(engine, readonly=True) as session:
                    filter_contracts(session, auto_renew=True)
                    search(session, "licence")
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    stop = threading.Event()
    threads = [threading.Thread(target=writer, args=(name,)) for name in ("ingrid", "lars")]
    watcher = threading.Thread(target=reader, args=(stop,))
    for thread in [*threads, watcher]:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    watcher.join()
    assert errors == []
    with Session(engine) as session:
        numbers = set(session.scalars(select(Contract.contract_number)))
        audited = session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "contract.create")
        )
    assert numbers == {f"{name}-{n}" for name in ("ingrid", "lars") for n in range(per_writer)}
    assert audited == 2 * per_writer
    engine.dispose()
