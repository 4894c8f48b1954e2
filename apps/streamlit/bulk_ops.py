"""Reads and writes of bulk operations (SPEC A4): co-terminate, price update, indexation.

A preview is a read (nothing is written) and comes back as ``bulk.Preview``, or an
``Outcome`` with the errors; applying and undoing go like forms.py's writes: one audited
transaction with the ``edit_agreements`` permission, an ``Outcome`` out. No UI here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import ops_data
import pandas as pd
import streamlit as st
from forms import EDIT, Outcome, _write
from ops_data import TTL, Version
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from avtale.dates import today as business_today
from avtale.repository import bulk, service
from avtale.repository.contracts import current_version
from avtale.repository.db import session_scope
from avtale.repository.models import BulkOperation, Contract, Customer

OPERATIONS = {
    "co_terminate": "Co-terminate",
    "price_update": "Price update",
    "indexation": "Indexation",
}


def _read(url: str) -> Any:
    return session_scope(ops_data._engine(url), readonly=True)


@st.cache_data(ttl=TTL)
def active_contracts(url: str, version: Version) -> pd.DataFrame:
    """The active contracts made in the app: number, customer, owner, currency, end date,
    MRR today; by number."""
    today = business_today()
    with _read(url) as session:
        found = session.scalars(
            select(Contract)
            .join(Customer)
            .where(Contract.status == "active", Contract.origin == "app")
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
                    "mrr": float(ops_data.mrr_now(contract, today)),
                }
            )
    columns = [
        "contract_number",
        "customer",
        "owner",
        "currency",
        "end_date",
        "price_adjustment_rule",
        "mrr",
    ]
    return pd.DataFrame(rows, columns=columns)


def _contracts(session: Session, numbers: Sequence[str]) -> list[Contract]:
    if not numbers:
        raise service.ValidationError({"contracts": "choose at least one contract"})
    found: list[Contract] = list(
        session.scalars(select(Contract).where(Contract.contract_number.in_(numbers)))
    )
    missing = sorted(set(numbers) - {contract.contract_number for contract in found})
    if missing:
        raise service.ValidationError({"contracts": "not found: " + ", ".join(missing)})
    return found


def make_preview(
    engine: Engine,
    kind: str,
    numbers: Sequence[str] = (),
    *,
    end_date: date | None = None,
    percent: str | None = None,
    price_list: str | None = None,
    effective_date: date | None = None,
) -> bulk.Preview | Outcome:
    """What the operation would do, computed without writing anything."""
    try:
        with session_scope(engine, readonly=True) as session:
            if kind == "co_terminate":
                if end_date is None:
                    raise service.ValidationError({"end_date": "is required"})
                return bulk.preview_co_terminate(session, _contracts(session, numbers), end_date)
            if effective_date is None:
                raise service.ValidationError({"effective_date": "is required"})
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
                    raise service.ValidationError({"percent": "is required"})
                return bulk.preview_indexation(
                    session, percent=percent, effective_date=effective_date
                )
            raise service.ValidationError({"operation": f"unknown operation {kind}"})
    except service.ValidationError as invalid:
        return Outcome(errors=invalid.errors)


def preview_table(preview: bulk.Preview) -> pd.DataFrame:
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
        for row in preview.rows
    ]
    frame = pd.DataFrame(rows)
    if preview.kind != "co_terminate" and not frame.empty:
        frame = frame.drop(columns=["old_end", "new_end"])
    return frame


def apply(engine: Engine, actor: str, preview: bulk.Preview) -> Outcome:
    def work(session: Session) -> Outcome:
        operation = bulk.apply(session, actor, preview)
        label = bulk.KIND_LABELS[operation.kind]
        return Outcome(
            message=(
                f"Applied {label} #{operation.id} to {operation.contract_count} "
                f"contract{'s' if operation.contract_count != 1 else ''}."
            ),
            target=str(operation.id),
        )

    return _write(engine, actor, EDIT, work)


def undo(engine: Engine, actor: str, operation_id: int, skip_changed: bool = False) -> Outcome:
    def work(session: Session) -> Outcome:
        operation = session.get(BulkOperation, operation_id)
        if operation is None:
            raise service.ValidationError({"operation": "was not found"})
        reverse = bulk.undo(session, actor, operation, skip_changed=skip_changed)
        return Outcome(
            message=f"Undid #{operation.id} by #{reverse.id} ({reverse.contract_count} contracts).",
            target=str(reverse.id),
        )

    return _write(engine, actor, EDIT, work)


@st.cache_data(ttl=TTL)
def recent(url: str, version: Version, limit: int = 20) -> list[dict[str, Any]]:
    """The latest operations, newest first; ``mrr_change`` maps currency to change."""
    with _read(url) as session:
        return [
            {
                "id": operation.id,
                "kind": operation.kind,
                "label": bulk.KIND_LABELS[operation.kind],
                "params": dict(operation.params or {}),
                "effective_date": operation.effective_date,
                "applied_by": operation.applied_by,
                "applied_at": operation.applied_at,
                "contract_count": operation.contract_count,
                # Per currency: amounts in different currencies never add.
                "mrr_change": bulk.mrr_change_by_currency(session, operation),
                "undone_by_id": operation.undone_by_id,
                "undo_of_id": operation.undo_of_id,
            }
            for operation in bulk.recent_operations(session, limit)
        ]
