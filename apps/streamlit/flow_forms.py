"""Writes of the guided agreement flow, the inbox and the template library, in forms.py's
way: widget values in, one audited transaction, an ``Outcome`` out, problems as errors.

Proposals, documents and tasks need ``edit_agreements``; deciding on an approval needs
``approve_discounts``; templates and clauses need ``manage_settings``. No Streamlit here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import PurePath
from typing import Any

import pandas as pd
import yaml
from forms import EDIT, FORM, Outcome, _contract, _customer, _write, custom_terms, plain, rows
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from avtale.repository import agreements, generation, library, service
from avtale.repository.models import Approval, Proposal, Task
from avtale.settings import Paths

APPROVE = "approve_discounts"
MANAGE_SETTINGS = "manage_settings"
LINE_SIGNIFICANT = ("product_code", "product", "unit_price")
TEMPLATE_SUFFIXES = {".html": "html", ".htm": "html", ".docx": "docx"}


def _proposal(session: Session, number: str | None) -> Proposal:
    proposal = session.scalar(select(Proposal).where(Proposal.number == number))
    if proposal is None:
        raise service.ValidationError({"proposal": f"{number} was not found"})
    return proposal


# --- starting -----------------------------------------------------------------------


def start_proposal(
    engine: Engine, actor: str, customer_number: str | None, template_key: str | None
) -> Outcome:
    def work(session: Session) -> Outcome:
        customer = _customer(session, customer_number)
        proposal = agreements.start_proposal(
            session, actor, customer, template_key=template_key or "agreement"
        )
        return Outcome(
            message=f"Proposal {proposal.number} started for {customer.name}.",
            target=proposal.number,
        )

    return _write(engine, actor, EDIT, work)


def start_renegotiation(engine: Engine, actor: str, contract_number: str) -> Outcome:
    def work(session: Session) -> Outcome:
        contract = _contract(session, contract_number)
        proposal = agreements.start_renegotiation(session, actor, contract)
        return Outcome(
            message=f"Renegotiation {proposal.number} of {contract_number} started.",
            target=proposal.number,
        )

    return _write(engine, actor, EDIT, work)


# --- the steps ----------------------------------------------------------------------


def _update(engine: Engine, actor: str, number: str, message: str, **parts: Any) -> Outcome:
    def work(session: Session) -> Outcome:
        proposal = agreements.update_proposal(session, actor, _proposal(session, number), **parts)
        return Outcome(message=message, target=proposal.number)

    return _write(engine, actor, EDIT, work)


def save_setup(
    engine: Engine,
    actor: str,
    number: str,
    answers: Mapping[str, Any],
    setup: Mapping[str, Any],
) -> Outcome:
    """Step 1: the answers the clauses follow, language, template and price list."""
    return _update(
        engine, actor, number, "Customer and template saved.", answers=answers, setup=setup
    )


def save_terms(
    engine: Engine,
    actor: str,
    number: str,
    setup: Mapping[str, Any],
    terms: Mapping[str, Any] | None,
    before: Mapping[str, Any] | None = None,
    custom: pd.DataFrame | None = None,
) -> Outcome:
    """Step 2: deal type and dates, and the terms when they are edited (``terms`` None
    keeps them). An end date left as it was is derived again from a changed start or term."""
    given: dict[str, Any] | None = None
    if terms is not None:
        try:
            given = {**terms, "custom_terms": custom_terms(custom)}
        except service.ValidationError as invalid:
            return Outcome(errors=invalid.errors)
        was = before or {}
        moved = any(plain(given.get(k)) != plain(was.get(k)) for k in ("start_date", "term_months"))
        if moved and plain(given.get("end_date")) == plain(was.get("end_date")):
            given["end_date"] = None
    return _update(engine, actor, number, "Terms saved.", setup=setup, terms=given)


def save_lines(engine: Engine, actor: str, number: str, frame: pd.DataFrame | None) -> Outcome:
    """Step 3: the line items. A catalogue product fills in its name, billing and the
    price of the proposal's price list in its currency where the row leaves them empty."""

    def work(session: Session) -> Outcome:
        proposal = _proposal(session, number)
        lines = _priced_from_catalogue(session, proposal, rows(frame, LINE_SIGNIFICANT))
        agreements.update_proposal(session, actor, proposal, lines=lines)
        state = agreements.approval_state(proposal)
        note = " Its discounts need approval before it is sent." if state == "needed" else ""
        return Outcome(message=f"{len(lines)} line items saved.{note}", target=number)

    return _write(engine, actor, EDIT, work)


