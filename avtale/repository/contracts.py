"""Versioned contracts (SPEC R2-R4, R6): a change never edits a version, it adds the next one."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from avtale.dates import today
from avtale.dates import today as business_today
from avtale.repository.audit import record, snapshot
from avtale.repository.limits import check_contract
from avtale.repository.models import (
    CONTRACT_ORIGINS,
    Contract,
    ContractLine,
    ContractVersion,
    Customer,
    InstalledAsset,
)
from avtale.repository.terms import (
    LINE_FIELDS,
    TERM_FIELDS,
    TERMINATION_FIELDS,
    check_terms,
    clean_lines,
    complete_terms,
    term_end,
    values_of,
)
from avtale.repository.validation import Field, clean, raise_if, require_actor

COMPARED_TERMS = tuple(TERM_FIELDS) + TERMINATION_FIELDS

VERSION_FIELDS = {
    "effective_date": Field("date", required=True),
    "reason": Field("text", required=True, max_length=2000),
    "approver": Field("text", max_length=64),
}
TERMINATION_INPUT = {
    "terminated_date": Field("date", required=True),
    "reason": Field("text", required=True),
    "circumstances": Field("text", max_length=10_000),
}
ASSET_FIELDS = {
    "serial_number": Field("text", required=True, max_length=100),
    "model": Field("text", max_length=100),
    "location": Field("text", max_length=200),
}

CONTRACT_NUMBER_FORMAT = "CT-{:06d}"


class Change(NamedTuple):
    """One difference between two versions: a term, a custom term or a line field."""

    field: str
    old: Any
    new: Any


def validate_contract(
    session: Session,
    customer: Customer,
    terms: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    *,
    contract_number: str | None = None,
    status: str = "active",
    origin: str = "app",
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The terms and lines of a new contract, parsed and completed, or ``ValidationError``."""
    errors: dict[str, str] = {}
    values = clean(terms, TERM_FIELDS, errors)
    complete_terms(values, customer)
    check_terms(values, errors)
    line_values = [line for _, line in clean_lines(lines, values.get("start_date"), errors)]
    check_contract(values, line_values, errors, today=today(), new=True)
    if customer.status != "active":
        errors["customer"] = f"is {customer.status}: restore the customer first"
    if status not in ("draft", "active"):
        errors["status"] = "a new contract is a draft or active"
    if origin not in CONTRACT_ORIGINS:
        errors["origin"] = "must be one of: " + ", ".join(CONTRACT_ORIGINS)
    if contract_number and session.scalar(
        select(Contract.id).where(Contract.contract_number == contract_number)
    ):
        errors["contract_number"] = f"{contract_number} is already used by another contract"
    raise_if(errors)
    return values, line_values


def create_contract(
    session: Session,
    actor: str,
    customer: Customer,
    terms: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    *,
    contract_number: str | None = None,
    status: str = "active",
    origin: str = "app",
    reason: str = "New contract",
) -> ContractVersion:
    """A new contract and its version 1, effective from the start date.

    Without a contract number it gets the next ``CT-000123``.
    """
    actor = require_actor(actor)
    values, line_values = validate_contract(
        session,
        customer,
        terms,
        lines,
        contract_number=contract_number,
        status=status,
        origin=origin,
    )
    # The number derives from the id, which exists only after the insert: a unique
    # placeholder covers the moment between, inside this transaction.
    contract = Contract(
        contract_number=contract_number or f"new-{uuid.uuid4().hex}",
        customer=customer,
        status=status,
        origin=origin,
    )
    session.add(contract)
    session.flush()
    if not contract_number:
        contract.contract_number = CONTRACT_NUMBER_FORMAT.format(contract.id)
    version = ContractVersion(
        contract=contract,
        version_no=1,
        effective_date=values["start_date"],
        reason=reason,
        author=actor,
        lines=[ContractLine(line_no=n, **line) for n, line in enumerate(line_values, 1)],
        **values,
    )
    session.add(version)
    session.flush()
    record(session, actor, "contract.create", "contract", contract.id, None, state(version))
    return version


