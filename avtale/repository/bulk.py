"""Bulk operations (SPEC A4): co-terminate, price update, indexation; previewed, applied
in one transaction, audited, and undone by a reverse operation.

A preview reads only. ``apply`` re-checks that every contract is still on the version the
preview saw and writes one new version per contract (``revise_contract``), the
``BulkOperation`` with the version pairs, and one audit row, in the caller's transaction:
any problem raises ``ValidationError`` and the caller's rollback leaves nothing behind.
Co-termination aligns end dates only: auto-renewal stays as each contract has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.dates import add_months
from avtale.dates import today as business_today
from avtale.repository.adoption import Exported
from avtale.repository.audit import jsonable, record, snapshot
from avtale.repository.contracts import current_version, revise_contract
from avtale.repository.limits import planning_rates
from avtale.repository.models import (
    KEPT_ORIGINS,
    BulkOperation,
    Contract,
    ContractLine,
    ContractVersion,
    Price,
    Product,
)
from avtale.repository.terms import TERM_FIELDS, values_of
from avtale.repository.validation import ValidationError, require_actor
from avtale.valuation import Term, line_mrr_on, version_mrr_on

CENT = Decimal("0.01")
KIND_LABELS = {
    "co_terminate": "co-termination",
    "price_update": "price update",
    "indexation": "indexation",
    "undo": "undo",
}


@dataclass(frozen=True)
class PreviewRow:
    """One line of one contract, before and after."""

    contract_number: str
    customer: str
    line_no: int
    product: str
    currency: str
    old_price: Decimal
    new_price: Decimal
    old_mrr: Decimal
    new_mrr: Decimal
    mrr_change: Decimal
    old_end: date | None = None
    new_end: date | None = None
    note: str = ""


@dataclass(frozen=True)
class Planned:
    """The new version one contract gets: term changes and (for prices) its lines."""

    contract_id: int
    contract_number: str
    version_id: int
    effective_date: date
    changes: dict[str, Any]
    lines: list[dict[str, Any]] | None
    mrr_change: Decimal


@dataclass(frozen=True)
class Preview:
    kind: str
    params: dict[str, Any]
    effective_date: date
    rows: list[PreviewRow] = field(default_factory=list)
    planned: list[Planned] = field(default_factory=list)
    # Contracts left out or lines left unchanged, and why.
    problems: list[str] = field(default_factory=list)
    # CRM and accounting contracts to take over into the app, in the same transaction,
    # before the operation applies to them too (co-termination by installed asset).
    adopt_first: tuple[Exported, ...] = ()

    def totals_by_currency(self) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
        """Currency -> (old MRR, new MRR, change): contracts in several currencies do not add."""
        totals: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
        for row in self.rows:
            old, new, change = totals.get(row.currency, (Decimal(0),) * 3)
            totals[row.currency] = (old + row.old_mrr, new + row.new_mrr, change + row.mrr_change)
        return totals

    @property
    def contract_count(self) -> int:
        return len(self.planned)


# --- previews (read only) -------------------------------------------------------------


def preview_co_terminate(
    session: Session, contracts: Iterable[Contract], end_date: date
) -> Preview:
    """Every contract to end on ``end_date``; lines with a later end date end with it.
    Auto-renewal is kept as it is: this aligns end dates only."""
    effective = business_today()
    rows: list[PreviewRow] = []
    planned: list[Planned] = []
    problems: list[str] = []
    for contract in _unique(contracts):
        version = _usable(contract, problems)
        if version is None:
            continue
        if end_date < version.start_date:
            problems.append(
                f"{contract.contract_number}: starts {version.start_date.isoformat()}, "
                "after the end date: left out"
            )
            continue
        if version.end_date == end_date:
            problems.append(f"{contract.contract_number}: already ends then: left out")
            continue
        lines, new_rows, bad = [], [], False
        on = max(effective, version.effective_date)
        term = Term.of(version)
        for line in version.lines:
            values = values_of(line)
            if line.start_date > end_date:
                problems.append(
                    f"{contract.contract_number} line {line.line_no}: starts after the end "
                    "date: contract left out"
                )
                bad = True
                break
            new = dict(values)
            if line.end_date is not None and line.end_date > end_date:
                new["end_date"] = end_date
            lines.append(new | {"line_no": line.line_no})
            mrr = line_mrr_on(values, on, term)
            new_rows.append(
                _row(
                    contract,
                    version,
                    line,
                    line.unit_price,
                    mrr,
                    mrr,
                    line.end_date,
                    new["end_date"] if line.end_date is not None else end_date,
                )
            )
        if bad:
            continue
        rows.extend(new_rows)
        planned.append(
            Planned(
                contract.id,
                contract.contract_number,
                version.id,
                on,
                {"end_date": end_date},
                lines,
                # Aligning end dates changes no price: what it ends shows in the months it ends.
                Decimal(0),
            )
        )
    return Preview(
        "co_terminate", {"end_date": end_date.isoformat()}, effective, rows, planned, problems
    )


def preview_price_update(
    session: Session,
    contracts: Iterable[Contract],
    *,
    percent: Decimal | int | str | None = None,
    price_list: str | None = None,
    effective_date: date,
) -> Preview:
    """New unit prices from ``effective_date``: the current ones changed by ``percent``, or
    the catalogue's prices on ``price_list`` (by product name or code, in the contract's
    currency; a line with no such price stays as it is and is flagged)."""
    if (percent is None) == (price_list is None):
        raise ValidationError({"percent": "give either a percentage or a price list"})
    pct = _percent(percent) if percent is not None else None
    catalogue = _catalogue(session, price_list) if price_list is not None else {}
    params: dict[str, Any] = (
        {"percent": str(pct)} if pct is not None else {"price_list": price_list}
    )
    preview = Preview("price_update", params, effective_date)
    for contract in _unique(contracts):
        version = _usable(contract, preview.problems, effective_date)
        if version is None:
            continue

        currency = version.currency

        def new_price(line: ContractLine, currency: str = currency) -> Decimal | None:
            if pct is not None:
                return _scaled(line.unit_price, pct)
            return catalogue.get((line.product.casefold(), currency))

        _plan_prices(preview, contract, version, new_price, effective_date, {})
    return preview


def preview_indexation(
    session: Session, *, percent: Decimal | int | str, effective_date: date
) -> Preview:
    """Every active contract Avtale keeps whose rule is CPI (by ``percent``) or a fixed percentage
    (by its own), due on or before ``effective_date``; its next adjustment moves a year on."""
    pct = _percent(percent)
    preview = Preview("indexation", {"percent": str(pct)}, effective_date)
    contracts = session.scalars(
        select(Contract)
        .where(Contract.status == "active", Contract.origin.in_(KEPT_ORIGINS))
        .order_by(Contract.contract_number)
    )
    for contract in contracts:
        version = current_version(contract)
        due = version.next_price_adjustment_date
        if version.price_adjustment_rule not in ("cpi", "fixed_pct") or due is None:
            continue
        if due > effective_date:
            continue
        rate: Decimal | None = (
            pct if version.price_adjustment_rule == "cpi" else version.price_adjustment_pct
        )
        if rate is None:
            preview.problems.append(f"{contract.contract_number}: no percentage: left out")
            continue
        checked = _usable(contract, preview.problems, effective_date)
        if checked is None:
            continue

        factor: Decimal = rate

        def new_price(line: ContractLine, factor: Decimal = factor) -> Decimal:
            return _scaled(line.unit_price, factor)

        next_due = due
        while next_due <= effective_date:
            next_due = add_months(next_due, 12)
        _plan_prices(
            preview,
            contract,
            version,
            new_price,
            effective_date,
            {"next_price_adjustment_date": next_due},
        )
    return preview


# --- apply and undo ---------------------------------------------------------------------


def apply(session: Session, actor: str, preview: Preview) -> BulkOperation:
    """The previewed change, written: one version per contract, the operation and its audit
    row. Refused, with nothing written, when any contract changed since the preview."""
    actor = require_actor(actor)
    if not preview.planned:
        raise ValidationError({"contracts": "no contract would change: nothing to apply"})
    contracts = {
        plan.contract_id: session.get(Contract, plan.contract_id) for plan in preview.planned
    }
    changed = [
        plan.contract_number
        for plan in preview.planned
        if (contract := contracts[plan.contract_id]) is None
        or contract.status != "active"
        or _latest_id(session, contract.id) != plan.version_id
    ]
    if changed:
        raise ValidationError(
            {"contracts": "changed since the preview, preview again: " + ", ".join(changed)}
        )
    operation = BulkOperation(
        kind=preview.kind,
        params=jsonable(preview.params),
        effective_date=preview.effective_date,
        applied_by=actor,
        contract_count=len(preview.planned),
        mrr_change=_in_reporting_currency(
            {currency: change for currency, (_, _, change) in preview.totals_by_currency().items()}
        ),
        versions=[],
    )
    session.add(operation)
    session.flush()
    pairs = []
    for plan in preview.planned:
        contract = contracts[plan.contract_id]
        assert contract is not None
        version = revise_contract(
            session,
            actor,
            contract,
            plan.changes,
            plan.lines,
            plan.effective_date,
            f"Bulk {preview.kind} #{operation.id}",
        )
        pairs.append(_pair(contract.id, plan.version_id, version.id))
    operation.versions = pairs
    session.flush()
    record(
        session,
        actor,
        f"bulk.{preview.kind}",
        "bulk_operation",
        operation.id,
        None,
        snapshot(operation) | {"problems": preview.problems},
    )
    return operation


def undo(
    session: Session, actor: str, operation: BulkOperation, *, skip_changed: bool = False
) -> BulkOperation:
    """The reverse operation: each contract still on the version ``operation`` made gets a
    new version with the terms and lines it had before. Refused, naming them, when any
    contract changed since, unless ``skip_changed`` (those are then left as they are)."""
    actor = require_actor(actor)
    if operation.kind == "undo":
        raise ValidationError({"operation": "an undo cannot be undone: apply the change again"})
    if operation.undone_by_id is not None:
        raise ValidationError(
            {"operation": f"#{operation.id} was already undone by #{operation.undone_by_id}"}
        )
    todo, changed = [], []
    for pair in operation.versions:
        contract = session.get(Contract, pair["contract_id"])
        assert contract is not None
        if (
            contract.status != "active"
            or _latest_id(session, contract.id) != pair["after_version_id"]
        ):
            changed.append(contract.contract_number)
        else:
            todo.append((contract, pair))
    if changed and not skip_changed:
        raise ValidationError({"contracts": "changed since the operation: " + ", ".join(changed)})
    if not todo:
        raise ValidationError({"contracts": "every contract changed since: nothing to undo"})
    reverse = BulkOperation(
        kind="undo",
        params={"undo_of": operation.id, "skipped": changed},
        effective_date=business_today(),
        applied_by=actor,
        contract_count=len(todo),
        mrr_change=Decimal(0),
        versions=[],
        undo_of_id=operation.id,
    )
    session.add(reverse)
    session.flush()
    pairs = []
    for contract, pair in todo:
        before = session.get(ContractVersion, pair["before_version_id"])
        after = session.get(ContractVersion, pair["after_version_id"])
        assert before is not None and after is not None
        terms = {key: getattr(before, key) for key in TERM_FIELDS}
        lines = [values_of(line) | {"line_no": line.line_no} for line in before.lines]
        on = after.effective_date
        version = revise_contract(
            session,
            actor,
            contract,
            terms,
            lines,
            on,
            f"Bulk undo #{reverse.id} of #{operation.id}",
        )
        pairs.append(_pair(contract.id, after.id, version.id))
    reverse.versions = pairs
    reverse.mrr_change = _in_reporting_currency(mrr_change_by_currency(session, reverse))
    operation.undone_by_id = reverse.id
    session.flush()
    record(session, actor, "bulk.undo", "bulk_operation", reverse.id, None, snapshot(reverse))
    return reverse


def mrr_change_by_currency(session: Session, operation: BulkOperation) -> dict[str, Decimal]:
    """Currency -> the change in MRR the operation made, from the versions before and after
    it on each contract's effective date: amounts in different currencies never add."""
    changes: dict[str, Decimal] = {}
    for pair in operation.versions:
        before = session.get(ContractVersion, pair["before_version_id"])
        after = session.get(ContractVersion, pair["after_version_id"])
        assert before is not None and after is not None
        on = after.effective_date
        change = version_mrr_on(after, on) - version_mrr_on(before, on)
        changes[after.currency] = changes.get(after.currency, Decimal(0)) + change
    return dict(sorted(changes.items()))


