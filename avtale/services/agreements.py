"""The guided agreement flow (SPEC C, D3-D4): start a proposal or a renegotiation, save each
step, make its documents, ask for and decide on discount approval, send, sign; the inbox
of routed tasks. Proposals, documents and tasks need ``edit_agreements``; deciding on an
approval needs ``approve_discounts``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.notify.mail import build_message, mail_settings, send_each
from avtale.repository import agreements, generation, library
from avtale.repository.models import Approval, Contract, Proposal, Task
from avtale.repository.terms import LINE_FIELDS, TERM_FIELDS
from avtale.repository.validation import ValidationError, clean
from avtale.rules.routing import load_routing_rules
from avtale.services import inputs, lookups, notifications
from avtale.services.database import Database
from avtale.services.unit_of_work import APPROVE, EDIT, FORM, Outcome, reading, write
from avtale.settings import Paths
from avtale.valuation import line_mrr

# The Message-IDs of the notices mailed after a signature.
MESSAGE_DOMAIN = "avtale.routing"

# The answers the clauses follow, for the flow's first step.
PROPOSAL_TYPES = agreements.PROPOSAL_TYPES
SITUATIONS = agreements.SITUATIONS
EDITOR_LINE_COLUMNS = ["line_no", "product_code", *LINE_FIELDS]
# A line row with nothing in these columns is a row added and never filled in.
LINE_SIGNIFICANT = ("product_code", "product", "unit_price")


# --- one proposal -------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalView:
    header: dict[str, Any]
    answers: dict[str, Any]
    terms: dict[str, Any]  # typed: dates, Decimals, ints, as the term widgets take them
    lines: pd.DataFrame  # the lines as saved, for the line editor
    priced: pd.DataFrame  # each line with its automatic, manual and applied discount
    approval_reasons: list[str]
    approvals: pd.DataFrame
    documents: pd.DataFrame
    send_problems: list[str]
    proposed: list[str]  # clause keys the rules propose, in order
    chosen: list[str]  # clause keys in the document, in order
    library: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> title, order, body
    tasks: pd.DataFrame = field(default_factory=pd.DataFrame)


def proposal_view(db: Database, number: str) -> ProposalView | None:
    with reading(db) as session:
        proposal = session.scalar(select(Proposal).where(Proposal.number == number))
        if proposal is None:
            return None
        return _proposal_view(session, proposal)


def _proposal_view(session: Session, proposal: Proposal) -> ProposalView:
    errors: dict[str, str] = {}
    terms = clean(proposal.terms, TERM_FIELDS, errors, partial=True)
    signed = session.get(Contract, proposal.contract_id) if proposal.contract_id else None
    priced = _priced(proposal)
    header = {
        "number": proposal.number,
        "kind": proposal.kind,
        "status": proposal.status,
        "revision": proposal.revision,
        "customer": proposal.customer.name,
        "customer_number": proposal.customer.customer_number,
        "contract": proposal.contract.contract_number if proposal.contract else None,
        "signed_contract": signed.contract_number if signed else None,
        "signer_default": next((c.name for c in proposal.customer.contacts if c.may_sign), ""),
        "approval_state": agreements.approval_state(proposal),
        "currency": terms.get("currency") or "NOK",
        "mrr": float(priced["mrr"].sum()) if not priced.empty else 0.0,
        "deal_name": agreements.deal_name(proposal),
    }
    for name in (
        "language",
        "template_key",
        "price_list",
        "deal_type",
        "effective_date",
        "signing_deadline",
        "expected_close",
        "signer_name",
        "signed_date",
        "free_text",
        "created_by",
    ):
        header[name] = getattr(proposal, name)
    library_clauses = _clauses_in(session, proposal.language)
    return ProposalView(
        header=header,
        answers=dict(proposal.answers),
        terms=terms,
        lines=_editor_lines(proposal.lines),
        priced=priced,
        approval_reasons=list(proposal.pricing.get("approval_reasons") or []),
        approvals=_approvals(proposal),
        documents=_proposal_documents(proposal),
        send_problems=agreements.send_problems(proposal),
        proposed=[c.key for c in generation.proposed_clauses(session, proposal)],
        chosen=[c.key for c in generation.chosen_clauses(session, proposal)],
        library=library_clauses,
        tasks=_tasks(session.scalars(select(Task).where(Task.proposal_id == proposal.id))),
    )


def _editor_lines(lines: list[dict[str, Any]]) -> pd.DataFrame:
    errors: dict[str, str] = {}
    rows = []
    for line in lines:
        values = clean({k: line.get(k) for k in LINE_FIELDS}, LINE_FIELDS, errors)
        rows.append({"line_no": line.get("line_no"), "product_code": line.get("product_code")})
        rows[-1] |= values
    return pd.DataFrame(rows, columns=EDITOR_LINE_COLUMNS)


def _priced(proposal: Proposal) -> pd.DataFrame:
    decisions = proposal.pricing.get("lines") or []
    rows = []
    for index, line in enumerate(agreements.priced_lines(proposal)):
        decision = decisions[index] if index < len(decisions) else {}
        rows.append(
            {
                "line": index + 1,
                "product": line["product"],
                "quantity": float(line["quantity"]),
                "unit_price": float(line["unit_price"]),
                "automatic_percent": float(decision.get("automatic_percent") or 0),
                "why": "; ".join(decision.get("reasons") or []),
                "manual_percent": float(decision.get("manual_percent") or 0),
                "discount_percent": float(line.get("discount_percent") or 0),
                "proposed_percent": (
                    None
                    if decision.get("proposed_percent") is None
                    else float(decision["proposed_percent"])
                ),
                "mrr": float(line_mrr(_decimals(line))),
            }
        )
    columns = ["line", "product", "quantity", "unit_price", "automatic_percent", "why"]
    columns += ["manual_percent", "discount_percent", "proposed_percent", "mrr"]
    return pd.DataFrame(rows, columns=columns)


def _decimals(line: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    return clean({k: line.get(k) for k in LINE_FIELDS}, LINE_FIELDS, errors)


def _approvals(proposal: Proposal) -> pd.DataFrame:
    columns = ["revision", "status", "requested_by", "requested_at", "decided_by", "note"]
    return pd.DataFrame(
        [
            {
                "revision": a.proposal_revision,
                "status": a.status,
                "requested_by": a.requested_by,
                "requested_at": a.requested_at,
                "decided_by": a.decided_by,
                "note": a.note,
            }
            for a in proposal.approvals
        ],
        columns=columns,
    )


DOCUMENT_COLUMNS = [
    "id",
    "doc_version",
    "format",
    "filename",
    "sha256",
    "template",
    "revision",
    "uploaded_by",
    "uploaded_at",
    "stored_path",
    "content_type",
]


def _proposal_documents(proposal: Proposal) -> pd.DataFrame:
    rows = []
    for d in reversed(proposal.documents):  # newest first
        source = d.source or {}
        template = source.get("template") or {}
        rows.append(
            {
                "id": d.id,
                "doc_version": d.doc_version,
                "format": "PDF" if d.content_type == "application/pdf" else "Word",
                "filename": d.filename,
                "sha256": d.sha256[:12],
                "template": f"{template.get('key')} v{template.get('version')}",
                "revision": source.get("proposal_revision"),
                "uploaded_by": d.uploaded_by,
                "uploaded_at": d.uploaded_at,
                "stored_path": d.stored_path,
                "content_type": d.content_type,
            }
        )
    return pd.DataFrame(rows, columns=DOCUMENT_COLUMNS)


def _clauses_in(session: Session, language: str) -> dict[str, dict[str, Any]]:
    """Every active clause by key, in the document language where it has one."""
    found: dict[str, dict[str, Any]] = {}
    for clause in library.latest_clauses(session):
        if clause.language == language or (clause.language == "en" and clause.key not in found):
            found[clause.key] = {
                "title": clause.title,
                "order": clause.sort_order,
                "body": clause.body,
            }
    return dict(sorted(found.items(), key=lambda item: (item[1]["order"], item[0])))


# --- lists ----------------------------------------------------------------------


def open_proposals(db: Database) -> pd.DataFrame:
    """The draft and sent proposals, last saved first."""
    with reading(db) as session:
        rows = session.scalars(
            select(Proposal)
            .where(Proposal.status.in_(agreements.OPEN_STATUSES))
            .order_by(Proposal.updated_at.desc())
        )
        data = [
            {
                "proposal": p.number,
                "customer": p.customer.name,
                "kind": "Renegotiation" if p.kind == "renegotiation" else "New agreement",
                "contract": p.contract.contract_number if p.contract else None,
                "status": p.status,
                "created_by": p.created_by,
                "updated_at": p.updated_at,
            }
            for p in rows
        ]
    columns = ["proposal", "customer", "kind", "contract", "status", "created_by", "updated_at"]
    return pd.DataFrame(data, columns=columns)


def open_renegotiation(db: Database, contract_number: str) -> str | None:
    """The open proposal renegotiating this contract, if any."""
    with reading(db) as session:
        return session.scalar(
            select(Proposal.number)
            .join(Contract, Proposal.contract_id == Contract.id)
            .where(
                Contract.contract_number == contract_number,
                Proposal.kind == "renegotiation",
                Proposal.status.in_(agreements.OPEN_STATUSES),
            )
        )


def catalogue(db: Database) -> dict[str, dict[str, Any]]:
    """Product code -> name (and ``names`` per language), billing, and price by (price
    list, currency)."""
    with reading(db) as session:
        return {
            product.code: {
                "name": product.name,
                "names": dict(product.names or {}),
                "billing_period": product.billing_period,
                "billing_interval_months": product.billing_interval_months,
                "licence": product.licence,
                "prices": {
                    (price.price_list, price.currency): float(price.unit_price)
                    for price in product.prices
                },
            }
            for product in library.catalogue(session)
        }


def price_lists(db: Database) -> list[str]:
    with reading(db) as session:
        return library.price_lists(session)


TASK_COLUMNS = ["id", "team", "title", "action", "rule", "contract", "customer", "changes"]


def _tasks(tasks: Any) -> pd.DataFrame:
    rows = [
        {
            "id": t.id,
            "team": t.team,
            "title": t.title,
            "action": t.action,
            "rule": t.rule,
            "contract": t.contract.contract_number,
            "customer": t.contract.customer.name,
            "changes": describe_changes(t.changes or {}),
            "status": t.status,
            "created_at": t.created_at,
        }
        for t in tasks
    ]
    return pd.DataFrame(rows, columns=[*TASK_COLUMNS, "status", "created_at"])


def open_tasks(db: Database) -> pd.DataFrame:
    """The tasks routed after signatures that nobody has done yet."""
    with reading(db) as session:
        return _tasks(agreements.open_tasks(session))


@dataclass(frozen=True)
class PendingApproval:
    """A discount approval waiting for a decision, with the lines it is about."""

    id: int
    proposal: str
    customer: str
    reasons: list[str]
    requested_by: str
    requested_at: datetime
    current: bool  # asked for the proposal's current revision
    priced: pd.DataFrame  # the proposal's lines as priced, as in ``ProposalView.priced``
    currency: str


def pending_approvals(db: Database) -> list[PendingApproval]:
    """Approvals waiting for a decision, oldest first, each with the proposal's priced lines
    so the approver sees what they approve."""
    with reading(db) as session:
        return [
            PendingApproval(
                id=a.id,
                proposal=a.proposal.number,
                customer=a.proposal.customer.name,
                reasons=list(a.reasons or []),
                requested_by=a.requested_by,
                requested_at=a.requested_at,
                current=a.proposal.revision == a.proposal_revision,
                priced=_priced(a.proposal),
                currency=a.proposal.terms.get("currency") or "NOK",
            )
            for a in agreements.pending_approvals(session)
        ]


def describe_changes(changes: dict[str, Any]) -> list[tuple[str, str]]:
    """A task's changes ({"licences": [100, 70], ...}) as (what, "old → new") pairs."""
    shown: list[tuple[str, str]] = []
    if "licences" in changes:
        old, new = changes["licences"]
        shown.append(("Licences", f"{old} → {new}"))
    if "price" in changes:
        old_prices, new_prices = changes["price"]
        for before, after in zip(old_prices, new_prices, strict=False):
            text = f"{_price(before)} → {_price(after)}"
            shown.append((f"Price · {after.get('product') or before.get('product')}", text))
    if "lines" in changes:
        removed, added = changes["lines"]
        shown += [(f"Line removed · {line['product']}", _price(line)) for line in removed]
        shown += [(f"Line added · {line['product']}", _price(line)) for line in added]
    if "start_date" in changes:
        old, new = changes["start_date"]
        shown.append(("Start date", f"{old or '–'} → {new or '–'}"))
    return shown


