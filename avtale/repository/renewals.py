"""Renewals (SPEC VI A3): auto-renewing contracts renew at their end; the others wait in a
queue where sales ops renew, renegotiate or let them expire.

A renewal is a new version (``revise_contract``) effective the day after the term ends,
with the end date moved on by the renewal term and, where a price adjustment rule is due,
the adjusted prices. What became of each term's end is one ``Renewal`` row, unique per
contract and term end: renewing twice, or the job running twice, writes nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from avtale.dates import add_months
from avtale.dates import today as business_today
from avtale.repository.agreements import start_renegotiation
from avtale.repository.audit import record, snapshot
from avtale.repository.contracts import revise_contract
from avtale.repository.db import session_scope
from avtale.repository.models import (
    KEPT_ORIGINS,
    Contract,
    ContractVersion,
    Proposal,
    Renewal,
)
from avtale.repository.terms import term_end as term_end_of
from avtale.repository.terms import values_of
from avtale.repository.validation import ValidationError, raise_if, require_actor
from avtale.rules.loading import config_file
from avtale.settings import Paths, RenewalSettings, load_renewals, paths
from avtale.valuation import version_mrr_on

# The actor of the audit rows the unattended run writes.
SYSTEM_ACTOR = "renewals"
CENT = Decimal("0.01")


def renewal_settings(home: Paths | None = None) -> RenewalSettings:
    """``renewals.yaml`` of the data folder (``$AVTALE_HOME`` unless given), else the shipped."""
    return load_renewals(config_file((home or paths()).home, "renewals.yaml"))


def cpi_percent(home: Paths | None = None) -> Decimal:
    """The CPI change (percent) applied to contracts with the ``cpi`` rule."""
    return renewal_settings(home).cpi_percent


@dataclass(frozen=True)
class Due:
    """One contract whose current term ends within the horizon (or has ended)."""

    contract_id: int
    contract_number: str
    customer: str
    term_end: date
    kind: str  # "automatic" or "manual"
    mrr: Decimal
    currency: str
    renewal_term_months: int | None


def _latest(contract: Contract) -> ContractVersion:
    return max(contract.versions, key=lambda version: version.version_no)


def due_renewals(session: Session, today: date, horizon_days: int | None = None) -> list[Due]:
    """Contracts Avtale keeps (made in it or taken over; active) whose current term ends within
    ``horizon_days`` of ``today`` (default: ``horizon_days`` in renewals.yaml) or has ended,
    and that nobody decided on yet; by term end."""
    if horizon_days is None:
        horizon_days = renewal_settings().horizon_days
    horizon = today + timedelta(days=horizon_days)
    contracts = session.scalars(
        select(Contract)
        .where(Contract.origin.in_(KEPT_ORIGINS), Contract.status == "active")
        .options(
            selectinload(Contract.versions).selectinload(ContractVersion.lines),
            selectinload(Contract.customer),
        )
    ).all()
    decided = {
        (row.contract_id, row.term_end)
        for row in session.execute(select(Renewal.contract_id, Renewal.term_end))
    }
    due = []
    for contract in contracts:
        version = _latest(contract)
        end = version.end_date
        if end is None or version.terminated_date is not None or end > horizon:
            continue
        if (contract.id, end) in decided:
            continue
        due.append(
            Due(
                contract_id=contract.id,
                contract_number=contract.contract_number,
                customer=contract.customer.name,
                term_end=end,
                kind="automatic" if version.auto_renew else "manual",
                # What the contract is worth on its last day: what renewing it keeps.
                mrr=version_mrr_on(version, end),
                currency=version.currency,
                renewal_term_months=version.renewal_term_months or version.term_months,
            )
        )
    return sorted(due, key=lambda item: (item.term_end, item.contract_number))


def _decided(session: Session, contract: Contract, term_end: date) -> Renewal | None:
    return session.scalar(
        select(Renewal).where(Renewal.contract_id == contract.id, Renewal.term_end == term_end)
    )


def _term(
    session: Session, contract: Contract, term_end: date | None
) -> tuple[date, ContractVersion]:
    session.refresh(contract)
    version = _latest(contract)
    end = term_end or version.end_date
    errors: dict[str, str] = {}
    if end is None:
        errors["contract"] = "has no end date: there is no term to renew"
    if contract.status != "active" or version.terminated_date is not None:
        errors["contract"] = f"is {contract.status}: only active contracts are renewed"
    raise_if(errors)
    assert end is not None
    return end, version


def _record(
    session: Session, actor: str, contract: Contract, term_end: date, decision: str, **values: Any
) -> Renewal:
    renewal = Renewal(
        contract_id=contract.id, term_end=term_end, decision=decision, decided_by=actor, **values
    )
    session.add(renewal)
    session.flush()
    record(session, actor, f"renewal.{decision}", "renewal", renewal.id, None, snapshot(renewal))
    return renewal


def renewed_terms(
    version: ContractVersion, cpi: Decimal | None = None, months: int | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]], date, date]:
    """The changes and lines of the version that renews ``version``'s term for ``months``
    (default: its renewal term, else its term), and the new term's first and last day."""
    old_end = version.end_date
    if months is not None and not 1 <= months <= 120:
        raise ValidationError({"renewal_term_months": "must be from 1 to 120 months"})
    months = months or version.renewal_term_months or version.term_months
    if old_end is None or not months:
        raise ValidationError(
            {"renewal_term_months": "is needed to renew: the contract has no renewal term"}
        )
    start = old_end + timedelta(days=1)
    end = term_end_of(start, months)
    changes: dict[str, Any] = {"end_date": end}
    percent: Decimal | None = None
    rule, next_date = version.price_adjustment_rule, version.next_price_adjustment_date
    if next_date is not None and next_date <= start:
        if rule == "fixed_pct":
            percent = version.price_adjustment_pct
        elif rule == "cpi":
            percent = cpi if cpi is not None else cpi_percent()
    if percent is not None:
        changes["next_price_adjustment_date"] = add_months(next_date, 12)  # type: ignore[arg-type]
    lines = []
    for line in version.lines:
        values = values_of(line)
        if values["end_date"] == old_end:
            values["end_date"] = end
        if percent is not None and (values["end_date"] is None or values["end_date"] >= start):
            values["unit_price"] = (values["unit_price"] * (1 + percent / 100)).quantize(
                CENT, rounding=ROUND_HALF_UP
            )
        lines.append({"line_no": line.line_no, **values})
    return changes, lines, start, end