def _priced_from_catalogue(
    session: Session, proposal: Proposal, given: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    products = {product.code: product for product in library.catalogue(session)}
    currency = proposal.terms.get("currency") or "NOK"
    errors: dict[str, str] = {}
    lines = []
    for index, row in enumerate(given):
        line = dict(row)
        product = products.get(row.get("product_code") or "")
        if product is not None:
            line["product"] = line.get("product") or product.name
            if not line.get("billing_period"):
                line["billing_period"] = product.billing_period
                line["billing_interval_months"] = product.billing_interval_months
            if line.get("unit_price") is None:
                price = library.list_price(product, proposal.price_list, currency)
                if price is None:
                    errors[f"lines[{index}].unit_price"] = (
                        f"{product.code} has no price on the {proposal.price_list} list "
                        f"in {currency}: type one"
                    )
                line["unit_price"] = price
        elif row.get("product_code"):
            errors[f"lines[{index}].product_code"] = "is not in the catalogue"
        lines.append(line)
    if errors:
        raise service.ValidationError(errors)
    return lines


def save_clauses(
    engine: Engine, actor: str, number: str, keys: Sequence[str], free_text: str
) -> Outcome:
    """Step 4: the clauses kept and added (in the library's order), and the free text."""
    return _update(
        engine,
        actor,
        number,
        f"{len(keys)} clauses saved.",
        clauses=list(keys),
        setup={"free_text": free_text},
    )


def generate(engine: Engine, actor: str, paths: Paths, number: str, fmt: str) -> Outcome:
    """Step 5: the final PDF or the Word draft, stored on the proposal."""

    def work(session: Session) -> Outcome:
        proposal = _proposal(session, number)
        document = generation.generate_for_proposal(session, actor, paths, proposal, fmt)
        kind = "PDF" if fmt == "pdf" else "Word draft"
        return Outcome(
            message=f"{kind} version {document.doc_version} made ({document.filename}, "
            f"SHA-256 {document.sha256[:12]}…).",
            target=number,
            detail={"stored_path": document.stored_path, "filename": document.filename},
        )

    return _write(engine, actor, EDIT, work)


# --- approval, sending, signing -------------------------------------------------------


def request_approval(engine: Engine, actor: str, number: str) -> Outcome:
    def work(session: Session) -> Outcome:
        agreements.request_approval(session, actor, _proposal(session, number))
        return Outcome(message="Approval asked for; it waits in the Inbox.", target=number)

    return _write(engine, actor, EDIT, work)


def decide_approval(
    engine: Engine, actor: str, approval_id: int, approve: bool, note: str
) -> Outcome:
    def work(session: Session) -> Outcome:
        approval = session.get(Approval, approval_id)
        if approval is None:
            raise service.ValidationError({FORM: "this approval no longer exists"})
        agreements.decide_approval(session, actor, approval, approve=approve, note=note)
        number = approval.proposal.number
        verdict = "approved" if approve else "rejected"
        return Outcome(message=f"Discounts of {number} {verdict}.", target=number)

    return _write(engine, actor, APPROVE, work)


def send(engine: Engine, actor: str, number: str) -> Outcome:
    def work(session: Session) -> Outcome:
        agreements.send_proposal(session, actor, _proposal(session, number))
        return Outcome(message=f"{number} is sent for signature.", target=number)

    return _write(engine, actor, EDIT, work)


def cancel(engine: Engine, actor: str, number: str, reason: str) -> Outcome:
    def work(session: Session) -> Outcome:
        agreements.cancel_proposal(session, actor, _proposal(session, number), reason)
        return Outcome(message=f"{number} is cancelled.", target=number)

    return _write(engine, actor, EDIT, work)


def sign(
    engine: Engine, actor: str, number: str, signed_date: date | None, signer_name: str
) -> Outcome:
    """The customer signed: the contract (or its next version) is made, tasks are routed."""

    def work(session: Session) -> Outcome:
        if signed_date is None:
            raise service.ValidationError({"signed_date": "is required"})
        version = agreements.register_signature(
            session,
            actor,
            _proposal(session, number),
            signed_date=signed_date,
            signer_name=signer_name,
        )
        contract = version.contract.contract_number
        return Outcome(
            message=f"{number} signed: {contract} version {version.version_no}.",
            target=number,
            detail={"contract": contract},
        )

    return _write(engine, actor, EDIT, work)


def complete_task(engine: Engine, actor: str, task_id: int, note: str) -> Outcome:
    def work(session: Session) -> Outcome:
        task = session.get(Task, task_id)
        if task is None:
            raise service.ValidationError({FORM: "this task no longer exists"})
        agreements.complete_task(session, actor, task, note=note)
        return Outcome(message=f"Done: {task.title}.")

    return _write(engine, actor, EDIT, work)


def invoice(
    engine: Engine, actor: str, paths: Paths, contract_number: str, month: date | None
) -> Outcome:
    def work(session: Session) -> Outcome:
        if month is None:
            raise service.ValidationError({"period_start": "choose a month"})
        document = generation.generate_invoice(
            session, actor, paths, _contract(session, contract_number), period_start=month
        )
        return Outcome(
            message=f"Invoice {document.filename} made (SHA-256 {document.sha256[:12]}…).",
            target=contract_number,
            detail={"stored_path": document.stored_path, "filename": document.filename},
        )

    return _write(engine, actor, EDIT, work)


# --- templates and clauses ------------------------------------------------------------


def save_template(
    engine: Engine,
    actor: str,
    key: str,
    values: Mapping[str, Any],
    upload: tuple[str, bytes] | None = None,
    text: str | None = None,
) -> Outcome:
    """A new version of a template from an uploaded file (its format from the file name)
    or from the HTML editor's ``text``; refused with the line and reason when it is bad."""

    def work(session: Session) -> Outcome:
        data = dict(values)
        if upload is not None:
            filename, body = upload
            fmt = TEMPLATE_SUFFIXES.get(PurePath(filename).suffix.lower())
            if fmt is None:
                raise service.ValidationError({"file": "upload an .html or a .docx template"})
            data["format"] = fmt
        elif text is not None:
            data["format"], body = "html", text.encode("utf-8")
        else:
            raise service.ValidationError({"file": "choose the template file"})
        latest = library.latest_template(session, (key or "").strip())
        if latest is not None and hashlib.sha256(body).hexdigest() == latest.sha256:
            raise service.ValidationError(
                {"body": f"is the same as version {latest.version_no}: nothing to save"}
            )
        template = library.save_template(session, actor, (key or "").strip(), data, body)
        return Outcome(
            message=f"Template {template.key} version {template.version_no} saved.",
            target=template.key,
        )

    return _write(engine, actor, MANAGE_SETTINGS, work)


def save_clause(
    engine: Engine,
    actor: str,
    key: str,
    language: str | None,
    values: Mapping[str, Any],
    conditions: str,
) -> Outcome:
    """A new version of a clause; ``conditions`` is YAML (or JSON) text."""

    def work(session: Session) -> Outcome:
        data = dict(values) | {"conditions": _conditions(conditions)}
        current = next(
            (
                c
                for c in library.latest_clauses(session, active_only=False)
                if (c.key, c.language) == ((key or "").strip(), language)
            ),
            None,
        )
        if current is not None and _same_clause(current, data):
            raise service.ValidationError(
                {FORM: f"nothing changed from version {current.version_no}"}
            )
        clause = library.save_clause(session, actor, (key or "").strip(), language or "", data)
        return Outcome(
            message=f"Clause {clause.key} ({clause.language}) version {clause.version_no} saved.",
            target=clause.key,
        )

    return _write(engine, actor, MANAGE_SETTINGS, work)


def _same_clause(clause: Any, data: Mapping[str, Any]) -> bool:
    return (
        clause.title == (data.get("title") or "").strip()
        and clause.body == (data.get("body") or "").strip()
        and clause.sort_order == data.get("sort_order")
        and clause.active == bool(data.get("active"))
        and (clause.conditions or {}) == (data.get("conditions") or {})
    )


def _conditions(text: str) -> dict[str, Any] | None:
    if not (text or "").strip():
        return None
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise service.ValidationError({"conditions": f"{where}not valid YAML"}) from None
    if not isinstance(parsed, dict):
        raise service.ValidationError(
            {"conditions": "must be names with values, like product: ASSIST"}
        )
    return parsed