def recent_operations(session: Session, limit: int = 20) -> list[BulkOperation]:
    return list(
        session.scalars(select(BulkOperation).order_by(BulkOperation.id.desc()).limit(limit))
    )


# --- helpers ------------------------------------------------------------------------------


def _unique(contracts: Iterable[Contract]) -> list[Contract]:
    seen: dict[int, Contract] = {}
    for contract in contracts:
        seen.setdefault(contract.id, contract)
    return sorted(seen.values(), key=lambda contract: contract.contract_number)


def _usable(
    contract: Contract, problems: list[str], effective_date: date | None = None
) -> ContractVersion | None:
    if contract.status != "active":
        problems.append(f"{contract.contract_number}: is {contract.status}: left out")
        return None
    version = current_version(contract)
    if effective_date is not None and effective_date < version.effective_date:
        problems.append(
            f"{contract.contract_number}: version {version.version_no} takes effect "
            f"{version.effective_date.isoformat()}, after the date: left out"
        )
        return None
    if version.currency not in planning_rates():
        # Its MRR cannot be stated in the reporting currency, so neither can the change.
        problems.append(
            f"{contract.contract_number}: {version.currency} has no planning rate: left out"
        )
        return None
    return version


def _latest_id(session: Session, contract_id: int) -> int | None:
    return session.scalar(
        select(ContractVersion.id)
        .where(ContractVersion.contract_id == contract_id)
        .order_by(ContractVersion.version_no.desc())
        .limit(1)
    )


