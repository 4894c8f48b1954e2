"""Sales ops act on CRM and accounting contracts (issue 14, item 1): the first action adopts
the contract (``avtale.repository.adoption``), then works on the app's copy like on any app
contract: renegotiate, renew, terminate with reason, co-terminate, re-price. Renewing and
terminating take the contract over in the same transaction as the action itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.dates import today
from avtale.repository import adoption
from avtale.repository.models import Contract
from avtale.services import agreements, contracts, renewals
from avtale.services.database import Database
from avtale.services.unit_of_work import EDIT, Outcome, reading, refused, write
from avtale.serving import connect_serving

CONTRACT = "select * from contracts where contract_id = $id"
CUSTOMER = "select * from customers where customer_id = $id"
LINES = "select * from contract_lines where contract_id = $id order by start_date, line_id"


def exported(serving: Path, contract_id: str) -> adoption.Exported | None:
    """The contract as the published marts hold it, with its customer and lines."""
    con = connect_serving(serving)
    try:
        contract = _rows(con.execute(CONTRACT, {"id": contract_id}))
        if not contract:
            return None
        customer = _rows(con.execute(CUSTOMER, {"id": contract[0]["customer_id"]}))
        lines = _rows(con.execute(LINES, {"id": contract_id}))
    finally:
        con.close()
    return adoption.Exported(contract[0], customer[0] if customer else {}, lines)


def _rows(cursor: Any) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def adopted_contracts(db: Database) -> dict[str, str]:
    """Every adopted contract: the export's id (``hubspot:456``) -> the app's number."""
    with reading(db) as session:
        return {
            str(row.source_ref): row.contract_number
            for row in session.execute(
                select(Contract.source_ref, Contract.contract_number).where(
                    Contract.source_ref.is_not(None)
                )
            )
        }


def adopt(db: Database, actor: str, serving: Path, contract_id: str) -> Outcome:
    """The app's copy of an export's contract, made on first use; its number in ``target``."""
    return _adopted_then(db, actor, serving, contract_id, None)


def terminate(
    db: Database,
    actor: str,
    serving: Path,
    contract_id: str,
    terminated_date: date | None,
    reason: str,
    circumstances: str,
) -> Outcome:
    """Adopt the contract if needed and terminate the app's copy, in one transaction: a
    termination refused (no reason, a last day before the take-over) takes nothing over."""
    return _adopted_then(
        db,
        actor,
        serving,
        contract_id,
        lambda session, contract: contracts.terminated(
            session, actor, contract, terminated_date, reason, circumstances
        ),
    )


def renew(
    db: Database, actor: str, serving: Path, contract_id: str, months: int | None = None
) -> Outcome:
    """Adopt the contract if needed and renew the app's copy for its renewal term (or
    ``months``, which one without a renewal term needs), in one transaction."""
    return _adopted_then(
        db,
        actor,
        serving,
        contract_id,
        lambda session, contract: renewals.renewed(session, actor, contract, None, today(), months),
    )


def _adopted_then(
    db: Database,
    actor: str,
    serving: Path,
    contract_id: str,
    act: Callable[[Session, Contract], Outcome] | None,
) -> Outcome:
    """Adopt ``contract_id`` (or find the copy made before), then ``act`` on the copy, all in
    one transaction; without ``act``, say what the adoption did."""
    source = exported(serving, contract_id)
    if source is None:
        return refused(f"{contract_id} is not in the published data")

    def work(session: Session) -> Outcome:
        made_before = adoption.adopted(session, contract_id) is not None
        contract = adoption.adopt(session, actor, source, today())
        number = contract.contract_number
        if made_before:
            taken = f"{contract_id} is {number} in Avtale."
        else:
            taken = (
                f"{contract_id} is taken over as {number}: from today Avtale counts this "
                "copy, and later exports of it are compared, not applied."
            )
        if act is None:
            return Outcome(message=taken, target=number)
        done = act(session, contract)
        return Outcome(message=f"{taken} {done.message}", target=number, detail=done.detail)

    return write(db, actor, EDIT, work)


def renegotiate(db: Database, actor: str, serving: Path, contract_id: str) -> Outcome:
    """Adopt the contract if needed, then open a renegotiation of it (seed 004)."""
    taken = adopt(db, actor, serving, contract_id)
    if not taken.ok or taken.target is None:
        return taken
    started = agreements.start_renegotiation(db, actor, taken.target)
    if not started.ok:
        return started
    return Outcome(message=f"{taken.message} {started.message}", target=started.target)
