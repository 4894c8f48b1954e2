"""Documents from templates (SPEC D1-D5): the context a template sees, built from a proposal
or a contract, rendered by ``docgen`` and stored by content hash with what made it.

A document is generated whole or not at all: a missing required field or a template error
raises ``ValidationError`` naming it, and nothing is stored.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import docgen
from avtale.dates import add_months
from avtale.dates import today as business_today
from avtale.repository.agreements import LANGUAGE_BY_COUNTRY, approval_state, priced_lines
from avtale.repository.audit import record, snapshot
from avtale.repository.contracts import current_version
from avtale.repository.documents import documents_dir, write_blob
from avtale.repository.library import as_docgen, docgen_clauses, latest_template
from avtale.repository.models import (
    Contract,
    ContractVersion,
    Document,
    Product,
    Proposal,
    Template,
)
from avtale.repository.terms import values_of
from avtale.repository.validation import ValidationError, raise_if, require_actor
from avtale.rules.loading import RuleError, config_file
from avtale.rules.vat import VatRules, VatTreatment, load_vat_rules, vat_for
from avtale.settings import Paths, load_seller, seller_country
from avtale.valuation import line_mrr
from avtale.vocabulary import ONE_OFF, period_months

LOGO = Path(docgen.__file__).resolve().parent / "builtin" / "logo.svg"
# What the changes table of a renegotiation compares, line by line (labels change_<key>).
CHANGED = ("quantity", "unit_price", "discount_percent", "start_date")


def vat_rules(paths: Paths) -> VatRules:
    """``$AVTALE_HOME/vat.yaml`` if there is one, else the shipped rules."""
    return load_vat_rules(config_file(paths.home, "vat.yaml"))


def seller(paths: Paths) -> dict[str, Any]:
    """The sending company as templates see it: ``$AVTALE_HOME/seller.yaml`` if there is
    one, else the default; with the logo."""
    try:
        me = load_seller(config_file(paths.home, "seller.yaml"), vat_rules(paths))
    except RuleError as problem:
        raise ValidationError({"seller": str(problem)}) from None
    logo = base64.b64encode(LOGO.read_bytes()).decode("ascii")
    return me.context() | {"logo": f"data:image/svg+xml;base64,{logo}"}


def _line_context(values: dict[str, Any]) -> dict[str, Any]:
    quantity, price = Decimal(str(values["quantity"])), Decimal(str(values["unit_price"]))
    discount = Decimal(str(values.get("discount_percent") or 0))
    typed = values | {"quantity": quantity, "unit_price": price, "discount_percent": discount}
    return {
        "product": values["product"],
        "description": values.get("description") or "",
        "quantity": quantity,
        "unit_price": price,
        "discount_percent": discount,
        "discount_end_date": values.get("discount_end_date"),
        "billing_period": values["billing_period"],
        "billing_interval_months": values.get("billing_interval_months"),
        "period_amount": quantity * price * (1 - discount / 100),
        "mrr": line_mrr(typed),
        "recurring": values["billing_period"] != ONE_OFF,
    }


def in_language(
    session: Session, lines: list[dict[str, Any]], language: str
) -> list[dict[str, Any]]:
    """The lines with each catalogue product named in the document's ``language``: a line
    whose product is its catalogue product's default name (the flow filled it in) gets the
    product's name in that language, or keeps the default; a name typed by hand stays."""
    codes = {line["product_code"] for line in lines if line.get("product_code")}
    if not codes:
        return lines
    products = {
        product.code: product
        for product in session.scalars(select(Product).where(Product.code.in_(codes)))
    }
    named = []
    for line in lines:
        product = products.get(line.get("product_code") or "")
        if product is not None and line.get("product") in (None, "", product.name):
            line = line | {"product": product.name_in(language)}
        named.append(line)
    return named


