"""The guided agreement flow (SPEC C1-C4, D3-D4): a proposal from first draft to signature.

A proposal is saved at every step (answers, terms, lines, clauses, free text), priced by
the discount rules on every save, turned into a PDF or Word document from a template,
approved when its discounts ask for it, sent, and on signature becomes a contract (or the
next version of the contract it renegotiates); the routing rules then open inbox tasks.
Each save bumps ``revision``: a document or an approval speaks for one revision only.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.dates import today as business_today
from avtale.repository.audit import jsonable, record, snapshot
from avtale.repository.auth import can
from avtale.repository.contracts import create_contract, current_version, revise_contract
from avtale.repository.library import docgen_clauses, list_price
from avtale.repository.limits import check_contract
from avtale.repository.models import (
    Approval,
    Contract,
    ContractVersion,
    Customer,
    Document,
    Notification,
    Product,
    Proposal,
    Task,
    User,
    utcnow,
)
from avtale.repository.terms import (
    TERM_FIELDS,
    check_terms,
    clean_lines,
    complete_terms,
    values_of,
)
from avtale.repository.validation import Field, ValidationError, clean, raise_if, require_actor
from avtale.rules.pricing import load_discount_rules, price_lines
from avtale.rules.routing import load_routing_rules, route, with_catalogue

PROPOSAL_NUMBER_FORMAT = "OF-{:06d}"
RENEGOTIATION_DEAL_TYPE = "Additional licences / renegotiation"
NEW_DEAL_TYPE = "New business"
OPEN_STATUSES = ("draft", "sent")
# The actor of the audit rows of tasks the routing rules open.
SYSTEM_ROUTER = "routing"

SITUATIONS = ("new_customer", "existing_customer", "competitor_switch", "renewal")
PROPOSAL_TYPES = ("new_agreement", "upgrade", "downgrade", "renegotiation")
LANGUAGE_BY_COUNTRY = {"NO": "nb", "DK": "da", "SE": "sv", "DE": "de", "AT": "de", "CH": "de"}
LANGUAGE_BY_COUNTRY |= {"NL": "nl", "BE": "nl"}
CURRENCY_BY_COUNTRY = {"NO": "NOK", "DK": "DKK", "SE": "SEK"}

ANSWER_FIELDS = {
    "situation": Field("choice", required=True, choices=SITUATIONS),
    "proposal": Field("choice", required=True, choices=PROPOSAL_TYPES),
}
SETUP_FIELDS = {
    "language": Field("choice", required=True, choices=("nb", "da", "sv", "de", "nl", "en")),
    "template_key": Field("text", required=True, max_length=60),
    "price_list": Field("text", required=True, max_length=40),
    "deal_type": Field("text", max_length=100),
    "effective_date": Field("date"),
    "signing_deadline": Field("date"),
    "expected_close": Field("date"),
    "signer_name": Field("text", max_length=200),
    "free_text": Field("text", max_length=20_000),
}
# A proposal's lines carry the catalogue code beside the fields of a contract line.
LINE_EXTRA = ("product_code", "line_no")


def expected_close_default(today: date) -> date:
    """Two days ahead, but always within the current month (seed 004)."""
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    return min(today + timedelta(days=2), month_end)


def start_proposal(
    session: Session,
    actor: str,
    customer: Customer,
    *,
    today: date | None = None,
    template_key: str = "agreement",
) -> Proposal:
    """A new-agreement proposal with the defaults a user would otherwise type: language
    and currency from the customer's country, a 12-month auto-renewing term from the first
    of next month, three months' notice, 30 days' payment terms."""
    actor = require_actor(actor)
    today = today or business_today()
    if customer.status != "active":
        raise ValidationError({"customer": f"is {customer.status}: restore the customer first"})
    start = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    country = customer.country or ""
    terms = {
        "title": customer.name,
        "owner": customer.owner,
        "start_date": start,
        "term_months": 12,
        "notice_months": 3,
        "auto_renew": True,
        "renewal_term_months": 12,
        "payment_terms_days": 30,
        "currency": CURRENCY_BY_COUNTRY.get(country, "EUR" if country in ("DE", "NL") else "NOK"),
        "price_adjustment_rule": "cpi",
    }
    has_contracts = bool(customer.contracts)
    proposal = Proposal(
        number=f"new-{uuid.uuid4().hex}",
        kind="new",
        customer=customer,
        language=LANGUAGE_BY_COUNTRY.get(country, "en"),
        template_key=template_key,
        deal_type=NEW_DEAL_TYPE,
        answers={
            "situation": "existing_customer" if has_contracts else "new_customer",
            "proposal": "new_agreement",
        },
        terms=jsonable(terms),
        lines=[],
        clauses=None,
        pricing={},
        signing_deadline=min(today + timedelta(days=7), start),
        expected_close=expected_close_default(today),
        created_by=actor,
    )
    return _add(session, actor, proposal)


def start_renegotiation(
    session: Session, actor: str, contract: Contract, *, today: date | None = None
) -> Proposal:
    """A renegotiation of ``contract`` (seed 004): its current terms and lines copied, so only
    what changes (price, licences) is edited; signing deadline a week ahead, expected close
    two days ahead within the month, effective from today unless changed."""
    actor = require_actor(actor)
    today = today or business_today()
    errors: dict[str, str] = {}
    if contract.status == "terminated":
        errors["contract"] = "is terminated and cannot be renegotiated"
    open_one = session.scalar(
        select(Proposal.number).where(
            Proposal.contract_id == contract.id, Proposal.status.in_(OPEN_STATUSES)
        )
    )
    if open_one:
        errors["contract"] = f"{open_one} is already open for this contract: continue that one"
    raise_if(errors)
    version = current_version(contract)
    customer = contract.customer
    # A contract line names its product; the catalogue's code, where the name is one of its
    # products', lets the licence flag and the discount rules find it.
    codes = {p.name.casefold(): p.code for p in session.scalars(select(Product))}
    proposal = Proposal(
        number=f"new-{uuid.uuid4().hex}",
        kind="renegotiation",
        customer=customer,
        contract=contract,
        base_version=version,
        language=LANGUAGE_BY_COUNTRY.get(customer.country or "", "en"),
        template_key="agreement",
        deal_type=RENEGOTIATION_DEAL_TYPE,
        answers={"situation": "existing_customer", "proposal": "renegotiation"},
        terms=jsonable({key: getattr(version, key) for key in TERM_FIELDS}),
        lines=[
            jsonable({"line_no": line.line_no, "product_code": codes.get(line.product.casefold())})
            | jsonable(values_of(line))
            for line in version.lines
        ]
        + _onboarding(session, version, today),
        clauses=None,
        pricing={},
        effective_date=today,
        signing_deadline=today + timedelta(days=7),
        expected_close=expected_close_default(today),
        created_by=actor,
    )
    _add(session, actor, proposal)
    update_proposal(session, actor, proposal)  # priced as it stands
    return proposal


# Seed 004: every renegotiation enters digital onboarding "i 100 % rabatt".
ONBOARDING_CODE = "DIGITAL-ONBOARDING"


def _onboarding(session: Session, version: ContractVersion, today: date) -> list[dict[str, Any]]:
    """The free digital onboarding line a renegotiation gets by default (seed 004), at the
    catalogue's list price in the contract's currency with 100 % discount; none when the
    catalogue has no such product or price."""
    product = session.scalar(
        select(Product).where(Product.code == ONBOARDING_CODE, Product.active.is_(True))
    )
    price = product and list_price(product, "standard", version.currency)
    if product is None or price is None:
        return []
    line = {
        "line_no": None,
        "product_code": product.code,
        "product": product.name,
        "quantity": 1,
        "unit_price": price,
        "discount_percent": 100,
        "billing_period": product.billing_period,
        "billing_interval_months": product.billing_interval_months,
        "start_date": today,
    }
    return [jsonable(line)]


def deal_name(proposal: Proposal) -> str:
    """The deal's name as seed 004 writes it: "BEDRIFT AS - REFORHANDLING" for a
    renegotiation, the customer's name for a new agreement."""
    name = proposal.customer.name
    return f"{name} - REFORHANDLING" if proposal.kind == "renegotiation" else name


