"""Templates, the clause library and the product catalogue: versioned, admin-edited data
(SPEC D1, D2, C1). A change is a new version; documents record the versions that made them.

The built-in defaults (``docgen/builtin``, ``avtale/rules/catalogue.yaml``) are installed
once into an empty database by ``install_defaults``; after that the database is the truth.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

import docgen
from avtale.repository.audit import record, snapshot
from avtale.repository.models import (
    TEMPLATE_FORMATS,
    TEMPLATE_PURPOSES,
    Clause,
    Price,
    Product,
    Template,
)
from avtale.repository.validation import Field, clean, raise_if, require_actor
from avtale.rules.catalogue import load_catalogue
from docgen.template_limits import check_template

BUILTIN_CLAUSES = Path(docgen.__file__).resolve().parent / "builtin" / "clauses.yaml"
SYSTEM = "system"

TEMPLATE_FIELDS = {
    "name": Field("text", required=True, max_length=200),
    "purpose": Field("choice", required=True, choices=TEMPLATE_PURPOSES),
    "format": Field("choice", required=True, choices=TEMPLATE_FORMATS),
    "note": Field("text", max_length=2000),
}
CLAUSE_FIELDS = {
    "title": Field("text", required=True, max_length=200),
    "body": Field("text", required=True, max_length=20_000),
    "sort_order": Field("int", required=True, minimum=0, maximum=10_000),
    "clause_group": Field("text", max_length=60),
    "active": Field("bool"),
    "conditions": Field("dict"),
}


# --- templates ----------------------------------------------------------------------


def template_problems(body: bytes, fmt: str, purpose: str) -> list[str]:
    """Why a template cannot be used, as "line 7: ..." messages; empty when it can.

    Never raises, whatever the upload: a file too large, not text, that loops or prints
    without end or breaks out of the sandbox is refused with the reason (the limits are in
    ``docgen.template_limits``, which checks in a child process).
    """
    try:
        problems = check_template(body, fmt, purpose)
    except Exception as exc:  # e.g. no process could be started: still an answer
        return [f"could not be checked ({type(exc).__name__}: {exc})"]
    return [
        f"line {problem.line}: {problem.message}" if problem.line else problem.message
        for problem in problems
    ]


def save_template(
    session: Session,
    actor: str,
    key: str,
    data: Mapping[str, Any],
    body: bytes,
    *,
    problems: Sequence[str] | None = None,
) -> Template:
    """A new version of template ``key`` (version 1 if the key is new), refused with the
    line and reason when the template does not compile or names an unknown field.

    ``problems`` is what ``template_problems`` said of ``body`` when the caller checked it
    before opening the transaction: the check runs a child process for seconds, and the
    transaction would hold the database's write lock all that time. Without it the body is
    checked here.
    """
    actor = require_actor(actor)
    errors: dict[str, str] = {}
    values = clean(data, TEMPLATE_FIELDS, errors)
    if not key or not key.replace("-", "").replace("_", "").isalnum() or len(key) > 60:
        errors["key"] = "use letters, digits, - and _ (at most 60)"
    if not body:
        errors["body"] = "is empty"
    latest = latest_template(session, key) if key else None
    if latest is not None and values.get("format") and latest.format != values["format"]:
        errors["format"] = f"{key} is a {latest.format} template; upload a new key instead"
    if not errors:
        if problems is None:
            problems = template_problems(body, values["format"], values["purpose"])
        if problems:
            errors["body"] = "; ".join(problems)
    raise_if(errors)
    template = Template(
        key=key,
        version_no=(latest.version_no + 1) if latest else 1,
        body=body,
        sha256=hashlib.sha256(body).hexdigest(),
        created_by=actor,
        **values,
    )
    session.add(template)
    session.flush()
    record(
        session,
        actor,
        "template.save",
        "template",
        template.id,
        None,
        snapshot(template, ("body",)),
    )
    return template


def latest_template(session: Session, key: str) -> Template | None:
    return session.scalar(
        select(Template).where(Template.key == key).order_by(Template.version_no.desc()).limit(1)
    )


def latest_templates(session: Session) -> list[Template]:
    """The newest version of every template, by key."""
    newest = (
        select(Template.key, func.max(Template.version_no).label("version_no"))
        .group_by(Template.key)
        .subquery()
    )
    return list(
        session.scalars(
            select(Template)
            .join(
                newest,
                (Template.key == newest.c.key) & (Template.version_no == newest.c.version_no),
            )
            .order_by(Template.key)
        )
    )


def as_docgen(template: Template) -> docgen.Template:
    return docgen.Template(
        key=template.key,
        version=template.version_no,
        format=template.format,
        purpose=template.purpose,
        body=template.body,
    )


# --- clauses ------------------------------------------------------------------------


def save_clause(
    session: Session, actor: str, key: str, language: str, data: Mapping[str, Any]
) -> Clause:
    """A new version of clause ``key`` in ``language``; conditions are checked by name."""
    actor = require_actor(actor)
    errors: dict[str, str] = {}
    values = clean(data, CLAUSE_FIELDS, errors)
    if language not in docgen.LANGUAGES:
        errors["language"] = "must be one of: " + ", ".join(docgen.LANGUAGES)
    if not key or len(key) > 60:
        errors["key"] = "is required (at most 60 characters)"
    problems = docgen.check_conditions(values.get("conditions") or {})
    if problems:
        errors["conditions"] = "; ".join(problems)
    raise_if(errors)
    latest = session.scalar(
        select(func.max(Clause.version_no)).where(Clause.key == key, Clause.language == language)
    )
    clause = Clause(
        key=key,
        language=language,
        version_no=(latest or 0) + 1,
        title=values["title"],
        body=values["body"],
        sort_order=values["sort_order"],
        clause_group=values["clause_group"],
        active=True if values["active"] is None else values["active"],
        conditions=values["conditions"] or {},
        created_by=actor,
    )
    session.add(clause)
    session.flush()
    record(session, actor, "clause.save", "clause", clause.id, None, snapshot(clause))
    return clause


def latest_clauses(session: Session, *, active_only: bool = True) -> list[Clause]:
    """The newest version of every clause in every language."""
    newest = (
        select(Clause.key, Clause.language, func.max(Clause.version_no).label("version_no"))
        .group_by(Clause.key, Clause.language)
        .subquery()
    )
    query = select(Clause).join(
        newest,
        (Clause.key == newest.c.key)
        & (Clause.language == newest.c.language)
        & (Clause.version_no == newest.c.version_no),
    )
    if active_only:
        query = query.where(Clause.active.is_(True))
    return list(session.scalars(query.order_by(Clause.sort_order, Clause.key, Clause.language)))


def docgen_clauses(session: Session) -> list[docgen.Clause]:
    return [
        docgen.Clause(
            key=clause.key,
            version=clause.version_no,
            language=clause.language,
            title=clause.title,
            body=clause.body,
            conditions=clause.conditions or {},
            order=clause.sort_order,
            group=clause.clause_group,
        )
        for clause in latest_clauses(session)
    ]


# --- catalogue ----------------------------------------------------------------------


def catalogue(session: Session) -> list[Product]:
    return list(
        session.scalars(
            select(Product)
            .where(Product.active.is_(True))
            .options(selectinload(Product.prices))
            .order_by(Product.code)
        )
    )


def list_price(product: Product, price_list: str, currency: str) -> Decimal | None:
    """The product's price on a price list in a currency; None when it has none there."""
    for price in product.prices:
        if price.price_list == price_list and price.currency == currency:
            return price.unit_price
    return None