def _price(value: dict[str, Any]) -> str:
    discount = Decimal(str(value.get("discount_percent") or 0))
    return f"{value.get('unit_price')}" + (f" less {discount.normalize():f} %" if discount else "")


# --- starting -----------------------------------------------------------------------


def start_proposal(
    db: Database, actor: str, customer_number: str | None, template_key: str | None
) -> Outcome:
    def work(session: Session) -> Outcome:
        customer = lookups.customer(session, customer_number)
        proposal = agreements.start_proposal(
            session, actor, customer, template_key=template_key or "agreement"
        )
        return Outcome(
            message=f"Proposal {proposal.number} started for {customer.name}.",
            target=proposal.number,
        )

    return write(db, actor, EDIT, work)


def start_renegotiation(db: Database, actor: str, contract_number: str) -> Outcome:
    def work(session: Session) -> Outcome:
        contract = lookups.contract(session, contract_number)
        proposal = agreements.start_renegotiation(session, actor, contract)
        return Outcome(
            message=f"Renegotiation {proposal.number} of {contract_number} started.",
            target=proposal.number,
        )

    return write(db, actor, EDIT, work)


# --- the steps ----------------------------------------------------------------------


def _update(db: Database, actor: str, number: str, message: str, **parts: Any) -> Outcome:
    def work(session: Session) -> Outcome:
        proposal = agreements.update_proposal(
            session, actor, lookups.proposal(session, number), **parts
        )
        return Outcome(message=message, target=proposal.number)

    return write(db, actor, EDIT, work)


