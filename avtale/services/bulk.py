"""Bulk operations (SPEC A4): co-terminate, price update, indexation. A preview is a read
(nothing is written) and comes back as a ``Preview``, or an ``Outcome`` with the errors;
applying it is one transaction checked against the versions the preview saw, and undoing
it is a reverse operation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.dates import today as business_today
from avtale.repository import adoption as adoption_repository
from avtale.repository import bulk, library
from avtale.repository.bulk import Preview as Preview
from avtale.repository.bulk import PreviewRow
from avtale.repository.contracts import current_version
from avtale.repository.models import KEPT_ORIGINS, BulkOperation, Contract, Customer
from avtale.repository.validation import ValidationError
from avtale.services import adoption
from avtale.services.contracts import mrr_on
from avtale.services.database import Database
from avtale.services.unit_of_work import EDIT, Outcome, reading, write
from avtale.serving import NotPublishedError, connect_serving

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


ASSET_COLUMNS = ["serial_number", "model", "location", "contract_id", "source_system", "customer"]
SOURCE_NAMES = {"hubspot": "HubSpot", "generic": "the accounting export", "odoo": "Odoo"}

# Installed assets (the installed_assets mart) with the contract covering each today: an
# adopted contract's app copy. Only running contracts can be co-terminated.
COVERED_ASSETS = """
select
    assets.serial_number,
    coalesce(assets.model, '') as model,
    coalesce(assets.location, '') as location,
    assets.covering_contract_id as contract_id,
    contracts.source_system,
    coalesce(customers.name, '') as customer,
from installed_assets as assets
inner join contracts on assets.covering_contract_id = contracts.contract_id
left join customers on contracts.customer_id = customers.customer_id
where contracts.status in ('active', 'future')
    and (len($serials::varchar[]) = 0 or list_contains($serials::varchar[], assets.serial_number))
