"""Reads for the guided agreement flow, the inbox and the template library (SPEC C, D).

Like ops_data: cached functions keyed by the database URL and its ``ops_data.version``,
so any write misses the cache; plain values and DataFrames out, no ORM objects, no UI.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import ops_data
import pandas as pd
import streamlit as st
import yaml
from ops_data import TTL, Version
from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.dates import add_months
from avtale.dates import today as business_today
from avtale.repository import agreements, generation, library
from avtale.repository.db import session_scope
from avtale.repository.documents import documents_dir
from avtale.repository.models import Contract, Document, Proposal, Task, Template
from avtale.repository.terms import LINE_FIELDS, TERM_FIELDS, line_mrr
from avtale.repository.validation import clean
from avtale.settings import paths

TEAMS = {
    "invoicing": "Invoicing",
    "customer_success": "Customer success",
    "sales_registration": "Sales registration",
}
EDITOR_LINE_COLUMNS = ["line_no", "product_code", *LINE_FIELDS]


def _read(url: str) -> Any:
    return session_scope(ops_data._engine(url), readonly=True)


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


@st.cache_data(ttl=TTL)
def proposal_view(url: str, version: Version, number: str) -> ProposalView | None:
    with _read(url) as session:
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
                "mrr": float(line_mrr(_decimals(line))),
            }
        )
    columns = ["line", "product", "quantity", "unit_price", "automatic_percent", "why"]
    columns += ["manual_percent", "discount_percent", "mrr"]
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


# --- lists --------------------------------------------------------------------------


@st.cache_data(ttl=TTL)
def open_proposals(url: str, version: Version) -> pd.DataFrame:
    with _read(url) as session:
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


@st.cache_data(ttl=TTL)
def open_renegotiation(url: str, version: Version, contract_number: str) -> str | None:
    """The open proposal renegotiating this contract, if any."""
    with _read(url) as session:
        return session.scalar(
            select(Proposal.number)
            .join(Contract, Proposal.contract_id == Contract.id)
            .where(
                Contract.contract_number == contract_number,
                Proposal.kind == "renegotiation",
                Proposal.status.in_(agreements.OPEN_STATUSES),
            )
        )


@st.cache_data(ttl=TTL)
def catalogue(url: str, version: Version) -> dict[str, dict[str, Any]]:
    """Product code -> name, billing, and price by (price list, currency)."""
    with _read(url) as session:
        return {
            product.code: {
                "name": product.name,
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


@st.cache_data(ttl=TTL)
def price_lists(url: str, version: Version) -> list[str]:
    with _read(url) as session:
        return library.price_lists(session)


# --- templates and clauses ----------------------------------------------------------


@st.cache_data(ttl=TTL)
def templates(url: str, version: Version) -> pd.DataFrame:
    """Every version of every template, newest first within a key."""
    with _read(url) as session:
        rows = session.scalars(select(Template).order_by(Template.key, Template.version_no.desc()))
        data = [
            {
                "id": t.id,
                "key": t.key,
                "version_no": t.version_no,
                "name": t.name,
                "purpose": t.purpose,
                "format": t.format,
                "note": t.note,
                "created_by": t.created_by,
                "created_at": t.created_at,
                "sha256": t.sha256,
            }
            for t in rows
        ]
    columns = ["id", "key", "version_no", "name", "purpose", "format", "note"]
    return pd.DataFrame(data, columns=[*columns, "created_by", "created_at", "sha256"])


def template_body(url: str, template_id: int) -> bytes:
    """A template version's file, read when asked for (a download, the HTML editor)."""
    with _read(url) as session:
        template = session.get(Template, template_id)
        return template.body if template else b""


@st.cache_data(ttl=TTL)
def clause_library(url: str, version: Version) -> pd.DataFrame:
    """The newest version of every clause in every language, inactive ones too."""
    with _read(url) as session:
        data = [
            {
                "key": c.key,
                "language": c.language,
                "version_no": c.version_no,
                "title": c.title,
                "sort_order": c.sort_order,
                "active": c.active,
                "conditions": yaml.safe_dump(c.conditions, sort_keys=False).strip()
                if c.conditions
                else "",
                "body": c.body,
                "created_by": c.created_by,
            }
            for c in library.latest_clauses(session, active_only=False)
        ]
    columns = ["key", "language", "version_no", "title", "sort_order", "active", "conditions"]
    return pd.DataFrame(data, columns=[*columns, "body", "created_by"])