def save_setup(
    db: Database,
    actor: str,
    number: str,
    answers: Mapping[str, Any],
    setup: Mapping[str, Any],
) -> Outcome:
    """Step 1: the answers the clauses follow, language, template and price list."""
    return _update(db, actor, number, "Customer and template saved.", answers=answers, setup=setup)


def save_terms(
    db: Database,
    actor: str,
    number: str,
    setup: Mapping[str, Any],
    terms: Mapping[str, Any] | None,
    before: Mapping[str, Any] | None = None,
    custom_terms: Sequence[inputs.Row] | None = None,
) -> Outcome:
    """Step 2: deal type and dates, and the terms when they are edited (``terms`` None
    keeps them). An end date left as it was is derived again from a changed start or term."""
    given: dict[str, Any] | None = None
    if terms is not None:
        try:
            given = {**terms, "custom_terms": inputs.custom_terms(custom_terms)}
        except ValidationError as invalid:
            return Outcome(errors=invalid.errors)
        was = before or {}
        moved = any(
            not inputs.same(given.get(k), was.get(k)) for k in ("start_date", "term_months")
        )
        if moved and inputs.same(given.get("end_date"), was.get("end_date")):
            given["end_date"] = None
    return _update(db, actor, number, "Terms saved.", setup=setup, terms=given)