def renew(
    session: Session,
    actor: str,
    contract: Contract,
    *,
    today: date,
    term_end: date | None = None,
    decision: str = "renewed",
    cpi: Decimal | None = None,
    months: int | None = None,
) -> Renewal:
    """Renew the term ending ``term_end`` (default: the current one) for another renewal
    term (or ``months``, which a contract without one needs): a new version effective the
    day after, prices adjusted where the rule is due. Idempotent: a term already decided
    on returns its row and writes nothing."""
    actor = require_actor(actor)
    end, version = _term(session, contract, term_end)
    existing = _decided(session, contract, end)
    if existing is not None:
        return existing
    if version.end_date != end:
        raise ValidationError({"term_end": f"the current term ends {version.end_date}, not {end}"})
    changes, lines, start, new_end = renewed_terms(version, cpi, months)
    if months is not None:
        changes["renewal_term_months"] = months  # the next renewal needs no asking
    new = revise_contract(
        session,
        actor,
        contract,
        changes=changes,
        lines=lines,
        effective_date=max(start, version.effective_date),
        reason=f"Renewed for {start.isoformat()}–{new_end.isoformat()}",
    )
    return _record(session, actor, contract, end, decision, version_id=new.id)


def start_renewal_renegotiation(
    session: Session, actor: str, contract: Contract, today: date, *, term_end: date | None = None
) -> Renewal:
    """Take the term's end into renegotiation: a renegotiation proposal (the new agreement
    flow) linked to the renewal row."""
    actor = require_actor(actor)
    end, _ = _term(session, contract, term_end)
    existing = _decided(session, contract, end)
    if existing is not None:
        return existing
    proposal = start_renegotiation(session, actor, contract, today=today)
    return _record(session, actor, contract, end, "renegotiating", proposal_id=proposal.id)


def let_expire(
    session: Session,
    actor: str,
    contract: Contract,
    note: str | None,
    *,
    today: date | None = None,
    term_end: date | None = None,
) -> Renewal:
    """Let the contract end at its end date: recorded with why, auto-renewal switched off by
    a new version if it was on. No termination: the contract simply ends."""
    actor = require_actor(actor)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "say why the contract is let expire"})
    end, version = _term(session, contract, term_end)
    existing = _decided(session, contract, end)
    if existing is not None:
        return existing
    version_id = None
    if version.auto_renew:
        new = revise_contract(
            session,
            actor,
            contract,
            changes={"auto_renew": False},
            lines=None,
            effective_date=max(version.effective_date, min(today or business_today(), end)),
            reason=f"Not renewed: ends {end.isoformat()} ({note})",
        )
        version_id = new.id
    return _record(session, actor, contract, end, "expired", version_id=version_id, note=note)


def proposal_number(session: Session, renewal: Renewal) -> str | None:
    if renewal.proposal_id is None:
        return None
    proposal = session.get(Proposal, renewal.proposal_id)
    return proposal.number if proposal is not None else None


@dataclass
class RenewalReport:
    renewed: list[str] = field(default_factory=list)
    already: int = 0
    waiting: int = 0  # automatic ones whose term has not ended yet
    failed: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "renewed": len(self.renewed),
            "already_renewed": self.already,
            "not_yet_ended": self.waiting,
            "failed": len(self.failed),
        }


def run_auto_renewals(
    engine: Engine,
    today: date,
    *,
    actor: str = SYSTEM_ACTOR,
    log: Callable[[str], None] = lambda _message: None,
) -> RenewalReport:
    """Renew every auto-renewing contract whose term has ended (term end before ``today``),
    each renewal in its own transaction; a contract several terms behind is caught up."""
    report = RenewalReport()
    cpi = cpi_percent()
    with session_scope(engine, readonly=True) as session:
        due = [item for item in due_renewals(session, today, 0) if item.kind == "automatic"]
    for item in due:
        term_end: date | None = item.term_end
        while term_end is not None and term_end < today:
            try:
                with session_scope(engine) as session:
                    contract = session.get_one(Contract, item.contract_id)
                    renewal = renew(
                        session,
                        actor,
                        contract,
                        today=today,
                        term_end=term_end,
                        decision="auto_renewed",
                        cpi=cpi,
                    )
                    version = session.get(ContractVersion, renewal.version_id)
                    term_end = version.end_date if version is not None else None
            except IntegrityError:
                report.already += 1  # another run renewed it in the meantime
                break
            except ValidationError as invalid:
                report.failed[item.contract_number] = "; ".join(
                    f"{key} {message}" for key, message in invalid.errors.items()
                )
                log(f"{item.contract_number}: not renewed: {report.failed[item.contract_number]}")
                break
            report.renewed.append(item.contract_number)
            log(f"{item.contract_number}: renewed the term ending {item.term_end}")
        else:
            if item.term_end >= today:
                report.waiting += 1
    return report