def _add(session: Session, actor: str, proposal: Proposal) -> Proposal:
    # The number derives from the id, as contract numbers do.
    session.add(proposal)
    session.flush()
    proposal.number = PROPOSAL_NUMBER_FORMAT.format(proposal.id)
    session.flush()
    record(session, actor, "proposal.start", "proposal", proposal.id, None, snapshot(proposal))
    return proposal


def update_proposal(
    session: Session,
    actor: str,
    proposal: Proposal,
    *,
    answers: Mapping[str, Any] | None = None,
    setup: Mapping[str, Any] | None = None,
    terms: Mapping[str, Any] | None = None,
    lines: Sequence[Mapping[str, Any]] | None = None,
    clauses: Sequence[str] | None = None,
) -> Proposal:
    """Save what a step of the flow changed (parts left ``None`` stay as they are), price
    the lines by the discount rules, and move to the next revision. Everything is checked
    before anything changes; a sent proposal that is edited goes back to draft."""
    actor = require_actor(actor)
    before = snapshot(proposal)
    errors: dict[str, str] = {}
    if proposal.status not in OPEN_STATUSES:
        errors["proposal"] = f"is {proposal.status} and can no longer be changed"
    new_answers = dict(proposal.answers)
    if answers is not None:
        new_answers = clean(answers, ANSWER_FIELDS, errors)
    new_setup: dict[str, Any] = {}
    if setup is not None:
        new_setup = clean(setup, SETUP_FIELDS, errors, partial=True)
    values = _clean_terms(proposal, terms if terms is not None else proposal.terms, errors)
    line_values = _clean_proposal_lines(
        proposal, lines if lines is not None else proposal.lines, values, errors
    )
    _check_limits(proposal, values, line_values, errors)
    _check_deadline(proposal, new_setup, values, errors)
    if clauses is not None and len(set(clauses)) != len(clauses):
        errors["clauses"] = "a clause is chosen twice"
    elif clauses is not None:
        _check_clause_groups(session, clauses, errors)
    raise_if(errors)

    kept = _kept_lines(proposal, line_values)
    agreed = _agreed_line_numbers(proposal)
    pricing = price_lines(
        [
            {
                **line,
                "product": line.get("product_code") or line["product"],
                "name": line["product"],
                "agreed": line.get("line_no") in agreed,
            }
            for index, line in enumerate(line_values)
            if index not in kept
        ],
        term_months=values.get("term_months"),
        rules=load_discount_rules(),
    )
    proposal.answers = new_answers
    for key, value in new_setup.items():
        setattr(proposal, key, value)
    proposal.terms = jsonable(values)
    proposal.lines = jsonable(line_values)
    if clauses is not None:
        proposal.clauses = list(clauses)
    proposal.pricing = jsonable(_pricing_summary(pricing, line_values, kept))
    proposal.revision += 1
    proposal.status = "draft"
    session.flush()
    record(session, actor, "proposal.update", "proposal", proposal.id, before, snapshot(proposal))
    return proposal