def save_lines(
    db: Database, actor: str, number: str, lines: Sequence[inputs.Row] | None
) -> Outcome:
    """Step 3: the line items. A catalogue product fills in its name, billing and the
    price of the proposal's price list in its currency where the row leaves them empty."""

    def work(session: Session) -> Outcome:
        proposal = lookups.proposal(session, number)
        priced = _priced_from_catalogue(session, proposal, inputs.filled(lines, LINE_SIGNIFICANT))
        agreements.update_proposal(session, actor, proposal, lines=priced)
        state = agreements.approval_state(proposal)
        note = " Its discounts need approval before it is sent." if state == "needed" else ""
        return Outcome(message=f"{len(priced)} line items saved.{note}", target=number)

    return write(db, actor, EDIT, work)


def accept_proposed_discounts(db: Database, actor: str, number: str) -> Outcome:
    """Give the renegotiated lines the discounts the rules propose for their new quantities
    (shown, never applied by themselves)."""

    def work(session: Session) -> Outcome:
        proposal = lookups.proposal(session, number)
        changed = len(agreements.proposed_discounts(proposal))
        agreements.accept_proposed_discounts(session, actor, proposal)
        return Outcome(message=f"Proposed discounts accepted on {changed} lines.", target=number)

    return write(db, actor, EDIT, work)


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
        raise ValidationError(errors)
    return lines