order by assets.serial_number, assets.asset_key
"""


def covered_assets(serving: Path, serials: Sequence[str] = ()) -> pd.DataFrame:
    """The installed assets covered by a running contract (all of them, or those with these
    serial numbers): serial number, model, location, the contract's id in the marts, its
    source and customer (an unknown model, location or customer is ''). Empty when nothing is published (or published before assets)."""
    try:
        con = connect_serving(serving)
    except NotPublishedError:
        return pd.DataFrame(columns=ASSET_COLUMNS)
    try:
        return con.execute(COVERED_ASSETS, {"serials": list(serials)}).df()
    except duckdb.CatalogException:
        return pd.DataFrame(columns=ASSET_COLUMNS)
    finally:
        con.close()


def preview_by_assets(
    db: Database, serving: Path, serials: Sequence[str], end_date: date | None
) -> Preview | Outcome:
    """Co-terminate the contracts covering these installed assets (SPEC A4, R2). App
    contracts are previewed as by ``preview``; a CRM or accounting contract is listed with
    its lines from the marts and taken over into the app when the preview is applied, in
    the same transaction (``apply``), then co-terminated like the others."""
    try:
        if end_date is None:
            raise ValidationError({"end_date": "is required"})
        if not serials:
            raise ValidationError({"assets": "choose at least one installed asset"})
        covered = covered_assets(serving, serials)
        missing = sorted(set(serials) - set(covered.serial_number))
        if missing:
            raise ValidationError(
                {"assets": "not covered by a running contract: " + ", ".join(missing)}
            )
        contract_ids = sorted(set(covered.contract_id))
        numbers = [cid.removeprefix("app:") for cid in contract_ids if cid.startswith("app:")]
        exported = [
            found
            for cid in contract_ids
            if not cid.startswith("app:") and (found := adoption.exported(serving, cid)) is not None
        ]
        with reading(db) as session:
            if numbers:
                made = bulk.preview_co_terminate(session, _contracts(session, numbers), end_date)
            else:
                made = Preview("co_terminate", {}, business_today())
        rows, problems, taken = list(made.rows), list(made.problems), []
        for source in exported:
            planned = _export_rows(source, end_date, made.effective_date)
            if isinstance(planned, str):
                problems.append(planned)
            else:
                rows.extend(planned)
                taken.append(source)
        shown = ", ".join(sorted(serials)[:5]) + (
            f" and {len(serials) - 5} more" if len(serials) > 5 else ""
        )
        return replace(
            made,
            params={"end_date": end_date.isoformat(), "assets": shown},
            rows=rows,
            problems=problems,
            adopt_first=tuple(taken),
        )
    except ValidationError as invalid:
        return Outcome(errors=invalid.errors)


def _export_rows(
    source: adoption_repository.Exported, end_date: date, today: date
) -> list[PreviewRow] | str:
    """The running lines of an export's contract, before and after, for the preview; or why
    it is left out."""
    contract, cid = source.contract, str(source.contract["contract_id"])
    if contract.get("start_date") is not None and end_date < contract["start_date"]:
        return f"{cid}: starts {contract['start_date'].isoformat()}, after the end date: left out"
    rows = []
    for number, line in enumerate(source.lines, start=1):
        end = line.get("end_date")
        if end is not None and end < today:
            continue
        rate = float(line.get("fx_rate") or 1) or 1.0
        mrr = Decimal(str(round(float(line.get("line_mrr") or 0) / rate, 2)))
        price = Decimal(str(line.get("unit_price") or 0))
        rows.append(
            PreviewRow(
                contract_number=cid,
                customer=str(source.customer.get("name") or ""),
                line_no=number,
                product=str(line.get("product") or ""),
                currency=str(line.get("currency") or contract.get("currency") or ""),
                old_price=price,
                new_price=price,
                old_mrr=mrr,
                new_mrr=mrr,
                mrr_change=Decimal(0),
                old_end=end,
                new_end=end_date if end is None or end > end_date else end,
                note=f"taken over from {SOURCE_NAMES.get(contract['source_system'], 'its export')} first",
            )
        )
    return rows or f"{cid}: no line runs from today: left out"


def taking_over(made: Preview) -> str:
    """What applying will take over first, in a sentence ("" when nothing)."""
    if not made.adopt_first:
        return ""
    by_source: dict[str, list[str]] = {}
    for source in made.adopt_first:
        name = SOURCE_NAMES.get(str(source.contract["source_system"]), "an export")
        by_source.setdefault(name, []).append(str(source.contract["contract_id"]))
    parts = [
        f"{len(ids)} contract{'s' if len(ids) != 1 else ''} from {name} ({', '.join(ids)})"
        for name, ids in by_source.items()
    ]
    return (
        " and ".join(parts) + " will be taken over into Avtale first, in the same step. "
        "Undo sets their end dates back; they stay taken over."
    )


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
    """The previewed operation in one transaction; the CRM and accounting contracts it
    takes over (``Preview.adopt_first``) are adopted first in the same one, so either all
    of it happens or none of it."""

    def work(session: Session) -> Outcome:
        preview, taken = made, ""
        if made.adopt_first:
            adopted = [
                adoption_repository.adopt(session, actor, source, business_today())
                for source in made.adopt_first
            ]
            taken = (
                "Took over "
                + ", ".join(
                    f"{source.contract['contract_id']} as {contract.contract_number}"
                    for source, contract in zip(made.adopt_first, adopted, strict=True)
                )
                + ". "
            )
            end_date = date.fromisoformat(made.params["end_date"])
            more = bulk.preview_co_terminate(session, adopted, end_date)
            preview = replace(
                made,
                planned=[*made.planned, *more.planned],
                problems=[*made.problems, *more.problems],
            )
        operation = bulk.apply(session, actor, preview)
        label = bulk.KIND_LABELS[operation.kind]
        return Outcome(
            message=(
                f"{taken}Applied {label} #{operation.id} to {operation.contract_count} "
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