def _check_clause_groups(session: Session, keys: Sequence[str], errors: dict[str, str]) -> None:
    """Clauses of one group exclude each other (one governing law; a fixed term or
    automatic renewal): an agreement may hold one of each group."""
    groups: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for clause in docgen_clauses(session):
        if clause.language == "en" or clause.key not in titles:
            titles[clause.key] = clause.title
        if clause.group is not None and clause.key in keys:
            groups.setdefault(clause.group, [])
            if clause.key not in groups[clause.group]:
                groups[clause.group].append(clause.key)
    clashes = [
        f"{', '.join(titles[key] for key in chosen)} exclude each other: keep one"
        for chosen in groups.values()
        if len(chosen) > 1
    ]
    if clashes:
        errors["clauses"] = "; ".join(clashes)


def _check_limits(
    proposal: Proposal,
    terms: dict[str, Any],
    lines: list[dict[str, Any]],
    errors: dict[str, str],
) -> None:
    """The limits on what the proposal offers. A renegotiation answers only for what it
    changes, as a revision does: terms and lines carried over from the contract unchanged
    are not checked again (an {} in place of a line keeps the others' numbers)."""
    base = proposal.base_version
    if base is not None:
        kept = _kept_lines(proposal, lines)
        lines = [{} if index in kept else line for index, line in enumerate(lines)]
        terms = {key: value for key, value in terms.items() if getattr(base, key) != value}
    check_contract(
        terms,
        lines,
        errors,
        today=business_today(),
        new=proposal.kind == "new",
        currency=base.currency if base is not None else None,
    )