def revise_contract(
    session: Session,
    actor: str,
    contract: Contract,
    changes: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]] | None,
    effective_date: date | str | None,
    reason: str | None,
    approver: str | None = None,
) -> ContractVersion:
    """The next version: the current terms with ``changes`` applied, and the new lines.

    ``lines=None`` keeps the current lines. A line that gives ``line_no`` (or, without one,
    names the product of a current line) continues that line, so ``compare_versions`` shows
    its field changes; other lines are new.
    """
    actor = require_actor(actor)
    previous = _lock_latest(session, contract)
    errors: dict[str, str] = {}
    meta = clean(
        {"effective_date": effective_date, "reason": reason, "approver": approver},
        VERSION_FIELDS,
        errors,
    )
    if meta["approver"] and meta["approver"] == actor:
        errors["approver"] = "must be someone else than the author"
    if meta["effective_date"] and meta["effective_date"] < previous.effective_date:
        errors["effective_date"] = (
            f"must not be before version {previous.version_no} took effect "
            f"({previous.effective_date.isoformat()})"
        )
    if contract.status == "terminated":
        errors["contract"] = "is terminated and cannot be revised"

    given = clean(changes, TERM_FIELDS, errors, partial=True)
    values = {key: getattr(previous, key) for key in TERM_FIELDS} | given
    if "end_date" not in given and {"start_date", "term_months"} & set(given):
        values["end_date"] = (
            term_end(values["start_date"], values["term_months"])
            if values["start_date"] and values["term_months"]
            else previous.end_date
        )
    complete_terms(values, contract.customer)
    check_terms(values, errors)
    cleaned: list[tuple[int | None, dict[str, Any]]] = []
    if lines is None:
        line_values = [(line.line_no, values_of(line)) for line in previous.lines]
    else:
        cleaned = clean_lines(lines, values.get("start_date"), errors, allow_line_no=True)
        line_values = _number_lines(session, contract, previous, cleaned, errors)
    # A revision answers for what it changes, not for the terms and lines it carries over.
    check_contract(
        {key: values[key] for key in given},
        [line for _, line in cleaned],
        errors,
        today=today(),
        new=False,
        currency=values["currency"],
    )
    if not errors and _unchanged(previous, values, line_values):
        errors["changes"] = "nothing changed: a new version needs at least one change"
    raise_if(errors)

    return _add_version(session, actor, "contract.revise", previous, values, line_values, meta)


def terminate_contract(
    session: Session,
    actor: str,
    contract: Contract,
    terminated_date: date | str | None,
    reason: str | None,
    circumstances: str | None = None,
) -> ContractVersion:
    """A new version that ends the contract on ``terminated_date`` (its last day, inclusive).

    The end date moves to the termination date, auto-renewal stops, lines end with it and
    lines that would only start later are dropped. The contract's status becomes terminated.
    """
    actor = require_actor(actor)
    previous = _lock_latest(session, contract)
    errors: dict[str, str] = {}
    given = clean(
        {"terminated_date": terminated_date, "reason": reason, "circumstances": circumstances},
        TERMINATION_INPUT,
        errors,
    )
    if contract.status == "terminated":
        errors["contract"] = "is already terminated"
    raise_if(errors)

    last_day: date = given["terminated_date"]
    values = {key: getattr(previous, key) for key in TERM_FIELDS}
    # An auto-renewing contract ended after its current term runs through the renewal
    # terms its notice binds it to; any other ends no later than its end date.
    runs_on = previous.auto_renew and previous.end_date and last_day > previous.end_date
    values |= {
        "end_date": last_day if runs_on else min(previous.end_date or last_day, last_day),
        "auto_renew": False,
        "terminated_date": last_day,
        "termination_reason": given["reason"],
        "termination_circumstances": given["circumstances"],
    }
    line_values = []
    for line in previous.lines:
        if line.start_date > last_day:
            continue
        kept = values_of(line)
        kept["end_date"] = min(line.end_date or last_day, last_day)
        line_values.append((line.line_no, kept))
    meta = {
        # In effect from when it is registered (today, for a future last day), or from the
        # last day itself when registered after the fact; never before the version it follows.
        "effective_date": max(previous.effective_date, min(last_day, business_today())),
        "reason": f"Terminated: {given['reason']}",
        "approver": None,
    }
    return _add_version(
        session, actor, "contract.terminate", previous, values, line_values, meta, "terminated"
    )


def add_installed_asset(
    session: Session, actor: str, contract: Contract, data: Mapping[str, Any]
) -> InstalledAsset:
    """Equipment covered by the contract (serial number, model, where it stands)."""
    actor = require_actor(actor)
    errors: dict[str, str] = {}
    values = clean(data, ASSET_FIELDS, errors)
    raise_if(errors)
    asset = InstalledAsset(contract=contract, **values)
    session.add(asset)
    session.flush()
    record(session, actor, "asset.create", "installed_asset", asset.id, None, snapshot(asset))
    return asset


def current_version(contract: Contract, on: date | None = None) -> ContractVersion:
    """The latest version, or with ``on`` the latest one already in effect on that day."""
    versions = contract.versions
    if on is not None:
        versions = [version for version in versions if version.effective_date <= on]
    if not versions:
        raise LookupError(f"{contract.contract_number} has no version in effect on {on}")
    return max(versions, key=lambda version: version.version_no)