def _pair(contract_id: int, before: int, after: int) -> dict[str, int]:
    return {"contract_id": contract_id, "before_version_id": before, "after_version_id": after}


def _percent(value: Decimal | int | str) -> Decimal:
    try:
        pct = Decimal(str(value).replace(",", ".").strip())
    except ArithmeticError:
        raise ValidationError({"percent": "must be a number"}) from None
    if not pct.is_finite() or pct <= -100 or pct > 100:
        raise ValidationError({"percent": "must be more than -100 and at most 100"})
    return pct


def _scaled(price: Decimal, pct: Decimal) -> Decimal:
    """The price changed by ``pct`` %, to the cent (half up)."""
    return (price * (1 + pct / 100)).quantize(CENT, rounding=ROUND_HALF_UP)


def _catalogue(session: Session, price_list: str) -> dict[tuple[str, str], Decimal]:
    """(product name or code, casefolded; currency) -> unit price on ``price_list``."""
    prices: dict[tuple[str, str], Decimal] = {}
    found = session.execute(
        select(Product.code, Product.name, Price.currency, Price.unit_price)
        .join(Price, Price.product_id == Product.id)
        .where(Price.price_list == price_list)
    )
    for code, name, currency, price in found:
        prices[(name.casefold(), currency)] = price
        prices[(code.casefold(), currency)] = price
    if not prices:
        raise ValidationError({"price_list": f"the catalogue has no price list '{price_list}'"})
    return prices