def _check_deadline(
    proposal: Proposal,
    setup: Mapping[str, Any],
    terms: Mapping[str, Any],
    errors: dict[str, str],
) -> None:
    """A new agreement is signed by its start at the latest. A renegotiation is not held
    to it: it takes effect from today by default and is often signed a few days later."""
    deadline = setup.get("signing_deadline", proposal.signing_deadline)
    start = terms.get("start_date")
    if proposal.kind == "new" and deadline and start and deadline > start:
        errors.setdefault(
            "signing_deadline", f"must be on or before the start date ({start.isoformat()})"
        )


def _clean_terms(
    proposal: Proposal, terms: Mapping[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    values = clean(terms, TERM_FIELDS, errors, partial=False)
    complete_terms(values, proposal.customer)
    check_terms(values, errors)
    return values


def _clean_proposal_lines(
    proposal: Proposal,
    lines: Sequence[Mapping[str, Any]],
    terms: Mapping[str, Any],
    errors: dict[str, str],
) -> list[dict[str, Any]]:
    cleaned = []
    agreed = _agreed_line_numbers(proposal)
    for index, line in enumerate(lines):
        extra = {key: line.get(key) for key in LINE_EXTRA}
        fields = {key: value for key, value in line.items() if key not in LINE_EXTRA}
        mine: dict[str, str] = {}
        # A renegotiation may take a line of the contract down to nothing (seed 004).
        ((_, values),) = clean_lines(
            [fields], terms.get("start_date"), mine, allow_zero=extra["line_no"] in agreed
        )
        # clean_lines numbers from 0 for the one line it saw
        errors |= {f"lines[{index}]." + key.removeprefix("lines[0]."): v for key, v in mine.items()}
        cleaned.append(extra | values)
    return cleaned


def _agreed_line_numbers(proposal: Proposal) -> set[int]:
    """The line numbers of the contract a renegotiation continues (none for a new one)."""
    if proposal.base_version is None:
        return set()
    return {line.line_no for line in proposal.base_version.lines}


def _kept_lines(proposal: Proposal, lines: Sequence[Mapping[str, Any]]) -> set[int]:
    """The lines of a renegotiation that continue a line of the contract unchanged: they
    keep the discount agreed then, so renegotiating the price of one product never
    re-prices the others under today's rules."""
    if proposal.base_version is None:
        return set()
    agreed = {line.line_no: values_of(line) for line in proposal.base_version.lines}
    kept = set()
    for index, line in enumerate(lines):
        before = agreed.get(line.get("line_no") or 0)
        if before is not None and all(
            before[key] == line.get(key)
            for key in ("product", "quantity", "unit_price", "discount_percent", "billing_period")
        ):
            kept.add(index)
    return kept


def _pricing_summary(
    pricing: Any, lines: Sequence[Mapping[str, Any]], kept: set[int]
) -> dict[str, Any]:
    """Per line of the proposal (kept lines included, in order): the automatic, manual and
    applied discount and why."""
    priced = iter(pricing.lines)
    summary = []
    for index, line in enumerate(lines):
        if index in kept:
            summary.append(
                {
                    "automatic_percent": 0,
                    "manual_percent": line["discount_percent"],
                    "discount_percent": line["discount_percent"],
                    "reasons": ["unchanged: the discount agreed in the contract is kept"],
                }
            )
            continue
        result = next(priced)
        summary.append(
            {
                "automatic_percent": result.automatic_percent,
                "manual_percent": result.manual_percent,
                "discount_percent": result.discount_percent,
                "proposed_percent": result.proposed_percent,
                "reasons": list(result.reasons),
            }
        )
    return {
        "rules_version": pricing.rules_version,
        "needs_approval": pricing.needs_approval,
        "approval_reasons": list(pricing.approval_reasons),
        "lines": summary,
    }


def priced_lines(proposal: Proposal) -> list[dict[str, Any]]:
    """The proposal's lines with the discount the rules settled on (manual or automatic,
    whichever is higher), as a contract would get them."""
    applied = proposal.pricing.get("lines") or []
    lines = []
    for index, line in enumerate(proposal.lines):
        values = dict(line)
        if index < len(applied):
            values["discount_percent"] = applied[index]["discount_percent"]
        lines.append(values)
    return lines


def proposed_discounts(proposal: Proposal) -> dict[int, Decimal]:
    """Per line (index), the discount the rules now give a line that keeps the discount its
    contract agreed, where the two differ: a change for the user to accept, never applied
    by itself (seed 004: a quantity changed must not re-price a line silently)."""
    decisions = proposal.pricing.get("lines") or []
    return {
        index: Decimal(str(decision["proposed_percent"]))
        for index, decision in enumerate(decisions)
        if decision.get("proposed_percent") is not None
    }


def accept_proposed_discounts(session: Session, actor: str, proposal: Proposal) -> Proposal:
    """Give the lines the discounts ``proposed_discounts`` shows."""
    proposed = proposed_discounts(proposal)
    if not proposed:
        raise ValidationError({"lines": "no discount change is proposed"})
    lines = [
        dict(line) | ({"discount_percent": str(proposed[index])} if index in proposed else {})
        for index, line in enumerate(proposal.lines)
    ]
    return update_proposal(session, actor, proposal, lines=lines)


# --- approval -------------------------------------------------------------------------


def approval_state(proposal: Proposal) -> str:
    """``not_needed``, ``needed`` (not asked yet, or asked of an older revision), ``pending``,
    ``approved`` or ``rejected`` for the current revision."""
    if not proposal.pricing.get("needs_approval"):
        return "not_needed"
    current = [a for a in proposal.approvals if a.proposal_revision == proposal.revision]
    return current[-1].status if current else "needed"


def request_approval(session: Session, actor: str, proposal: Proposal) -> Approval:
    actor = require_actor(actor)
    state = approval_state(proposal)
    if state == "not_needed":
        raise ValidationError({"approval": "no discount here needs approval"})
    if state in ("pending", "approved"):
        raise ValidationError({"approval": f"is already {state} for this version"})
    approval = Approval(
        proposal=proposal,
        proposal_revision=proposal.revision,
        reasons=list(proposal.pricing.get("approval_reasons") or []),
        requested_by=actor,
    )
    session.add(approval)
    session.flush()
    record(session, actor, "approval.request", "approval", approval.id, None, snapshot(approval))
    return approval


def decide_approval(
    session: Session, actor: str, approval: Approval, *, approve: bool, note: str | None = None
) -> Approval:
    """Approve or reject; never by the one who asked, never for a proposal changed since."""
    actor = require_actor(actor)
    errors: dict[str, str] = {}
    if approval.status != "pending":
        errors["approval"] = f"is already {approval.status}"
    if approval.requested_by == actor:
        errors["approver"] = "must be someone else than the one who asked"
    if approval.proposal.revision != approval.proposal_revision:
        errors["approval"] = "the proposal has changed since it was asked: ask again"
    if not approve and not (note or "").strip():
        errors["note"] = "say why it is rejected"
    raise_if(errors)
    before = snapshot(approval)
    approval.status = "approved" if approve else "rejected"
    approval.decided_by = actor
    approval.decided_at = utcnow()
    approval.note = (note or "").strip() or None
    session.flush()
    record(session, actor, "approval.decide", "approval", approval.id, before, snapshot(approval))
    return approval


def notify_approvers(session: Session, approval: Approval) -> list[Notification]:
    """Everyone who may approve discounts (but the one who asked) hears of the request."""
    proposal = approval.proposal
    approvers = [
        user.username
        for user in session.scalars(select(User).where(User.active.is_(True)))
        if can(user.role, "approve_discounts") and user.username != approval.requested_by
    ]
    return _notify(
        session,
        approvers,
        f"Approval asked: discounts of {proposal.number} · {proposal.customer.name}",
        f"{approval.requested_by} asks for approval of the discounts of {proposal.number}:\n"
        + "\n".join(f"- {reason}" for reason in approval.reasons),
        "inbox",
    )


def notify_requester(session: Session, approval: Approval) -> list[Notification]:
    """The one who asked hears of the decision."""
    number = approval.proposal.number
    return _notify(
        session,
        [approval.requested_by],
        f"Discounts of {number} {approval.status} by {approval.decided_by}",
        f"{approval.decided_by} {approval.status} the discounts of {number}."
        + (f"\n\nNote: {approval.note}" if approval.note else ""),
        "new_agreement?" + urlencode({"proposal": number, "step": "6"}),
    )


def _notify(
    session: Session, usernames: Sequence[str], title: str, body: str, link: str
) -> list[Notification]:
    """A notification for each user (the bell); ``mail_notifications`` mails them after
    the commit to those with an address."""
    made = [
        Notification(username=name, title=title[:300], body=body, link=link)
        for name in dict.fromkeys(usernames)
    ]
    session.add_all(made)
    session.flush()
    return made


def pending_approvals(session: Session) -> list[Approval]:
    return list(
        session.scalars(
            select(Approval).where(Approval.status == "pending").order_by(Approval.requested_at)
        )
    )


# --- sending and signing --------------------------------------------------------------


def final_pdfs(proposal: Proposal) -> list[Document]:
    """The final PDFs of the proposal's current revision, oldest first: what may be sent
    and signed. A draft PDF (made before the approval it needs) is never one of them."""
    return [
        doc
        for doc in proposal.documents
        if doc.content_type == "application/pdf"
        and (doc.source or {}).get("proposal_revision") == proposal.revision
        and (doc.source or {}).get("status") != "draft"
    ]


def send_problems(proposal: Proposal, today: date | None = None) -> list[str]:
    """What stands between the proposal and sending it; empty when it may be sent."""
    today = today or business_today()
    problems = []
    if proposal.status != "draft":
        problems.append(f"it is {proposal.status}")
    if not proposal.lines:
        problems.append("it has no line items")
    if not final_pdfs(proposal):
        problems.append("generate the final PDF of this version first")
    state = approval_state(proposal)
    if state in ("needed", "pending", "rejected"):
        problems.append(f"its discounts need approval (approval: {state})")
    if proposal.signing_deadline and proposal.signing_deadline < today:
        problems.append("the signing deadline has passed")
    return problems


def send_proposal(
    session: Session, actor: str, proposal: Proposal, *, today: date | None = None
) -> Proposal:
    """Mark the proposal sent to the customer (sending by e-mail and signing links are the
    signature feature's); refused with the reasons while anything is missing."""
    actor = require_actor(actor)
    problems = send_problems(proposal, today)
    if problems:
        raise ValidationError({"send": "; ".join(problems)})
    before = snapshot(proposal)
    proposal.status = "sent"
    session.flush()
    record(session, actor, "proposal.send", "proposal", proposal.id, before, snapshot(proposal))
    return proposal


def cancel_proposal(session: Session, actor: str, proposal: Proposal, reason: str) -> Proposal:
    actor = require_actor(actor)
    if proposal.status not in OPEN_STATUSES:
        raise ValidationError({"proposal": f"is {proposal.status}"})
    if not (reason or "").strip():
        raise ValidationError({"reason": "is required"})
    before = snapshot(proposal)
    proposal.status = "cancelled"
    session.flush()
    after = snapshot(proposal) | {"reason": reason.strip()}
    record(session, actor, "proposal.cancel", "proposal", proposal.id, before, after)
    return proposal


def register_signature(
    session: Session,
    actor: str,
    proposal: Proposal,
    *,
    signed_date: date | None,
    signer_name: str,
) -> ContractVersion:
    """The customer signed: a new agreement becomes a contract, a renegotiation the next
    version of its contract (superseding the one it started from). The routing rules then
    open a task per matching rule, once per version and rule."""
    actor = require_actor(actor)
    errors: dict[str, str] = {}
    if proposal.status != "sent":
        errors["proposal"] = f"is {proposal.status}; only a sent proposal can be signed"
    if not (signer_name or "").strip():
        errors["signer_name"] = "is required"
    if signed_date is None:
        errors["signed_date"] = "is required"
    elif signed_date > business_today():
        errors["signed_date"] = "cannot be in the future"
    raise_if(errors)
    assert signed_date is not None
    before = snapshot(proposal)
    terms = dict(proposal.terms) | {"signed_date": signed_date.isoformat()}
    lines = [
        {key: value for key, value in line.items() if key not in LINE_EXTRA}
        for line in priced_lines(proposal)
    ]
    approver = _approver(proposal, actor)
    if proposal.kind == "new":
        version = create_contract(
            session,
            actor,
            proposal.customer,
            terms,
            lines,
            reason=f"{proposal.number} signed by {signer_name.strip()}",
        )
        proposal.contract = version.contract
    else:
        contract = proposal.contract
        assert contract is not None
        old = current_version(contract)
        numbered = [
            {**line, "line_no": original.get("line_no")} if original.get("line_no") else line
            for line, original in zip(lines, proposal.lines, strict=True)
        ]
        version = revise_contract(
            session,
            actor,
            contract,
            terms,
            numbered,
            proposal.effective_date or signed_date,
            f"{proposal.number} signed by {signer_name.strip()}",
            approver,
        )
        _open_tasks(session, proposal, old, version, signed_date)
    for document in proposal.documents:
        document.contract = version.contract
    proposal.status = "signed"
    proposal.signed_date = signed_date
    proposal.signer_name = signer_name.strip()
    proposal.signed_version_id = version.id
    session.flush()
    record(session, actor, "proposal.sign", "proposal", proposal.id, before, snapshot(proposal))
    return version


def _approver(proposal: Proposal, actor: str) -> str | None:
    approved = [a for a in proposal.approvals if a.status == "approved"]
    name = approved[-1].decided_by if approved else None
    return name if name != actor else None


def _routing_view(version: ContractVersion) -> dict[str, Any]:
    return {"start_date": version.start_date, "lines": [values_of(line) for line in version.lines]}


def _open_tasks(
    session: Session,
    proposal: Proposal,
    old: ContractVersion,
    new: ContractVersion,
    signed_on: date,
) -> list[Task]:
    contract = new.contract
    original = min(
        (v for v in contract.versions if v.signed_date is not None),
        key=lambda v: v.version_no,
        default=None,
    )
    licences = [(p.code, p.name) for p in session.scalars(select(Product)) if p.licence]
    routes = route(
        _routing_view(old),
        _routing_view(new),
        original_signed_date=original.signed_date if original else None,
        signed_on=signed_on,
        rules=with_catalogue(load_routing_rules(), licences),
        effective_date=proposal.effective_date or signed_on,
    )
    tasks = []
    for found in routes:
        task = Task(
            team=found.team,
            rule=found.rule,
            action=found.action,
            title=f"{found.title}: {contract.contract_number} {contract.customer.name}",
            contract=contract,
            version_id=new.id,
            proposal_id=proposal.id,
            changes=jsonable(found.changes),
            rules_version=found.rules_version,
        )
        session.add(task)
        tasks.append(task)
    session.flush()
    for task in tasks:
        record(session, SYSTEM_ROUTER, "task.open", "task", task.id, None, snapshot(task))
    return tasks


def open_tasks(session: Session, team: str | None = None) -> list[Task]:
    query = select(Task).where(Task.status == "open").order_by(Task.created_at, Task.id)
    if team:
        query = query.where(Task.team == team)
    return list(session.scalars(query))


def complete_task(session: Session, actor: str, task: Task, note: str | None = None) -> Task:
    actor = require_actor(actor)
    if task.status == "done":
        raise ValidationError({"task": f"was done by {task.done_by}"})
    before = snapshot(task)
    task.status = "done"
    task.done_by = actor
    task.done_at = utcnow()
    task.note = (note or "").strip() or None
    session.flush()
    record(session, actor, "task.done", "task", task.id, before, snapshot(task))
    return task