# --- inbox --------------------------------------------------------------------------

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


@st.cache_data(ttl=TTL)
def open_tasks(url: str, version: Version) -> pd.DataFrame:
    with _read(url) as session:
        return _tasks(agreements.open_tasks(session))


@st.cache_data(ttl=TTL)
def pending_approvals(url: str, version: Version) -> list[dict[str, Any]]:
    """Approvals waiting for a decision, oldest first, each with the proposal's priced lines
    so the approver sees what they approve."""
    with _read(url) as session:
        return [
            {
                "id": a.id,
                "proposal": a.proposal.number,
                "customer": a.proposal.customer.name,
                "reasons": list(a.reasons or []),
                "requested_by": a.requested_by,
                "requested_at": a.requested_at,
                "current": a.proposal.revision == a.proposal_revision,
                "priced": _priced(a.proposal),
                "currency": a.proposal.terms.get("currency") or "NOK",
            }
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
    if "start_date" in changes:
        old, new = changes["start_date"]
        shown.append(("Start date", f"{old or '–'} → {new or '–'}"))
    return shown


def _price(value: dict[str, Any]) -> str:
    discount = Decimal(str(value.get("discount_percent") or 0))
    return f"{value.get('unit_price')}" + (f" less {discount.normalize():f} %" if discount else "")


# --- contract page ------------------------------------------------------------------


@st.cache_data(ttl=TTL)
def document_notes(url: str, version: Version, contract_number: str) -> dict[int, str]:
    """For the contract's generated documents: "version 2 · template agreement v1"."""
    with _read(url) as session:
        rows = session.scalars(
            select(Document)
            .join(Contract, Document.contract_id == Contract.id)
            .where(Contract.contract_number == contract_number, Document.kind == "generated")
        )
        notes = {}
        for d in rows:
            source = d.source or {}
            template = source.get("template") or {}
            made = f"template {template.get('key')} v{template.get('version')}"
            if d.doc_version:
                made = f"version {d.doc_version} · {made}"
            elif source.get("period"):
                made = f"invoice {source['period']} · {made}"
            notes[d.id] = made
        return notes


def invoice_months(start: date | None, end: date | None) -> list[date]:
    """First days of the months an invoice may be made for: from the contract's start to
    its end, or a year from now for one that runs on; at most the last five years."""
    today = business_today()
    first = add_months(today.replace(day=1), -60)
    if start is not None:
        first = max(first, start.replace(day=1))
    last = (end or add_months(today, 12)).replace(day=1)
    months = []
    while first <= last:
        months.append(first)
        first = add_months(first, 1)
    return months


def this_month(months: list[date]) -> int | None:
    """The index of the current month in ``months``, else of the last one."""
    now = business_today().replace(day=1)
    if now in months:
        return months.index(now)
    return len(months) - 1 if months else None


# --- preview ------------------------------------------------------------------------


def pdf_viewer() -> bool:
    """Whether ``st.pdf`` can show a PDF (it needs the streamlit-pdf component)."""
    return hasattr(st, "pdf") and find_spec("streamlit_pdf") is not None


@st.cache_data(ttl=TTL, max_entries=20)
def first_page_png(stored_path: str) -> bytes | None:
    """The first page of a stored PDF as a small PNG (poppler's pdftoppm), or None when
    pdftoppm is not installed or fails. Keyed by path: stored files are content-addressed."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        return None
    source = documents_dir(paths()) / Path(stored_path)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "page"
        done = subprocess.run(
            [tool, "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", source, target],
            capture_output=True,
            timeout=30,
            check=False,
        )
        image = target.with_suffix(".png")
        return image.read_bytes() if done.returncode == 0 and image.exists() else None