def _in_reporting_currency(changes: Mapping[str, Decimal]) -> Decimal:
    """The operation's one figure (``BulkOperation.mrr_change``): the changes per currency
    at their planning rates, as the marts report MRR; ``mrr_change_by_currency`` tells
    them apart."""
    rates = planning_rates()
    missing = sorted(set(changes) - set(rates))
    if missing:
        raise ValidationError(
            {"contracts": f"{', '.join(missing)} has no planning rate: load an FX rates file"}
        )
    return sum((change * rates[currency] for currency, change in changes.items()), Decimal(0))


def _row(
    contract: Contract,
    version: ContractVersion,
    line: ContractLine,
    new_price: Decimal,
    old_mrr: Decimal,
    new_mrr: Decimal,
    old_end: date | None = None,
    new_end: date | None = None,
    note: str = "",
) -> PreviewRow:
    return PreviewRow(
        contract.contract_number,
        contract.customer.name,
        line.line_no,
        line.product,
        version.currency,
        line.unit_price,
        new_price,
        old_mrr,
        new_mrr,
        new_mrr - old_mrr,
        old_end,
        new_end,
        note,
    )


def _plan_prices(
    preview: Preview,
    contract: Contract,
    version: ContractVersion,
    new_price: Any,
    effective_date: date,
    changes: Mapping[str, Any],
) -> None:
    lines, rows, change = [], [], Decimal(0)
    term = Term.of(version)
    for line in version.lines:
        values = values_of(line)
        price = new_price(line)
        note = ""
        if price is None:
            price = line.unit_price
            note = "no catalogue price: unchanged"
            preview.problems.append(
                f"{contract.contract_number} line {line.line_no} ({line.product}): "
                f"no price on the list in {version.currency}: unchanged"
            )
        new = values | {"unit_price": price}
        old_mrr = line_mrr_on(values, effective_date, term)
        new_mrr = line_mrr_on(new, effective_date, term)
        change += new_mrr - old_mrr
        rows.append(_row(contract, version, line, price, old_mrr, new_mrr, note=note))
        lines.append(new | {"line_no": line.line_no})
    if all(row.old_price == row.new_price for row in rows) and not changes:
        preview.problems.append(f"{contract.contract_number}: no price changes: left out")
        return
    preview.rows.extend(rows)
    preview.planned.append(
        Planned(
            contract.id,
            contract.contract_number,
            version.id,
            effective_date,
            dict(changes),
            lines,
            change,
        )
    )


__all__ = [
    "KIND_LABELS",
    "Planned",
    "Preview",
    "PreviewRow",
    "apply",
    "mrr_change_by_currency",
    "preview_co_terminate",
    "preview_indexation",
    "preview_price_update",
    "recent_operations",
    "undo",
]
