"""Renewals (SPEC A3) on SQLite and PostgreSQL: the daily job renews auto-renewing
contracts at their end, manual ones wait in the queue; MRR shows no false churn."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import func, select

from avtale.repository import library
from avtale.repository.db import database_url, make_engine, migrate, session_scope
from avtale.repository.models import AuditLog, Contract, ContractVersion, Proposal, Renewal
from avtale.repository.renewals import (
    due_renewals,
    let_expire,
    renew,
    run_auto_renewals,
    start_renewal_renegotiation,
)
from avtale.repository.service import create_contract, create_customer, current_version
from avtale.repository.terms import term_end
from avtale.serving import connect_warehouse
from avtale.settings import Paths
from tests.conftest import Database
from tests.daily_chain import evaluate, publish, today_in, zone_where_it_is

ACTOR = "sally"
LINES = [{"product": "Assist", "quantity": 10, "unit_price": 100, "billing_period": "monthly"}]


def make_contract(db: Database, name: str = "Bølgen AS", **terms: Any) -> int:
    values: dict[str, Any] = {
        "start_date": date(2024, 3, 1),
        "term_months": 12,
        "currency": "NOK",
        "auto_renew": True,
        "renewal_term_months": 12,
    } | terms
    with session_scope(db.engine) as session:
        customer = create_customer(session, ACTOR, {"name": name, "country": "NO"})
        version = create_contract(session, ACTOR, customer, values, LINES)
        return version.contract_id


def latest(db: Database, contract_id: int) -> Mapping[str, Any]:
    with session_scope(db.engine, readonly=True) as session:
        version = current_version(session.get_one(Contract, contract_id))
        return {
            "version_no": version.version_no,
            "effective_date": version.effective_date,
            "end_date": version.end_date,
            "auto_renew": version.auto_renew,
            "next_price_adjustment_date": version.next_price_adjustment_date,
            "prices": [line.unit_price for line in version.lines],
            "reason": version.reason,
        }


def test_auto_renewal_extends_by_the_renewal_term_month_end_safe(db: Database) -> None:
    contract_id = make_contract(db)  # 2024-03-01 .. 2025-02-28
    assert latest(db, contract_id)["end_date"] == date(2025, 2, 28)
    report = run_auto_renewals(db.engine, date(2025, 3, 1))
    assert report.counts()["renewed"] == 1
    after = latest(db, contract_id)
    assert after["end_date"] == term_end(date(2025, 3, 1), 12) == date(2026, 2, 28)
    assert after["effective_date"] == date(2025, 3, 1)
    assert after["version_no"] == 2
    assert after["prices"] == [Decimal(100)]
    assert after["reason"] == "Renewed for 2025-03-01–2026-02-28"
    with session_scope(db.engine, readonly=True) as session:
        renewal = session.scalars(select(Renewal)).one()
        assert (renewal.term_end, renewal.decision) == (date(2025, 2, 28), "auto_renewed")
        assert (
            session.scalar(
                select(func.count(AuditLog.id)).where(AuditLog.action == "renewal.auto_renewed")
            )
            == 1
        )


def test_fixed_percentage_raises_prices_exactly_when_due(db: Database) -> None:
    due = make_contract(
        db,
        "Due AS",
        price_adjustment_rule="fixed_pct",
        price_adjustment_pct=Decimal(5),
        next_price_adjustment_date=date(2025, 3, 1),
    )
    later = make_contract(
        db,
        "Later AS",
        price_adjustment_rule="fixed_pct",
        price_adjustment_pct=Decimal(5),
        next_price_adjustment_date=date(2025, 6, 1),
    )
    run_auto_renewals(db.engine, date(2025, 3, 5))
    assert latest(db, due)["prices"] == [Decimal("105.00")]
    assert latest(db, due)["next_price_adjustment_date"] == date(2026, 3, 1)
    assert latest(db, later)["prices"] == [Decimal(100)]
    assert latest(db, later)["next_price_adjustment_date"] == date(2025, 6, 1)
    assert latest(db, later)["end_date"] == date(2026, 2, 28)


def test_cpi_rule_uses_the_configured_percent(db: Database) -> None:
    contract_id = make_contract(
        db, price_adjustment_rule="cpi", next_price_adjustment_date=date(2025, 1, 1)
    )
    run_auto_renewals(db.engine, date(2025, 3, 1))
    assert latest(db, contract_id)["prices"] == [Decimal("103.00")]


def test_a_second_run_renews_nothing(db: Database) -> None:
    contract_id = make_contract(db)
    assert run_auto_renewals(db.engine, date(2025, 3, 1)).counts()["renewed"] == 1
    again = run_auto_renewals(db.engine, date(2025, 3, 1))
    assert again.counts()["renewed"] == 0
    assert latest(db, contract_id)["version_no"] == 2
    with session_scope(db.engine) as session:
        contract = session.get_one(Contract, contract_id)
        row = renew(session, ACTOR, contract, today=date(2025, 3, 1), term_end=date(2025, 2, 28))
        assert row.decision == "auto_renewed"
    assert latest(db, contract_id)["version_no"] == 2


def test_a_contract_several_terms_behind_is_caught_up(db: Database) -> None:
    contract_id = make_contract(db)
    assert run_auto_renewals(db.engine, date(2026, 4, 1)).counts()["renewed"] == 2
    assert latest(db, contract_id)["end_date"] == date(2027, 2, 28)


def test_manual_contracts_are_queued_not_renewed(db: Database) -> None:
    manual = make_contract(db, "Manual AS", auto_renew=False, renewal_term_months=None)
    far = make_contract(db, "Far AS", start_date=date(2024, 9, 1), auto_renew=False)
    auto = make_contract(db, "Auto AS", start_date=date(2024, 3, 15))
    with session_scope(db.engine, readonly=True) as session:
        due = due_renewals(session, date(2025, 2, 1))
    assert [(item.contract_id, item.kind) for item in due] == [
        (manual, "manual"),
        (auto, "automatic"),
    ]
    assert far not in {item.contract_id for item in due}
    assert due[0].mrr == Decimal(1000)
    run_auto_renewals(db.engine, date(2025, 3, 20))
    assert latest(db, manual)["version_no"] == 1
    assert latest(db, auto)["version_no"] == 2
    with session_scope(db.engine) as session:
        renew(session, ACTOR, session.get_one(Contract, manual), today=date(2025, 3, 20))
    assert latest(db, manual)["end_date"] == date(2026, 2, 28)  # term_months when no renewal term
    with session_scope(db.engine, readonly=True) as session:
        assert manual not in {i.contract_id for i in due_renewals(session, date(2025, 3, 20))}


def test_let_expire_turns_off_auto_renewal(db: Database) -> None:
    contract_id = make_contract(db)
    with session_scope(db.engine) as session:
        row = let_expire(
            session,
            ACTOR,
            session.get_one(Contract, contract_id),
            "Moving to a rival",
            today=date(2025, 2, 1),
        )
        assert (row.decision, row.note) == ("expired", "Moving to a rival")
        assert row.version_id is not None
    after = latest(db, contract_id)
    assert after["auto_renew"] is False and after["end_date"] == date(2025, 2, 28)
    assert run_auto_renewals(db.engine, date(2025, 3, 1)).counts()["renewed"] == 0
    with session_scope(db.engine, readonly=True) as session:
        assert due_renewals(session, date(2025, 3, 1)) == []
        assert session.get_one(Contract, contract_id).status == "active"


def test_renegotiation_decision_links_the_proposal(db: Database) -> None:
    with session_scope(db.engine) as session:
        library.install_defaults(session)
    contract_id = make_contract(db, auto_renew=False)
    with session_scope(db.engine) as session:
        row = start_renewal_renegotiation(
            session, ACTOR, session.get_one(Contract, contract_id), date(2025, 2, 1)
        )
        proposal = session.get_one(Proposal, row.proposal_id)
        assert (row.decision, proposal.kind, proposal.contract_id) == (
            "renegotiating",
            "renegotiation",
            contract_id,
        )
    with session_scope(db.engine, readonly=True) as session:
        assert due_renewals(session, date(2025, 2, 1)) == []


# --- the Dagster job and MRR in the warehouse ---------------------------------------------


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    monkeypatch.setenv("AVTALE_HOME", str(tmp_path))
    monkeypatch.delenv("AVTALE_DATABASE_URL", raising=False)
    home = Paths(tmp_path).ensure()
    migrate(database_url(home))
    return home


def test_the_renewals_job_twice_renews_once(home: Paths) -> None:
    from dagster_project.defs.renewals import renewals_job
    from dagster_project.defs.resources import AvtaleHome, OperationalDatabase

    engine = make_engine(database_url(home))
    db = Database("sqlite", database_url(home), engine)
    contract_id = make_contract(db)
    config = {"ops": {"renew_contracts": {"config": {"today": "2025-03-01"}}}}
    avtale = AvtaleHome(home=str(home.home))
    resources = {"avtale": avtale, "database": OperationalDatabase(avtale=avtale)}
    first = renewals_job.execute_in_process(run_config=config, resources=resources)
    second = renewals_job.execute_in_process(run_config=config, resources=resources)
    assert first.success and second.success
    assert first.output_for_node("renew_contracts") == 1
    assert second.output_for_node("renew_contracts") == 0
    assert latest(db, contract_id)["version_no"] == 2
    with session_scope(engine, readonly=True) as session:
        assert session.scalar(select(func.count(ContractVersion.id))) == 2
    engine.dispose()


def marts_warehouse(home: Paths) -> Paths:
    """A warehouse with an empty marts file: enough for a real publish."""
    connect_warehouse(home.warehouse).close()
    return home


def test_a_publish_before_the_morning_refresh_starts_no_renewals(
    home: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster_project.defs.daily import renew_after_morning_publish

    monkeypatch.setenv("AVTALE_TIMEZONE", zone_where_it_is(2))
    instance = dg.DagsterInstance.ephemeral()
    publish(instance, marts_warehouse(home).home)
    assert evaluate(renew_after_morning_publish, instance) == (
        "published before the morning refresh: renewals wait for it"
    )


def test_the_days_renewals_follow_its_morning_publish_and_start_one_refresh(
    home: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster_project.definitions import defs
    from dagster_project.defs.daily import DAY_TAG, refresh_after_renewals
    from dagster_project.defs.jobs import ALWAYS_PUBLISH
    from dagster_project.defs.resources import AvtaleHome

    zone = zone_where_it_is(10)
    monkeypatch.setenv("AVTALE_TIMEZONE", zone)
    day = today_in(zone).isoformat()
    db = Database("sqlite", database_url(home), make_engine(database_url(home)))
    contract_id = make_contract(db)
    instance = dg.DagsterInstance.ephemeral()
    renew_sensor = defs.resolve_sensor_def("renew_after_morning_publish")
    assert renew_sensor.job_name == "renewals"
    assert renew_sensor.default_status == dg.DefaultSensorStatus.RUNNING

    publish(instance, marts_warehouse(home).home)
    request = evaluate(renew_sensor, instance)
    assert isinstance(request, dg.RunRequest)
    assert (request.run_key, request.tags[DAY_TAG]) == (f"renewals-{day}", day)
    # A later publish the same day asks for the same run: Dagster starts one per run key.
    publish(instance, home.home)
    again = evaluate(renew_sensor, instance)
    assert isinstance(again, dg.RunRequest) and again.run_key == request.run_key

    job = defs.resolve_job_def("renewals")
    resources = {"avtale": AvtaleHome(home=str(home.home))}

    def renewals_run(tags: dict[str, str]) -> dg.ExecuteInProcessResult:
        result = job.execute_in_process(
            run_config=request.run_config, tags=tags, instance=instance, resources=resources
        )
        assert result.success
        return result

    def refresh_requested(run: dg.ExecuteInProcessResult) -> object:
        context = dg.build_run_status_sensor_context(
            sensor_name=refresh_after_renewals.name,
            dagster_event=run.get_run_success_event(),
            dagster_instance=instance,
            dagster_run=run.dagster_run,
        )
        return refresh_after_renewals(context)

    renewals = renewals_run(request.tags)
    assert renewals.output_for_node("renew_contracts") >= 1
    assert latest(db, contract_id)["version_no"] >= 2
    db.engine.dispose()
    refresh = refresh_requested(renewals)
    assert isinstance(refresh, dg.RunRequest)
    # It publishes even if the renewals changed nothing: the reminders wait for a publish.
    assert (refresh.run_key, refresh.tags) == (
        f"refresh-after-renewals-{day}",
        {DAY_TAG: day, **ALWAYS_PUBLISH},
    )
    assert defs.resolve_sensor_def(refresh_after_renewals.name).job_name == "refresh"
    # Renewals run by hand (no day) leave publishing to the refresh their writes start.
    assert isinstance(refresh_requested(renewals_run({})), dg.SkipReason)


@pytest.mark.slow
def test_mrr_has_no_churn_at_an_auto_renewal_and_shows_the_adjusted_price(home: Paths) -> None:
    from avtale.cli import refresh
    from avtale.serving import connect_serving

    engine = make_engine(database_url(home))
    db = Database("sqlite", database_url(home), engine)
    make_contract(
        db,
        start_date=date(2024, 1, 1),
        price_adjustment_rule="fixed_pct",
        price_adjustment_pct=Decimal(5),
        next_price_adjustment_date=date(2025, 1, 1),
    )

    def customer_months() -> dict[str, float]:
        assert refresh(home)
        with connect_serving(home.serving) as con:
            return dict(
                con.execute(
                    "SELECT strftime(month, '%Y-%m'), mrr FROM customer_months m "
                    "JOIN customers c USING (customer_id) WHERE c.source_system = 'app' "
                    "AND month <= DATE '2025-12-01' ORDER BY month"
                ).fetchall()
            )

    before = customer_months()  # the term ends 2024-12-31, not renewed yet
    assert run_auto_renewals(engine, date(2025, 1, 2)).counts()["renewed"] == 1
    engine.dispose()
    after = customer_months()
    every_month = [f"{year}-{month:02d}" for year in (2024, 2025) for month in range(1, 13)]
    # An auto-renewing contract is not churned at its end, before or after the renewal.
    assert all(before.get(month, 0) > 0 for month in every_month), before
    assert all(after[month] > 0 for month in every_month), after
    assert after["2024-01"] == after["2024-12"] == 1000
    assert after["2025-01"] == after["2025-12"] == 1050