def compare_versions(a: ContractVersion, b: ContractVersion) -> list[Change]:
    """What changed from ``a`` to ``b``: terms, custom terms (``custom_terms.<name>``) and
    lines (``line <n>.<field>``; a line only in one version is ``line <n>`` with its values).
    """
    if a.contract_id != b.contract_id:
        raise ValueError("versions of two different contracts cannot be compared")
    changes = [
        Change(key, getattr(a, key), getattr(b, key))
        for key in COMPARED_TERMS
        if key != "custom_terms" and getattr(a, key) != getattr(b, key)
    ]
    old_custom, new_custom = a.custom_terms or {}, b.custom_terms or {}
    for name in sorted(old_custom.keys() | new_custom.keys()):
        if old_custom.get(name) != new_custom.get(name):
            changes.append(
                Change(f"custom_terms.{name}", old_custom.get(name), new_custom.get(name))
            )
    old_lines = {line.line_no: values_of(line) for line in a.lines}
    new_lines = {line.line_no: values_of(line) for line in b.lines}
    for number in sorted(old_lines.keys() | new_lines.keys()):
        old, new = old_lines.get(number), new_lines.get(number)
        if old is None or new is None:
            changes.append(Change(f"line {number}", old, new))
            continue
        changes.extend(
            Change(f"line {number}.{key}", old[key], new[key])
            for key in LINE_FIELDS
            if old[key] != new[key]
        )
    return changes


def state(version: ContractVersion) -> dict[str, Any]:
    """The contract as of ``version``, as the audit log keeps it."""
    contract = snapshot(version.contract)
    contract["version"] = snapshot(version) | {
        "lines": [snapshot(line, exclude=("id", "version_id")) for line in version.lines]
    }
    return contract


def _lock_latest(session: Session, contract: Contract) -> ContractVersion:
    # Two people revising one contract at once must not both build on the same version:
    # lock the contract row (PostgreSQL; SQLite already serialises writers) and re-read.
    session.refresh(contract, with_for_update=True)
    latest = session.scalars(
        select(ContractVersion)
        .where(ContractVersion.contract_id == contract.id)
        .order_by(ContractVersion.version_no.desc())
        .limit(1)
    ).one()
    return latest


def _add_version(
    session: Session,
    actor: str,
    action: str,
    previous: ContractVersion,
    values: dict[str, Any],
    line_values: list[tuple[int, dict[str, Any]]],
    meta: dict[str, Any],
    status: str | None = None,
) -> ContractVersion:
    before = state(previous)
    if status is not None:
        previous.contract.status = status
    version = ContractVersion(
        contract=previous.contract,
        version_no=previous.version_no + 1,
        supersedes=previous,
        author=actor,
        lines=[ContractLine(line_no=number, **line) for number, line in line_values],
        **meta,
        **values,
    )
    session.add(version)
    session.flush()
    record(session, actor, action, "contract", previous.contract_id, before, state(version))
    return version


def _number_lines(
    session: Session,
    contract: Contract,
    previous: ContractVersion,
    cleaned: list[tuple[int | None, dict[str, Any]]],
    errors: dict[str, str],
) -> list[tuple[int, dict[str, Any]]]:
    """Line numbers for a revision: claimed ones first, then a current line of the same
    product, else a number never used on this contract."""
    current = {line.line_no: line.product for line in previous.lines}
    taken: set[int] = set()
    for index, (number, _) in enumerate(cleaned):
        if number is None:
            continue
        if number not in current:
            errors[f"lines[{index}].line_no"] = "is not a line of the current version"
        elif number in taken:
            errors[f"lines[{index}].line_no"] = "is given to two lines"
        taken.add(number)
    used = session.scalar(
        select(func.max(ContractLine.line_no))
        .join(ContractVersion)
        .where(ContractVersion.contract_id == contract.id)
    )
    next_free = (used or 0) + 1
    numbered = []
    for number, values in cleaned:
        if number is None:
            number = next(
                (
                    n
                    for n, product in current.items()
                    if n not in taken and product == values.get("product")
                ),
                None,
            )
        if number is None:
            number, next_free = next_free, next_free + 1
        taken.add(number)
        numbered.append((number, values))
    return sorted(numbered, key=lambda pair: pair[0])


def _unchanged(
    previous: ContractVersion,
    values: Mapping[str, Any],
    line_values: list[tuple[int, dict[str, Any]]],
) -> bool:
    same_terms = all(getattr(previous, key) == values[key] for key in TERM_FIELDS)
    old_lines = [(line.line_no, values_of(line)) for line in previous.lines]
    return same_terms and old_lines == line_values
