"""Bulk operations (SPEC A4): preview without writing, apply all or nothing, undo."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from avtale.repository import bulk, library
from avtale.repository.db import session_scope
from avtale.repository.models import (
    AuditLog,
    BulkOperation,
    Contract,
    ContractVersion,
)
from avtale.repository.service import (
    ValidationError,
    create_contract,
    create_customer,
    current_version,
    revise_contract,
    terminate_contract,
)
from tests.conftest import Database

ACTOR = "sally"
START = date(2025, 1, 1)
ON = date(2026, 1, 1)


def line(product: str, quantity: int, price: str, period: str, **extra: Any) -> dict[str, Any]:
    return {
        "product": product,
        "quantity": quantity,
        "unit_price": price,
        "billing_period": period,
    } | extra


def contract(session: Session, lines: list[dict[str, Any]], **terms: Any) -> Contract:
    customer = create_customer(session, ACTOR, {"name": terms.pop("customer", "Fjord AS")})
    values = {"start_date": START, "term_months": 24, "currency": "NOK"} | terms
    return create_contract(session, ACTOR, customer, values, lines).contract


@pytest.fixture
def two(db: Database) -> tuple[Database, int, int]:
    """A: 3 × 149 monthly, 1 × 300 quarterly, a 5000 one-off; B: 2 × 249 quarterly at 10 %
    off (prices as the catalogue names them, by name and by code)."""
    with session_scope(db.engine) as session:
        library.install_defaults(session)
        a = contract(
            session,
            [
                line("Assist licence", 3, "149", "monthly"),
                line("Custom work", 1, "300", "quarterly"),
                line("Onboarding", 1, "5000", "one_off"),
            ],
        )
        b = contract(
            session,
            [line("ASSIST-PLUS", 2, "249", "quarterly", discount_percent="10")],
            customer="Nord AS",
        )
        return db, a.id, b.id


def counts(db: Database) -> tuple[int, int, int]:
    with Session(db.engine) as session:
        return (
            session.scalar(select(func.count(ContractVersion.id))) or 0,
            session.scalar(select(func.count(AuditLog.id))) or 0,
            session.scalar(select(func.count(BulkOperation.id))) or 0,
        )


def contracts(session: Session, *ids: int) -> list[Contract]:
    return [session.get_one(Contract, contract_id) for contract_id in ids]


def prices(session: Session, contract_id: int) -> list[Decimal]:
    version = current_version(session.get_one(Contract, contract_id))
    return [line.unit_price for line in version.lines]


def test_previews_write_nothing(two: tuple[Database, int, int]) -> None:
    db, a, b = two
    before = counts(db)
    with session_scope(db.engine) as session:
        chosen = contracts(session, a, b)
        bulk.preview_price_update(session, chosen, percent=5, effective_date=ON)
        bulk.preview_price_update(session, chosen, price_list="partner", effective_date=ON)
        bulk.preview_co_terminate(session, chosen, date(2026, 6, 30))
        bulk.preview_indexation(session, percent="3.1", effective_date=ON)
    assert counts(db) == before


def test_price_update_by_five_percent_is_exact_to_the_cent(
    two: tuple[Database, int, int],
) -> None:
    db, a, b = two
    with session_scope(db.engine) as session:
        preview = bulk.preview_price_update(
            session, contracts(session, b, a), percent="5", effective_date=ON
        )
        # 149 → 156.45 (MRR 447 → 469.35); 300/quarter → 315 (100 → 105); one-off 5000 →
        # 5250 (no MRR); 249 → 261.45 at 2 × 90 % / 3 (149.40 → 156.87).
        assert [(r.contract_number, r.new_price, r.mrr_change) for r in preview.rows] == [
            (session.get_one(Contract, a).contract_number, Decimal("156.45"), Decimal("22.35")),
            (session.get_one(Contract, a).contract_number, Decimal("315.00"), Decimal("5")),
            (session.get_one(Contract, a).contract_number, Decimal("5250.00"), Decimal("0")),
            (session.get_one(Contract, b).contract_number, Decimal("261.45"), Decimal("7.47")),
        ]
        assert preview.totals_by_currency() == {
            "NOK": (Decimal("696.40"), Decimal("731.22"), Decimal("34.82"))
        }
        operation = bulk.apply(session, ACTOR, preview)
        assert (operation.kind, operation.contract_count) == ("price_update", 2)
        assert operation.mrr_change == Decimal("34.82")
    with Session(db.engine) as session:
        assert prices(session, a) == [Decimal("156.45"), Decimal("315"), Decimal("5250")]
        version = current_version(session.get_one(Contract, a))
        assert (version.version_no, version.effective_date) == (2, ON)
        assert version.reason == f"Bulk price_update #{operation.id}"
        stored = session.get_one(BulkOperation, operation.id)
        assert stored.mrr_change == Decimal("34.82")
        assert [pair["contract_id"] for pair in stored.versions] == [a, b]
        entry = session.scalars(
            select(AuditLog).where(AuditLog.action == "bulk.price_update")
        ).one()
        assert entry.entity_id == str(operation.id)


def test_price_list_update_takes_catalogue_prices_and_flags_the_rest(
    two: tuple[Database, int, int],
) -> None:
    db, a, b = two
    with session_scope(db.engine) as session:
        preview = bulk.preview_price_update(
            session, contracts(session, a, b), price_list="partner", effective_date=ON
        )
        # Assist licence by name (119 NOK), ASSIST-PLUS by code (199 NOK); the rest stay.
        assert [(r.product, r.new_price, r.note != "") for r in preview.rows] == [
            ("Assist licence", Decimal("119"), False),
            ("Custom work", Decimal("300"), True),
            ("Onboarding", Decimal("5000"), True),
            ("ASSIST-PLUS", Decimal("199"), False),
        ]
        assert any("Custom work" in problem for problem in preview.problems)
        # 3 × (119 - 149) + 2 × 0.9 × (199 - 249) / 3 = -90 - 30
        assert preview.totals_by_currency()["NOK"][2] == Decimal("-120")
        bulk.apply(session, ACTOR, preview)
    with Session(db.engine) as session:
        assert prices(session, a) == [Decimal("119"), Decimal("300"), Decimal("5000")]
        assert prices(session, b) == [Decimal("199")]


def test_indexation_picks_only_due_contracts_whose_rule_says_so(db: Database) -> None:
    monthly = [line("Assist licence", 1, "100", "monthly")]
    with session_scope(db.engine) as session:
        cpi = contract(
            session,
            monthly,
            price_adjustment_rule="cpi",
            next_price_adjustment_date=date(2026, 1, 1),
        )
        fixed = contract(
            session,
            monthly,
            price_adjustment_rule="fixed_pct",
            price_adjustment_pct="2.5",
            next_price_adjustment_date=date(2025, 12, 1),
        )
        later = contract(
            session,
            monthly,
            price_adjustment_rule="cpi",
            next_price_adjustment_date=date(2026, 2, 1),
        )
        contract(session, monthly)  # no rule
        stopped = contract(
            session,
            monthly,
            price_adjustment_rule="cpi",
            next_price_adjustment_date=date(2025, 6, 1),
        )
        terminate_contract(session, ACTOR, stopped, date(2025, 6, 30), "moved")
        numbers = {cpi.contract_number, fixed.contract_number}
        assert later.contract_number not in numbers
    with session_scope(db.engine) as session:
        preview = bulk.preview_indexation(session, percent="3.1", effective_date=ON)
        assert {row.contract_number: row.new_price for row in preview.rows} == {
            cpi.contract_number: Decimal("103.10"),
            fixed.contract_number: Decimal("102.50"),
        }
        assert preview.totals_by_currency()["NOK"][2] == Decimal("5.60")
        bulk.apply(session, ACTOR, preview)
    with Session(db.engine) as session:
        version = current_version(session.get_one(Contract, cpi.id))
        assert version.next_price_adjustment_date == date(2027, 1, 1)
        fixed_version = current_version(session.get_one(Contract, fixed.id))
        assert fixed_version.next_price_adjustment_date == date(2026, 12, 1)
        assert prices(session, later.id) == [Decimal("100")]


def test_co_terminate_aligns_end_dates_and_line_ends_only(db: Database) -> None:
    end = date(2026, 6, 30)
    with session_scope(db.engine) as session:
        a = contract(
            session,
            [
                line("Assist licence", 1, "100", "monthly"),
                line("Support", 1, "50", "monthly", end_date="2026-12-31"),
                line("Training", 1, "10", "monthly", end_date="2025-12-31"),
            ],
            auto_renew=True,
        )
        b = contract(session, [line("Assist licence", 1, "100", "monthly")], term_months=36)
        preview = bulk.preview_co_terminate(session, [a, b], end)
        assert preview.totals_by_currency()["NOK"][2] == 0
        assert [(r.line_no, r.old_end, r.new_end) for r in preview.rows[:3]] == [
            (1, None, end),
            (2, date(2026, 12, 31), end),
            (3, date(2025, 12, 31), date(2025, 12, 31)),
        ]
        operation = bulk.apply(session, ACTOR, preview)
        assert operation.params == {"end_date": "2026-06-30"}
    with Session(db.engine) as session:
        va = current_version(session.get_one(Contract, a.id))
        vb = current_version(session.get_one(Contract, b.id))
        assert (va.end_date, vb.end_date) == (end, end)
        assert [ln.end_date for ln in va.lines] == [None, end, date(2025, 12, 31)]
        assert va.auto_renew is True  # kept: co-termination aligns end dates only


def test_apply_refuses_when_a_contract_changed_since_the_preview(
    two: tuple[Database, int, int],
) -> None:
    db, a, b = two
    with session_scope(db.engine) as session:
        preview = bulk.preview_price_update(
            session, contracts(session, a, b), percent=5, effective_date=ON
        )
    with session_scope(db.engine) as session:
        terminate_contract(session, ACTOR, session.get_one(Contract, b), ON, "moved")
    before = counts(db)
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        bulk.apply(session, ACTOR, preview)
    number = preview.planned[1].contract_number
    assert number in refused.value.errors["contracts"]
    assert counts(db) == before


def test_a_failure_midway_leaves_nothing(two: tuple[Database, int, int]) -> None:
    db, a, _ = two
    # A second contract whose raised price would pass the largest unit price
    # (config/limits.yaml): its new version is refused after the first one was written.
    with session_scope(db.engine) as session:
        huge = contract(
            session, [line("Data centre", 1, "9600000", "yearly")], customer="Stor AS"
        ).id
    with session_scope(db.engine) as session:
        preview = bulk.preview_price_update(
            session, contracts(session, a, huge), percent=5, effective_date=ON
        )
    before = counts(db)
    with pytest.raises(ValidationError), session_scope(db.engine) as session:
        bulk.apply(session, ACTOR, preview)
    assert counts(db) == before
    with Session(db.engine) as session:
        assert prices(session, a) == [Decimal("149"), Decimal("300"), Decimal("5000")]


def test_undo_restores_the_previous_prices_and_is_audited(
    two: tuple[Database, int, int],
) -> None:
    db, a, b = two
    with session_scope(db.engine) as session:
        preview = bulk.preview_price_update(
            session, contracts(session, a, b), percent=5, effective_date=ON
        )
        operation_id = bulk.apply(session, ACTOR, preview).id
    with session_scope(db.engine) as session:
        reverse = bulk.undo(session, "ada", session.get_one(BulkOperation, operation_id))
        reverse_id = reverse.id
        assert reverse.mrr_change == Decimal("-34.82")
    with Session(db.engine) as session:
        assert prices(session, a) == [Decimal("149"), Decimal("300"), Decimal("5000")]
        assert prices(session, b) == [Decimal("249")]
        version = current_version(session.get_one(Contract, a))
        assert (version.version_no, version.reason) == (
            3,
            f"Bulk undo #{reverse_id} of #{operation_id}",
        )
        original = session.get_one(BulkOperation, operation_id)
        reverse = session.get_one(BulkOperation, reverse_id)
        assert (original.undone_by_id, reverse.undo_of_id, reverse.kind) == (
            reverse_id,
            operation_id,
            "undo",
        )
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "bulk.undo")).one()
        assert (entry.actor, entry.entity_id) == ("ada", str(reverse_id))
    with pytest.raises(ValidationError), session_scope(db.engine) as session:
        bulk.undo(session, "ada", session.get_one(BulkOperation, operation_id))


def test_undo_refuses_when_a_contract_changed_since_unless_told_to_skip(
    two: tuple[Database, int, int],
) -> None:
    db, a, b = two
    with session_scope(db.engine) as session:
        preview = bulk.preview_price_update(
            session, contracts(session, a, b), percent=5, effective_date=ON
        )
        operation_id = bulk.apply(session, ACTOR, preview).id
    with session_scope(db.engine) as session:
        revise_contract(
            session, ACTOR, session.get_one(Contract, b), {"sla": "99.9 %"}, None, ON, "SLA"
        )
        number_b = session.get_one(Contract, b).contract_number
    before = counts(db)
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        bulk.undo(session, "ada", session.get_one(BulkOperation, operation_id))
    assert number_b in refused.value.errors["contracts"]
    assert counts(db) == before
    with session_scope(db.engine) as session:
        reverse = bulk.undo(
            session, "ada", session.get_one(BulkOperation, operation_id), skip_changed=True
        )
        assert reverse.params["skipped"] == [number_b]
    with Session(db.engine) as session:
        assert prices(session, a) == [Decimal("149"), Decimal("300"), Decimal("5000")]
        assert prices(session, b) == [Decimal("261.45")]


def test_a_preview_over_two_currencies_never_adds_them(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The case: "MRR +600.10" was DKK 591.25 + EUR 8.85 added up.
    monkeypatch.setenv("AVTALE_HOME", str(tmp_path))  # no serving copy: the built-in rates
    with session_scope(db.engine) as session:
        dkk = contract(session, [line("Assist licence", 25, "473", "monthly")], currency="DKK")
        eur = contract(
            session, [line("Assist licence", 1, "177", "monthly")], currency="EUR", customer="Eu"
        )
        preview = bulk.preview_price_update(session, [dkk, eur], percent=5, effective_date=ON)
        assert preview.totals_by_currency() == {
            "DKK": (Decimal("11825"), Decimal("12416.25"), Decimal("591.25")),
            "EUR": (Decimal("177"), Decimal("185.85"), Decimal("8.85")),
        }
        assert not hasattr(preview, "mrr_change")  # no total across currencies to misread
        operation = bulk.apply(session, ACTOR, preview)
        assert bulk.mrr_change_by_currency(session, operation) == {
            "DKK": Decimal("591.25"),
            "EUR": Decimal("8.85"),
        }
        # The one stored figure is in the reporting currency at the planning rates (dbt
        # seed fx_rates_default: DKK 1.55, EUR 11.6), as the marts state MRR.
        assert operation.mrr_change == Decimal("591.25") * Decimal("1.55") + Decimal(
            "8.85"
        ) * Decimal("11.6")
        reverse = bulk.undo(session, "ada", operation)
        assert bulk.mrr_change_by_currency(session, reverse) == {
            "DKK": Decimal("-591.25"),
            "EUR": Decimal("-8.85"),
        }


def test_a_contract_in_a_currency_without_a_planning_rate_is_left_out(db: Database) -> None:
    with session_scope(db.engine) as session:
        nok = contract(session, [line("Assist licence", 1, "100", "monthly")])
        # Made before the app refused such currencies: the column holds what it holds.
        gbp = contract(session, [line("Assist licence", 1, "100", "monthly")], customer="Uk")
        current_version(gbp).currency = "GBP"
        session.flush()
        preview = bulk.preview_price_update(session, [nok, gbp], percent=5, effective_date=ON)
        assert [plan.contract_number for plan in preview.planned] == [nok.contract_number]
        assert f"{gbp.contract_number}: GBP has no planning rate: left out" in preview.problems