def save_clauses(
    db: Database, actor: str, number: str, keys: Sequence[str], free_text: str
) -> Outcome:
    """Step 4: the clauses kept and added (in the library's order), and the free text."""
    return _update(
        db,
        actor,
        number,
        f"{len(keys)} clauses saved.",
        clauses=list(keys),
        setup={"free_text": free_text},
    )


def generate(
    db: Database, actor: str, paths: Paths, number: str, fmt: str, *, draft: bool = False
) -> Outcome:
    """Step 5: the final PDF (once the discounts it needs are approved), a draft PDF, or
    the Word draft, stored on the proposal."""

    def work(session: Session) -> Outcome:
        proposal = lookups.proposal(session, number)
        document = generation.generate_for_proposal(
            session, actor, paths, proposal, fmt, draft=draft
        )
        kind = "Word draft" if fmt == "docx" else "Draft PDF" if draft else "PDF"
        return Outcome(
            message=f"{kind} version {document.doc_version} made ({document.filename}, "
            f"SHA-256 {document.sha256[:12]}…).",
            target=number,
            detail={"stored_path": document.stored_path, "filename": document.filename},
        )

    return write(db, actor, EDIT, work)


# --- approval, sending, signing -------------------------------------------------------


def request_approval(db: Database, actor: str, paths: Paths, number: str) -> Outcome:
    """Ask for the discount approval; approvers get a notification, and a mail."""

    def work(session: Session) -> Outcome:
        approval = agreements.request_approval(session, actor, lookups.proposal(session, number))
        told = agreements.notify_approvers(session, approval)
        return Outcome(
            message="Approval asked for; it waits in the Inbox.",
            target=number,
            detail={"notifications": [n.id for n in told]},
        )

    return _mailed(db, paths, write(db, actor, EDIT, work))


def decide_approval(
    db: Database, actor: str, paths: Paths, approval_id: int, approve: bool, note: str
) -> Outcome:
    """Approve or reject; the one who asked gets a notification, and a mail."""

    def work(session: Session) -> Outcome:
        approval = session.get(Approval, approval_id)
        if approval is None:
            raise ValidationError({FORM: "this approval no longer exists"})
        agreements.decide_approval(session, actor, approval, approve=approve, note=note)
        told = agreements.notify_requester(session, approval)
        number = approval.proposal.number
        verdict = "approved" if approve else "rejected"
        return Outcome(
            message=f"Discounts of {number} {verdict}.",
            target=number,
            detail={"notifications": [n.id for n in told]},
        )

    return _mailed(db, paths, write(db, actor, APPROVE, work))


