"""Taking over a CRM or accounting contract (issue 14, item 1).

The first action sales ops take on a contract that came with an export (renegotiate,
renew, terminate, re-price) adopts it: its terms and the lines still running become
version 1 of an app contract, of an app customer that stands for the export's customer.
Both record what they took over (``source_ref``: the marts' id), the contract also the
load its terms came from and the day it was adopted. From that day the marts count the
app's copy instead of the export's rows, under the same customer id (dbt:
``int_contract_lines_priced``, ``int_contracts_unioned``), so MRR has neither a gap nor
a double count; later exports of the record are compared with it, not applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.repository import orgnumbers
from avtale.repository.audit import record, snapshot
from avtale.repository.contracts import create_contract
from avtale.repository.customers import create_customer
from avtale.repository.models import Contract, Customer
from avtale.repository.validation import ValidationError, raise_if, require_actor
from avtale.vocabulary import APP_BILLING_PERIODS, ONE_OFF

# The export's terms an app contract keeps (the contracts mart's names).
TERMS = (
    "owner",
    "currency",
    "signed_date",
    "start_date",
    "end_date",
    "term_months",
    "auto_renew",
    "renewal_term_months",
    "notice_months",
)
LINE_VALUES = (
    "product",
    "quantity",
    "unit_price",
    "discount_percent",
    "discount_end_date",
    "billing_period",
    "start_date",
    "end_date",
)


@dataclass(frozen=True)
class Exported:
    """A contract as the published marts hold it: ``contract`` and ``customer`` are rows of
    the contracts and customers marts, ``lines`` the contract's rows of contract_lines."""

    contract: Mapping[str, Any]
    customer: Mapping[str, Any]
    lines: Sequence[Mapping[str, Any]] = field(default_factory=list)


def adopted(session: Session, source_ref: str) -> Contract | None:
    """The app contract that took over the export's contract ``source_ref``, if any."""
    return session.scalar(select(Contract).where(Contract.source_ref == source_ref))


def adopt(session: Session, actor: str, exported: Exported, today: date) -> Contract:
    """The app contract for ``exported`` (made now, or the one made before). Refused, with
    the reason, for the app's own contracts, for one that has ended, and for lines the app
    cannot hold."""
    actor = require_actor(actor)
    source_ref = str(exported.contract["contract_id"])
    earlier = adopted(session, source_ref)
    if earlier is not None:
        return earlier
    terms = _terms(exported)
    lines = _running_lines(exported.lines, today)
    customer = _customer(session, actor, exported.customer)
    version = create_contract(
        session,
        actor,
        customer,
        terms,
        lines,
        origin="adopted",
        reason=f"Adopted from {source_ref}",
    )
    contract = version.contract
    before = snapshot(contract)
    contract.source_ref = source_ref
    contract.source_load_id = max(
        (int(line["load_id"]) for line in exported.lines if line.get("load_id") is not None),
        default=None,
    )
    contract.adopted_on = today
    session.flush()
    record(session, actor, "contract.adopt", "contract", contract.id, before, snapshot(contract))
    return contract


def _terms(exported: Exported) -> dict[str, Any]:
    contract = exported.contract
    errors: dict[str, str] = {}
    if contract.get("source_system") == "app":
        errors["contract"] = "is the app's own: act on it directly"
    elif contract.get("superseded_by"):
        errors["contract"] = f"was taken over by {contract['superseded_by']}"
    elif contract.get("status") in ("ended", "terminated"):
        errors["contract"] = f"has {contract['status']}: there is nothing to take over"
    raise_if(errors)
    terms = {key: contract.get(key) for key in TERMS}
    terms["title"] = contract.get("name") or exported.customer.get("name")
    terms["auto_renew"] = bool(terms["auto_renew"])
    # An end date without a term (HubSpot's line spans) stays an end date.
    if terms["end_date"] is not None and terms["end_date"] < terms["start_date"]:
        terms["end_date"] = None
    if terms["auto_renew"] and not terms["renewal_term_months"]:
        terms["renewal_term_months"] = terms["term_months"] or 12
    return terms


def _running_lines(lines: Sequence[Mapping[str, Any]], today: date) -> list[dict[str, Any]]:
    """The lines that still count from ``today``: recurring ones not ended before it, one-off
    fees that fall on or after it (one billed before is not billed again)."""
    running, errors = [], {}
    for index, line in enumerate(lines):
        end, start = line.get("end_date"), line.get("start_date")
        if line["billing_period"] == ONE_OFF:
            if start is None or start < today:
                continue
        elif end is not None and end < today:
            continue
        if line["billing_period"] not in APP_BILLING_PERIODS:
            errors[f"lines[{index}].billing_period"] = (
                f"{line['billing_period']} cannot be kept in the app; "
                f"change the line in the source system first"
            )
            continue
        values = {key: line.get(key) for key in LINE_VALUES}
        values["billing_interval_months"] = (
            line.get("billing_interval_months")
            if line["billing_period"] == "every_n_months"
            else None
        )
        values["discount_percent"] = values["discount_percent"] or 0
        values["product"] = values["product"] or "Unnamed product"
        running.append(values)
    if not running and not errors:
        errors["lines"] = "none runs from today: there is nothing to take over"
    raise_if(errors)
    return running


def _customer(session: Session, actor: str, exported: Mapping[str, Any]) -> Customer:
    """The app customer standing for the export's customer: found, or made now. An org
    number the app would refuse is left out rather than blocking the adoption."""
    source_ref = str(exported["customer_id"])
    found = session.scalar(select(Customer).where(Customer.source_ref == source_ref))
    if found is not None:
        return found
    values = {
        key: exported.get(key) for key in ("name", "org_number", "country", "owner", "industry")
    }
    if values["org_number"] and orgnumbers.check(values["country"], values["org_number"]):
        values["org_number"] = None
    if values["country"] and len(str(values["country"])) != 2:
        values["country"] = None
    try:
        customer = create_customer(session, actor, values)
    except ValidationError as invalid:
        raise ValidationError(
            {f"customer.{key}": message for key, message in invalid.errors.items()}
        ) from None
    customer.source_ref = source_ref
    session.flush()
    return customer