def _totals(lines: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    mrr = sum((line["mrr"] for line in lines), Decimal(0))
    one_off = sum((line["period_amount"] for line in lines if not line["recurring"]), Decimal(0))
    return {"mrr": mrr, "arr": mrr * 12, "one_off": one_off, "currency": currency}


def _customer_context(customer: Any) -> dict[str, Any]:
    return {
        "name": customer.name,
        "customer_number": customer.customer_number,
        "org_number": customer.org_number,
        "country": customer.country,
        "address": None,
    }


def proposal_context(
    session: Session, paths: Paths, proposal: Proposal, *, purpose: str, version: int
) -> dict[str, Any]:
    """Everything a template may print for ``proposal`` (docs/documents.md)."""
    terms = proposal.terms
    named = in_language(session, priced_lines(proposal), proposal.language)
    lines = [_line_context(line) for line in named]
    chosen = chosen_clauses(session, proposal)
    me = seller(paths)
    signer = next((c for c in proposal.customer.contacts if c.may_sign), None)
    context: dict[str, Any] = {
        "document": {
            "number": proposal.number,
            "title": terms.get("title"),
            "purpose": purpose,
            "language": proposal.language,
            "date": business_today(),
            "version": version,
            "status": "final",
        },
        "seller": me,
        "customer": _customer_context(proposal.customer),
        "contract": {
            key: terms.get(key)
            for key in (
                "title",
                "owner",
                "start_date",
                "end_date",
                "term_months",
                "lock_in_months",
                "notice_months",
                "auto_renew",
                "renewal_term_months",
                "payment_terms_days",
                "currency",
                "sla",
                "price_adjustment_rule",
                "price_adjustment_pct",
            )
        }
        | {
            "price_adjustment_rule": _adjustment(terms.get("price_adjustment_rule"), proposal),
            "number": proposal.contract.contract_number if proposal.contract else proposal.number,
            "signing_deadline": proposal.signing_deadline,
            "previous_number": proposal.contract.contract_number if proposal.contract else None,
            "effective_date": _effective_date(proposal),
        },
        "lines": lines,
        "totals": _totals(lines, terms.get("currency") or "NOK"),
        "changes": _changes(session, proposal) if proposal.kind == "renegotiation" else [],
        "clauses": [
            {"key": c.key, "version": c.version, "title": c.title, "body": c.body} for c in chosen
        ],
        "free_text": proposal.free_text or "",
        "signatories": {
            "seller": {"name": terms.get("owner") or me["signatory_name"], "title": ""},
            "customer": {
                "name": proposal.signer_name or (signer.name if signer else None),
                "title": signer.title if signer else "",
            },
        },
    }
    if context["signatories"]["seller"]["name"] == me["signatory_name"]:
        context["signatories"]["seller"]["title"] = me["signatory_title"]
    return context


def _adjustment(rule: str | None, proposal: Proposal) -> str | None:
    """The price adjustment rule in the document's words; None (not printed) for none."""
    if not rule or rule == "none":
        return None
    return str(docgen.load_labels(proposal.language)[f"adjustment_{rule}"])


def _effective_date(proposal: Proposal) -> date | None:
    """The day the new terms apply: a renegotiation's effective date, an upgrade's or a
    downgrade's start; None (not printed) for a new agreement."""
    if proposal.kind == "renegotiation":
        return proposal.effective_date
    if proposal.answers.get("proposal") in ("upgrade", "downgrade"):
        start = proposal.terms.get("start_date")
        return date.fromisoformat(start) if isinstance(start, str) else start
    return None


def _changes(session: Session, proposal: Proposal) -> list[dict[str, Any]]:
    """Old -> new per line for quantity, price, discount and start date (what seed 004
    reports), worded and formatted in the document's language."""
    base = proposal.base_version
    if base is None:
        return []
    fmt = docgen.Formatter(proposal.language)
    currency = proposal.terms.get("currency") or "NOK"
    shown: dict[str, Callable[[Any], str]] = {
        "quantity": lambda value: _quantity(fmt, value),
        "unit_price": lambda value: fmt.money(value, currency, max_places=4),
        "discount_percent": fmt.percent,
        "start_date": fmt.date,
    }
    old = {line.line_no: values_of(line) for line in base.lines}
    changes = []
    for line in in_language(session, priced_lines(proposal), proposal.language):
        before = old.get(line["line_no"]) if line.get("line_no") else None
        name = line["product"]
        if before is None:
            label = f"{name}: {fmt.labels['change_added']}"
            changes.append({"label": label, "old": "", "new": _quantity(fmt, line["quantity"])})
            continue
        for key in CHANGED:
            was, now = before[key], line.get(key)
            if key == "start_date":
                now = date.fromisoformat(now) if isinstance(now, str) else now
                same = was == now
            else:
                same = Decimal(str(was or 0)) == Decimal(str(now or 0))
            if not same:
                changes.append(
                    {
                        "label": f"{name}: {fmt.labels['change_' + key]}",
                        "old": shown[key](was or 0),
                        "new": shown[key](now or 0),
                    }
                )
    kept = {line.get("line_no") for line in proposal.lines}
    for number, values in old.items():
        if number not in kept:
            label = f"{values['product']}: {fmt.labels['change_removed']}"
            changes.append({"label": label, "old": _quantity(fmt, values["quantity"]), "new": ""})
    return changes


def _quantity(fmt: docgen.Formatter, value: object) -> str:
    number = Decimal(str(value))
    return fmt.number(number, 0 if number == number.to_integral_value() else 2)


def proposed_clauses(session: Session, proposal: Proposal) -> list[docgen.Clause]:
    """The library's clauses whose conditions match the proposal's answers, in order."""
    terms = proposal.terms
    answers = dict(proposal.answers) | {
        "products": sorted(
            {line.get("product_code") or line["product"] for line in proposal.lines}
        ),
        "country": proposal.customer.country,
        "term_months": terms.get("term_months"),
        "auto_renew": terms.get("auto_renew"),
    }
    return docgen.select_clauses(
        [c for c in docgen_clauses(session) if c.language in (proposal.language, "en")],
        answers | {"language": proposal.language},
    )


def chosen_clauses(session: Session, proposal: Proposal) -> list[docgen.Clause]:
    """The clauses the user kept (``proposal.clauses``, keys in order), in the document
    language (English where a clause has no translation); the proposed ones until chosen."""
    if proposal.clauses is None:
        return proposed_clauses(session, proposal)
    by_key: dict[str, docgen.Clause] = {}
    for clause in docgen_clauses(session):
        if clause.language == proposal.language or (
            clause.language == "en" and clause.key not in by_key
        ):
            by_key[clause.key] = clause
    return [by_key[key] for key in proposal.clauses if key in by_key]


def _template(session: Session, key: str, fmt: str) -> Template:
    wanted = "html" if fmt == "pdf" else "docx"
    template = latest_template(session, key)
    if template is not None and template.format == wanted:
        return template
    # A Word draft of an HTML template's document: the Word template of the same purpose.
    purpose = template.purpose if template else "agreement"
    fallback = session.scalar(
        select(Template)
        .where(Template.format == wanted, Template.purpose == purpose)
        .order_by(Template.key, Template.version_no.desc())
        .limit(1)
    )
    if fallback is None:
        raise ValidationError({"template": f"there is no {wanted} template for {purpose}"})
    return latest_template(session, fallback.key) or fallback


def generate_for_proposal(
    session: Session,
    actor: str,
    paths: Paths,
    proposal: Proposal,
    fmt: str,
    *,
    draft: bool = False,
) -> Document:
    """A final PDF (``fmt="pdf"``), a draft PDF marked as such on every page (``draft``), or
    an editable Word draft (``"docx"``) of the proposal, stored on it (and on its contract
    once there is one) with its hash and version. A final PDF waits for the discount
    approval the proposal needs; a draft may be made before it."""
    actor = require_actor(actor)
    errors: dict[str, str] = {}
    if fmt not in ("pdf", "docx"):
        errors["format"] = "must be pdf or docx"
    elif fmt == "pdf" and not draft and approval_state(proposal) != "not_needed":
        state = approval_state(proposal)
        if state != "approved":
            errors["approval"] = (
                f"the discounts need approval before the final PDF (approval: {state}); "
                "make a draft PDF until then"
            )
    if proposal.status not in ("draft", "sent"):
        errors["proposal"] = f"is {proposal.status}"
    if not proposal.lines:
        errors["lines"] = "add at least one line item first"
    raise_if(errors)
    template = _template(session, proposal.template_key, fmt)
    purpose = "renegotiation" if proposal.kind == "renegotiation" else "agreement"
    doc_version = 1 + (
        session.scalar(
            select(func.max(Document.doc_version)).where(Document.proposal_id == proposal.id)
        )
        or 0
    )
    context = proposal_context(session, paths, proposal, purpose=purpose, version=doc_version)
    if fmt == "docx" or draft:
        context["document"]["status"] = "draft"
    rendered = render_template(template, context, fmt)
    source = {
        "template": {"key": template.key, "version": template.version_no, "id": template.id},
        "clauses": [{"key": c["key"], "version": c["version"]} for c in context["clauses"]],
        "language": proposal.language,
        "purpose": purpose,
        "proposal_revision": proposal.revision,
        "rules_version": proposal.pricing.get("rules_version"),
        "status": context["document"]["status"],
    }
    filename = f"{proposal.number}-v{doc_version}{rendered.suffix}"
    return store_document(
        session,
        actor,
        paths,
        rendered,
        filename,
        source,
        contract=proposal.contract,
        proposal=proposal,
        doc_version=doc_version,
    )


def render_template(template: Template, context: dict[str, Any], fmt: str) -> docgen.Rendered:
    try:
        return docgen.generate(as_docgen(template), context, fmt="pdf" if fmt == "pdf" else "docx")
    except docgen.DocumentError as problem:
        raise ValidationError({"document": str(problem)}) from problem


def pdf_job(template: Template, context: dict[str, Any]) -> docgen.PdfJob:
    """The PDF ``render_template`` would make, filled in but not laid out yet (for a batch)."""
    try:
        return docgen.pdf_job(as_docgen(template), context)
    except docgen.DocumentError as problem:
        raise ValidationError({"document": str(problem)}) from problem


def store_document(
    session: Session,
    actor: str,
    paths: Paths,
    rendered: docgen.Rendered,
    filename: str,
    source: dict[str, Any],
    *,
    contract: Contract | None,
    proposal: Proposal | None,
    doc_version: int | None,
) -> Document:
    sha256 = hashlib.sha256(rendered.content).hexdigest()
    stored_path = write_blob(documents_dir(paths), rendered.content, sha256, rendered.suffix)
    document = Document(
        contract=contract,
        customer=proposal.customer if proposal else contract.customer if contract else None,
        kind="generated",
        filename=filename,
        content_type=rendered.content_type,
        size_bytes=len(rendered.content),
        sha256=sha256,
        stored_path=stored_path,
        uploaded_by=actor,
        proposal=proposal,
        doc_version=doc_version,
        source=source,
    )
    session.add(document)
    session.flush()
    record(session, actor, "document.generate", "document", document.id, None, snapshot(document))
    return document


# --- invoices -----------------------------------------------------------------------


def invoice_lines(version: ContractVersion, period_start: date) -> list[dict[str, Any]]:
    """The lines billed in the month of ``period_start``: a recurring line when a billing
    period of it begins in that month (counted from the line's start), a one-off line in the
    month it starts. Weekly lines are billed monthly: 52/12 weeks' worth."""
    month = period_start.replace(day=1)
    next_month = add_months(month, 1)
    billed = []
    for line in version.lines:
        values = values_of(line)
        if line.start_date >= next_month or (line.end_date and line.end_date < month):
            continue
        months = period_months(line.billing_period, line.billing_interval_months)
        start_month = line.start_date.replace(day=1)
        if months is None:
            due = start_month == month
            amount_periods = Decimal(1)
        elif line.billing_period == "weekly":
            due, amount_periods = True, Decimal(52) / Decimal(12)
        else:
            elapsed = (month.year - start_month.year) * 12 + month.month - start_month.month
            due, amount_periods = elapsed % int(months) == 0, Decimal(1)
        if due:
            context = _line_context(values)
            context["period_amount"] = context["period_amount"] * amount_periods
            billed.append(context)
    return billed


def _vat(paths: Paths, buyer_country: str, on: date, language: str) -> tuple[VatTreatment, int]:
    """The invoice's VAT and the version of the rules that said it; a seller.yaml or
    vat.yaml that cannot say it is named as such."""
    try:
        rules = vat_rules(paths)
        seller_at = seller_country(config_file(paths.home, "seller.yaml"), rules)
        return vat_for(seller_at, buyer_country, on, language=language, rules=rules), rules.version
    except RuleError as problem:
        raise ValidationError({"vat": str(problem)}) from None


def generate_invoice(
    session: Session,
    actor: str,
    paths: Paths,
    contract: Contract,
    *,
    period_start: date,
    language: str | None = None,
    template_key: str = "invoice",
) -> Document:
    """An invoice PDF for what the contract bills in the month of ``period_start`` (D5)."""
    actor = require_actor(actor)
    month_end = add_months(period_start.replace(day=1), 1) - timedelta(days=1)
    try:
        # The terms in force by the month's end: a contract starting mid-month is billed.
        version = current_version(contract, month_end)
    except LookupError:
        raise ValidationError({"period_start": "the contract has not started by then"}) from None
    lines = invoice_lines(version, period_start)
    if not lines:
        raise ValidationError({"period_start": "nothing is billed on this contract that month"})
    customer = contract.customer
    if not customer.country:
        raise ValidationError(
            {"country": f"{customer.name} has no country: set it on the customer to invoice"}
        )
    issue = business_today()
    language = language or LANGUAGE_BY_COUNTRY.get(customer.country, "en")
    treatment, vat_rules = _vat(paths, customer.country, issue, language)
    net = sum((line["period_amount"] for line in lines), Decimal(0))
    vat = (net * treatment.rate / 100).quantize(Decimal("0.01"))
    net = net.quantize(Decimal("0.01"))
    count = session.scalar(select(func.count(Document.id)).where(Document.kind == "generated"))
    number = f"INV-{contract.contract_number}-{period_start:%Y%m}"
    me = seller(paths)
    context = {
        "document": {
            "number": number,
            "title": f"{contract.contract_number} {period_start:%Y-%m}",
            "purpose": "invoice",
            "language": language,
            "date": issue,
            "version": (count or 0) + 1,
            "status": "final",
        },
        "seller": me,
        "customer": _customer_context(customer),
        "contract": {
            "number": contract.contract_number,
            "title": version.title,
            "currency": version.currency,
            "payment_terms_days": version.payment_terms_days,
        },
        "lines": lines,
        "totals": _totals(lines, version.currency),
        "invoice": {
            "number": number,
            "issue_date": issue,
            "due_date": issue + timedelta(days=version.payment_terms_days or 14),
            "period_start": period_start.replace(day=1),
            "period_end": month_end,
            "net": net,
            "vat_rate": treatment.rate,
            "vat_category": treatment.category,
            "vat_note": treatment.note,
            "vat": vat,
            "gross": net + vat,
        },
        "signatories": {"seller": {"name": "", "title": ""}, "customer": {"name": "", "title": ""}},
        "changes": [],
        "clauses": [],
        "free_text": "",
    }
    template = latest_template(session, template_key)
    if template is None or template.purpose != "invoice":
        raise ValidationError({"template": f"{template_key} is not an invoice template"})
    rendered = render_template(template, context, "pdf")
    source = {
        "template": {"key": template.key, "version": template.version_no, "id": template.id},
        "purpose": "invoice",
        "language": language,
        "contract_version": version.version_no,
        "period": f"{period_start:%Y-%m}",
        "vat": {"category": treatment.category, "rate": str(treatment.rate), "rules": vat_rules},
    }
    return store_document(
        session,
        actor,
        paths,
        rendered,
        f"{number}.pdf",
        source,
        contract=contract,
        proposal=None,
        doc_version=None,
    )