def _mailed(db: Database, paths: Paths, done: Outcome) -> Outcome:
    """``done``, once its notifications went by mail too (after the commit: a mail server
    that is down never undoes the decision; the bell has it either way)."""
    if not done.ok:
        return done
    problems = notifications.mail_notifications(db, paths, done.detail["notifications"])
    if not problems:
        return done
    return Outcome(message=f"{done.message} {' '.join(problems)}", target=done.target)


def send(db: Database, actor: str, number: str) -> Outcome:
    def work(session: Session) -> Outcome:
        agreements.send_proposal(session, actor, lookups.proposal(session, number))
        return Outcome(message=f"{number} is sent for signature.", target=number)

    return write(db, actor, EDIT, work)


def cancel(db: Database, actor: str, number: str, reason: str) -> Outcome:
    def work(session: Session) -> Outcome:
        agreements.cancel_proposal(session, actor, lookups.proposal(session, number), reason)
        return Outcome(message=f"{number} is cancelled.", target=number)

    return write(db, actor, EDIT, work)


def sign(
    db: Database,
    actor: str,
    paths: Paths,
    number: str,
    signed_date: date | None,
    signer_name: str,
) -> Outcome:
    """The customer signed: the contract (or its next version) is made, tasks are routed,
    and notices go by mail where ``routing.yaml`` says (``mail_notices``)."""

    def work(session: Session) -> Outcome:
        if signed_date is None:
            raise ValidationError({"signed_date": "is required"})
        version = agreements.register_signature(
            session,
            actor,
            lookups.proposal(session, number),
            signed_date=signed_date,
            signer_name=signer_name,
        )
        contract = version.contract.contract_number
        return Outcome(
            message=f"{number} signed: {contract} version {version.version_no}.",
            target=number,
            detail={"contract": contract, "version_id": version.id},
        )

    signed = write(db, actor, EDIT, work)
    if not signed.ok:
        return signed
    problems = mail_notices(db, paths, signed.detail["version_id"])
    if problems:
        message = signed.message + " " + " ".join(problems)
        return Outcome(message=message, target=signed.target, detail=signed.detail)
    return signed


def mail_notices(db: Database, paths: Paths, version_id: int) -> list[str]:
    """Mail each notice a signed version opened to the address ``routing.yaml``'s ``emails``
    gives its team (seed 004: the sale is registered by mail). After the commit, so a mail
    server that is down never undoes a signature; the notice stays in the inbox either way,
    and a mail that failed says so. The Message-ID is the task's: a resend is one mail."""
    addresses = load_routing_rules().emails
    with reading(db) as session:
        notices = [
            (task.id, addresses[task.team], task.title, describe_changes(task.changes))
            for task in session.scalars(
                select(Task).where(
                    Task.version_id == version_id,
                    Task.action == "notify",
                    Task.team.in_(list(addresses)),
                )
            )
        ]
    if not notices:
        return []
    settings = mail_settings(paths)
    messages = [
        build_message(
            message_id=f"<notice.{task_id}@{MESSAGE_DOMAIN}>",
            subject=title,
            body=title + ".\n\n" + "\n".join(f"{what}: {change}" for what, change in changes),
            to=address,
            sender=settings.sender,
        )
        for task_id, address, title, changes in notices
    ]
    return [
        f"The notice to {message['To']} was not mailed ({problem.__class__.__name__}); "
        "it is in the inbox."
        for message, problem in send_each(settings, messages)
    ]


def complete_task(db: Database, actor: str, task_id: int, note: str) -> Outcome:
    def work(session: Session) -> Outcome:
        task = session.get(Task, task_id)
        if task is None:
            raise ValidationError({FORM: "this task no longer exists"})
        agreements.complete_task(session, actor, task, note=note)
        return Outcome(message=f"Done: {task.title}.")

    return write(db, actor, EDIT, work)
