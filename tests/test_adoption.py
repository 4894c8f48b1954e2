"""Sales ops act on CRM contracts (issue 14, item 1): adopting a HubSpot contract makes an
app contract of its running terms and lines, and the marts count that copy from the
adoption day under the same customer: every customer's MRR, month by month, and every
movement are what they were before (a held-out comparison on the demo portfolio); the
export's contract ends the day before and hands its deadlines over. Then seed 004's
renegotiation runs on it end to end."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
import pytest
from sqlalchemy import select

from avtale.cli import refresh
from avtale.dates import today
from avtale.demo_data import write_demo_data
from avtale.pipeline import ingest
from avtale.repository import adoption, auth, renewals
from avtale.repository.db import session_scope
from avtale.repository.models import Contract, Customer, Task
from avtale.repository.validation import ValidationError
from avtale.services import adoption as adoption_service
from avtale.services import agreements, templates
from avtale.services import bulk as bulk_service
from avtale.services.database import Database as ServiceDatabase
from avtale.services.database import open_database
from avtale.settings import Paths
from tests.conftest import Database as FixtureDatabase

pytestmark = pytest.mark.slow

SALES = "sally"
PASSWORD = "fjord-analytics-2025"


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paths]:
    """A demo portfolio of its own (adoption writes to it), ingested and published."""
    root = tmp_path_factory.mktemp("adoption")
    home = Paths(root / "home")
    write_demo_data(root / "exports", companies=150, seed=11)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AVTALE_HOME", str(home.home))
        env.setenv("DAGSTER_HOME", str(home.dagster_home))
        env.delenv("AVTALE_DATABASE_URL", raising=False)
        home.ensure()
        ingest(home, [root / "exports"])
        assert refresh(home)
        db = open_database(home)
        templates.install_builtins(db)  # the catalogue, as the app does on first use
        with session_scope(db.engine) as session:
            auth.create_user(session, "admin", SALES, PASSWORD, "sales_ops")
        yield home


def marts(home: Paths, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(home.serving), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_adopted_contracts_keep_every_customers_mrr_and_movements(portfolio: Paths) -> None:
    month_mrr = "select customer_id, month, round(mrr, 2) from customer_months order by all"
    movements = (
        "select customer_id, month, movement, round(amount, 2) from mrr_movements order by all"
    )
    before_mrr, before_moves = marts(portfolio, month_mrr), marts(portfolio, movements)
    # Running HubSpot contracts with MRR, some with one-off fees billed before today.
    chosen = [
        row[0]
        for row in marts(
            portfolio,
            "select contract_id from contracts where source_system = 'hubspot' "
            "and status = 'active' and current_mrr > 0 order by contract_id limit 25",
        )
    ]
    assert len(chosen) == 25
    db = open_database(portfolio)
    numbers = {}
    for contract_id in chosen:
        made = adoption_service.adopt(db, SALES, portfolio.serving, contract_id)
        assert made.ok, (contract_id, made.errors)
        numbers[contract_id] = made.target
    # A second adoption of the same contract is the same app contract.
    again = adoption_service.adopt(db, SALES, portfolio.serving, chosen[0])
    assert again.target == numbers[chosen[0]]
    assert refresh(portfolio)

    assert marts(portfolio, month_mrr) == before_mrr
    assert marts(portfolio, movements) == before_moves
    superseded = dict(
        marts(
            portfolio,
            "select contract_id, superseded_by from contracts where superseded_by is not null",
        )
    )
    assert superseded == {c: f"app:{n}" for c, n in numbers.items()}
    ended = marts(
        portfolio,
        "select count(*) from contracts where contract_id in (select unnest(?::varchar[])) "
        "and status = 'ended' and end_date = ?",
        chosen,
        today() - timedelta(days=1),
    )
    assert ended == [(25,)]
    # The app's copy is the same customer, and has the deadlines now.
    copies = marts(
        portfolio,
        "select app.customer_id = crm.customer_id, app.current_mrr - crm_mrr.mrr "
        "from contracts app join contracts crm on crm.superseded_by = app.contract_id "
        "join (select contract_id, sum(line_mrr) as mrr from contract_lines "
        "      group by all) crm_mrr on crm_mrr.contract_id = crm.contract_id",
    )
    assert len(copies) == 25 and all(same for same, _ in copies)
    assert marts(
        portfolio,
        "select count(*) from contract_deadlines where contract_id in "
        "(select contract_id from contracts where superseded_by is not null)",
    ) == [(0,)]


def test_a_hubspot_customer_is_renegotiated_by_seed_004(portfolio: Paths) -> None:
    """From the CRM contract: Renegotiate adopts it, the renegotiation copies its terms with
    free onboarding, fewer licences are signed, and invoicing gets its task."""
    contract_id, licences = marts(
        portfolio,
        "select c.contract_id, sum(l.quantity)::integer from contracts c "
        "join contract_lines l using (contract_id) where c.source_system = 'hubspot' "
        "and c.status = 'active' and c.superseded_by is null and l.is_recurring "
        "and lower(l.product) like 'assist%' group by all having sum(l.quantity) >= 5 "
        "order by 1 limit 1",
    )[0]
    db = open_database(portfolio)
    started = adoption_service.renegotiate(db, SALES, portfolio.serving, contract_id)
    assert started.ok, started.errors
    number = str(started.target)
    view = agreements.proposal_view(db, number)
    assert view is not None
    assert view.header["deal_name"].endswith(" - REFORHANDLING")
    # As the form sends them: a blank cell is None, not NaN.
    lines = [
        {key: None if pd.isna(value) else value for key, value in line.items()}
        for line in view.lines.to_dict("records")
    ]
    assert lines[-1]["product_code"] == "DIGITAL-ONBOARDING"
    licence_line = next(i for i, line in enumerate(lines) if line["product_code"] == "ASSIST")
    lines[licence_line]["quantity"] = Decimal(lines[licence_line]["quantity"]) - 2
    saved = agreements.save_lines(db, SALES, number, lines)
    assert saved.ok, saved.errors
    made = agreements.generate(db, SALES, portfolio, number, "pdf")
    assert made.ok, made.errors
    assert agreements.send(db, SALES, number).ok
    signed = agreements.sign(db, SALES, portfolio, number, today(), "Åse Berg")
    assert signed.ok, signed.errors
    with session_scope(db.engine) as session:
        tasks = session.scalars(select(Task).where(Task.team == "invoicing")).all()
    assert [t.rule for t in tasks] == ["reduction_under_10_licences"]
    assert f"from {today().isoformat()}" in tasks[0].title


# --- the repository, on SQLite and PostgreSQL -----------------------------------------


def exported(**contract: Any) -> adoption.Exported:
    lines = contract.pop("lines", None) or [
        {
            "product": "Assist licence",
            "quantity": 10,
            "unit_price": 149,
            "discount_percent": 0,
            "discount_end_date": None,
            "billing_period": "monthly",
            "start_date": date(2024, 1, 1),
            "end_date": None,
            "load_id": 3,
        },
        {
            "product": "Setup",
            "quantity": 1,
            "unit_price": 5000,
            "discount_percent": 0,
            "discount_end_date": None,
            "billing_period": "one_off",
            "start_date": date(2024, 1, 1),
            "end_date": None,
            "load_id": 4,
        },
    ]
    row = {
        "contract_id": "hubspot:9",
        "customer_id": "hubspot:1",
        "source_system": "hubspot",
        "name": "Fjordkraft Assist",
        "owner": "Kari",
        "currency": "NOK",
        "signed_date": date(2024, 1, 1),
        "start_date": date(2024, 1, 1),
        "end_date": None,
        "term_months": None,
        "auto_renew": False,
        "renewal_term_months": None,
        "notice_months": 3,
        "status": "active",
        "superseded_by": None,
    } | contract
    customer = {
        "customer_id": "hubspot:1",
        "name": "Fjordkraft AS",
        "org_number": "123",  # not a valid Norwegian number: left out
        "country": "NO",
        "owner": "Kari",
        "industry": None,
    }
    return adoption.Exported(row, customer, lines)


def test_adoption_copies_what_runs_and_reuses_the_customer(db: FixtureDatabase) -> None:
    day = date(2025, 6, 1)
    with session_scope(db.engine) as session:
        contract = adoption.adopt(session, SALES, exported(), day)
        assert (contract.origin, contract.source_ref, contract.source_load_id) == (
            "adopted",
            "hubspot:9",
            4,
        )
        assert contract.adopted_on == day
        (line,) = contract.versions[0].lines  # the fee was billed before: not again
        assert (line.product, line.quantity) == ("Assist licence", Decimal(10))
        customer = contract.customer
        assert (customer.source_ref, customer.org_number) == ("hubspot:1", None)
        assert adoption.adopt(session, SALES, exported(), day) is contract
        other = adoption.adopt(session, SALES, exported(contract_id="hubspot:10"), day)
        assert other.customer is customer
        assert session.scalar(select(Customer).where(Customer.source_ref == "hubspot:1"))


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"status": "ended"}, {"contract": "has ended: there is nothing to take over"}),
        ({"source_system": "app"}, {"contract": "is the app's own: act on it directly"}),
        ({"superseded_by": "app:CT-1"}, {"contract": "was taken over by app:CT-1"}),
        (
            {
                "lines": [
                    {
                        "product": "Support",
                        "quantity": 1,
                        "unit_price": 10,
                        "billing_period": "biweekly",
                        "start_date": date(2024, 1, 1),
                    }
                ]
            },
            {
                "lines[0].billing_period": "biweekly cannot be kept in the app; "
                "change the line in the source system first"
            },
        ),
    ],
)
def test_what_cannot_be_adopted_is_refused_with_the_reason(
    db: FixtureDatabase, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        adoption.adopt(session, SALES, exported(**changes), date(2025, 6, 1))
    assert refused.value.errors == errors
    with session_scope(db.engine) as session:
        assert session.scalar(select(Contract)) is None


def test_a_later_export_of_an_adopted_contract_is_compared_not_applied(portfolio: Paths) -> None:
    """The CRM says 3 more licences after the adoption: the reconciliation lists it, and
    from the adoption on the customer's MRR stays what Avtale's copy says. (Before it, the
    export is the record: HubSpot exports carry no history, so a line changed there is
    the line as it always was, as for any contract not taken over.)"""
    contract_id, app_id, customer_id, line_id = marts(
        portfolio,
        "select c.contract_id, c.superseded_by, c.customer_id, l.source_id from contracts c "
        "join contract_lines l using (contract_id) where c.superseded_by is not null "
        "and l.is_recurring order by 1, 4 limit 1",
    )[0]
    mrr = (
        "select month, round(mrr, 2) from customer_months where customer_id = ? "
        "and month >= ? order by 1"
    )
    this_month = today().replace(day=1)  # the adoption's month: the copy counts from it
    before = marts(portfolio, mrr, customer_id, this_month)
    exports = portfolio.home.parent / "exports" / "hubspot"
    for name, encoding, delimiter in (
        ("line_items.csv", "utf-8", ","),
        ("line_items_nordics_export.csv", "cp1252", ";"),
    ):
        with (exports / name).open(encoding=encoding, newline="") as handle:
            rows = list(csv.reader(handle, delimiter=delimiter))
        found = [row for row in rows[1:] if row[0] == line_id]
        if found:
            break
    (row,) = found
    row[2] = str(int(float(row[2].replace(",", "."))) + 3)
    later = portfolio.home.parent / "later" / name
    later.parent.mkdir(exist_ok=True)
    with later.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows([rows[0], row])
    report = ingest(portfolio, [later])
    assert [f.status for f in report.files] == ["loaded"], report.files
    assert refresh(portfolio)

    differences = marts(
        portfolio,
        "select difference, export_quantity - app_quantity from adoption_reconciliation "
        "where contract_id = ? and source_ref = ?",
        app_id,
        contract_id,
    )
    assert differences == [("quantity differs", 3.0)]
    assert marts(portfolio, mrr, customer_id, this_month) == before


def test_an_adopted_contract_is_in_the_renewals_queue_and_bulk_operations(
    db: FixtureDatabase,
) -> None:
    """The Renewals queue and the bulk page's contracts cover contracts taken over, not
    only those made in the app (issue 14: renewals cover adopted contracts)."""
    day = date(2025, 6, 1)
    with session_scope(db.engine) as session:
        contract = adoption.adopt(
            session,
            SALES,
            exported(end_date=day + timedelta(days=20)),
            day,
        )
        due = renewals.due_renewals(session, day, horizon_days=60)
        assert [d.contract_number for d in due] == [contract.contract_number]
        number = contract.contract_number
    assert bulk_service.active_contracts(
        ServiceDatabase(db.url, db.engine)
    ).contract_number.tolist() == [number]