def price_lists(session: Session) -> list[str]:
    return list(session.scalars(select(Price.price_list).distinct().order_by(Price.price_list)))


# --- defaults -----------------------------------------------------------------------


def install_defaults(session: Session) -> dict[str, int]:
    """Put the built-in templates, clauses and catalogue into a database that has none of
    them; what is there already is left alone. Counts of what was added."""
    added = {"templates": 0, "clauses": 0, "products": 0}
    for builtin in docgen.builtin_templates():
        if latest_template(session, builtin.key) is None:
            session.add(
                Template(
                    key=builtin.key,
                    version_no=1,
                    name=builtin.name,
                    purpose=builtin.purpose,
                    format=builtin.format,
                    body=builtin.body,
                    sha256=hashlib.sha256(builtin.body).hexdigest(),
                    created_by=SYSTEM,
                )
            )
            added["templates"] += 1
    known = {
        (key, language) for key, language in session.execute(select(Clause.key, Clause.language))
    }
    for entry in yaml.safe_load(BUILTIN_CLAUSES.read_text(encoding="utf-8")):
        for language, text in entry["texts"].items():
            if (entry["key"], language) not in known:
                session.add(
                    Clause(
                        key=entry["key"],
                        language=language,
                        version_no=1,
                        title=text["title"],
                        body=text["body"].strip(),
                        conditions=entry.get("conditions") or {},
                        clause_group=entry.get("group"),
                        sort_order=entry["order"],
                        created_by=SYSTEM,
                    )
                )
                added["clauses"] += 1
    installed = {product.code: product for product in session.scalars(select(Product))}
    for item in load_catalogue():
        if item.code in installed:
            # A database from before product names (migration 0011) gets the built-in
            # names once; names already there are kept.
            if item.names and not installed[item.code].names:
                installed[item.code].names = dict(item.names)
                added["product_names"] = added.get("product_names", 0) + 1
            continue
        session.add(
            Product(
                code=item.code,
                name=item.name,
                names=dict(item.names),
                billing_period=item.billing_period,
                billing_interval_months=item.billing_interval_months,
                licence=item.licence,
                prices=[
                    Price(price_list=price_list, currency=currency, unit_price=amount)
                    for (price_list, currency), amount in item.prices.items()
                ],
            )
        )
        added["products"] += 1
    if any(added.values()):
        session.flush()
        record(session, SYSTEM, "library.install", "library", "defaults", None, added)
    return added
