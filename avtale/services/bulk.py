"""Bulk operations (SPEC A4): co-terminate, price update, indexation. A preview is a read
(nothing is written) and comes back as a ``Preview``, or an ``Outcome`` with the errors;
applying it is one transaction checked against the versions the preview saw, and undoing
it is a reverse operation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.dates import today as business_today
from avtale.repository import bulk, library
from avtale.repository.bulk import Preview as Preview
from avtale.repository.contracts import current_version
from avtale.repository.models import KEPT_ORIGINS, BulkOperation, Contract, Customer
from avtale.repository.validation import ValidationError
from avtale.services.contracts import mrr_on
from avtale.services.database import Database
from avtale.services.unit_of_work import EDIT, Outcome, reading, write

OPERATIONS = {
    "co_terminate": "Co-terminate",
    "price_update": "Price update",
    "indexation": "Indexation",
}
CONTRACT_COLUMNS = [
    "contract_number",
    "customer",
    "owner",
    "currency",
    "end_date",
    "price_adjustment_rule",
    "mrr",
]


# --- reads --------------------------------------------------------------------------


def active_contracts(db: Database) -> pd.DataFrame:
    """The active contracts Avtale keeps (made in it or taken over): number, customer,
    owner, currency, end date, price adjustment rule, MRR today; by number."""
    today = business_today()
    with reading(db) as session:
        found = session.scalars(
            select(Contract)
            .join(Customer)
            .where(Contract.status == "active", Contract.origin.in_(KEPT_ORIGINS))
            .order_by(Contract.contract_number)
        )
        rows = []
        for contract in found:
            terms = current_version(contract)
            rows.append(
                {
                    "contract_number": contract.contract_number,
                    "customer": contract.customer.name,
                    "owner": terms.owner or "",
                    "currency": terms.currency,
                    "end_date": terms.end_date,
                    "price_adjustment_rule": terms.price_adjustment_rule,
                    "mrr": float(mrr_on(contract, today)),
                }
            )
    return pd.DataFrame(rows, columns=CONTRACT_COLUMNS)


def price_lists(db: Database) -> list[str]:
    with reading(db) as session:
        return library.price_lists(session)


@dataclass(frozen=True)
class OperationSummary:
    """One bulk operation as the list of recent ones shows it."""

    id: int
    kind: str
    label: str
    params: dict[str, Any]
    effective_date: date
    applied_by: str
    applied_at: datetime
    contract_count: int
    mrr_change: dict[str, Decimal]  # per currency: amounts in different currencies never add
    undone_by_id: int | None
    undo_of_id: int | None


def recent(db: Database, limit: int = 20) -> list[OperationSummary]:
    """The latest operations, newest first."""
    with reading(db) as session:
        return [
            OperationSummary(
                id=operation.id,
                kind=operation.kind,
                label=bulk.KIND_LABELS[operation.kind],
                params=dict(operation.params or {}),
                effective_date=operation.effective_date,
                applied_by=operation.applied_by,
                applied_at=operation.applied_at,
                contract_count=operation.contract_count,
                mrr_change=bulk.mrr_change_by_currency(session, operation),
                undone_by_id=operation.undone_by_id,
                undo_of_id=operation.undo_of_id,
            )
            for operation in bulk.recent_operations(session, limit)
        ]


def _contracts(session: Session, numbers: Sequence[str]) -> list[Contract]:
    if not numbers:
        raise ValidationError({"contracts": "choose at least one contract"})
    found: list[Contract] = list(
        session.scalars(select(Contract).where(Contract.contract_number.in_(numbers)))
    )
    missing = sorted(set(numbers) - {contract.contract_number for contract in found})
    if missing:
        raise ValidationError({"contracts": "not found: " + ", ".join(missing)})
    return found


def preview(
    db: Database,
    kind: str,
    numbers: Sequence[str] = (),
    *,
    end_date: date | None = None,
    percent: str | None = None,
    price_list: str | None = None,
    effective_date: date | None = None,
) -> Preview | Outcome:
    """What the operation would do, computed without writing anything."""
    try:
        with reading(db) as session:
            if kind == "co_terminate":
                if end_date is None:
                    raise ValidationError({"end_date": "is required"})
                return bulk.preview_co_terminate(session, _contracts(session, numbers), end_date)
            if effective_date is None:
                raise ValidationError({"effective_date": "is required"})
            if kind == "price_update":
                return bulk.preview_price_update(
                    session,
                    _contracts(session, numbers),
                    percent=percent or None,
                    price_list=price_list or None,
                    effective_date=effective_date,
                )
            if kind == "indexation":
                if not percent:
                    raise ValidationError({"percent": "is required"})
                return bulk.preview_indexation(
                    session, percent=percent, effective_date=effective_date
                )
            raise ValidationError({"operation": f"unknown operation {kind}"})
    except ValidationError as invalid:
        return Outcome(errors=invalid.errors)


def preview_table(made: Preview) -> pd.DataFrame:
    """Every contract and line: old and new price (and end date), MRR before and after."""
    rows = [
        {
            "contract_number": row.contract_number,
            "customer": row.customer,
            "line_no": row.line_no,
            "product": row.product,
            "currency": row.currency,
            "old_price": float(row.old_price),
            "new_price": float(row.new_price),
            "old_end": row.old_end,
            "new_end": row.new_end,
            "old_mrr": float(row.old_mrr),
            "new_mrr": float(row.new_mrr),
            "mrr_change": float(row.mrr_change),
            "note": row.note,
        }
        for row in made.rows
    ]
    frame = pd.DataFrame(rows)
    if made.kind != "co_terminate" and not frame.empty:
        frame = frame.drop(columns=["old_end", "new_end"])
    return frame


# --- writes -------------------------------------------------------------------------


def apply(db: Database, actor: str, made: Preview) -> Outcome:
    def work(session: Session) -> Outcome:
        operation = bulk.apply(session, actor, made)
        label = bulk.KIND_LABELS[operation.kind]
        return Outcome(
            message=(
                f"Applied {label} #{operation.id} to {operation.contract_count} "
                f"contract{'s' if operation.contract_count != 1 else ''}."
            ),
            target=str(operation.id),
        )

    return write(db, actor, EDIT, work)


def undo(db: Database, actor: str, operation_id: int, skip_changed: bool = False) -> Outcome:
    def work(session: Session) -> Outcome:
        operation = session.get(BulkOperation, operation_id)
        if operation is None:
            raise ValidationError({"operation": "was not found"})
        reverse = bulk.undo(session, actor, operation, skip_changed=skip_changed)
        return Outcome(
            message=f"Undid #{operation.id} by #{reverse.id} ({reverse.contract_count} contracts).",
            target=str(reverse.id),
        )

    return write(db, actor, EDIT, work)
