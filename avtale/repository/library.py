"""Templates, the clause library and the product catalogue: versioned, admin-edited data
(SPEC D1, D2, C1). A change is a new version; documents record the versions that made them.

The built-in defaults (``docgen/builtin``, ``avtale/rules/catalogue.yaml``) are installed
once into an empty database by ``install_defaults``; after that the database is the truth.
Products and prices are also imported from a CSV (``import_catalogue``), all or nothing;
``install_defaults`` adds only codes the database lacks, so it never undoes an import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

import docgen
from avtale.repository.audit import jsonable, record, snapshot
from avtale.repository.limits import current_limits, most_unit_price, planning_rates
from avtale.repository.models import (
    TEMPLATE_FORMATS,
    TEMPLATE_PURPOSES,
    Clause,
    Price,
    Product,
    Template,
)
from avtale.repository.validation import (
    Field,
    ValidationError,
    clean,
    raise_if,
    require_actor,
)
from avtale.rules.catalogue import CODE, load_catalogue
from avtale.settings import Limits, Paths
from docgen.template_limits import check_template
from ingestion.catalogue import CatalogueFile, CatalogueRow, Problem

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


# --- importing the catalogue (products and price lists from a file) -------------------

# A product's own fields, as a file row gives them; repeated on every price row, they must
# agree.
PRODUCT_FIELDS = ("name", "billing_period", "billing_interval_months", "licence", "active")
MONEY_PLACES = 4  # the scale of prices.unit_price (models.Money)


@dataclass(frozen=True)
class CatalogueChange:
    """One change an import makes (or, previewed, would make)."""

    code: str
    what: str  # "new product", "product", "new price", "price"
    item: str  # a product field, or the price's "price list currency"
    before: Any
    after: Any


@dataclass
class CatalogueImport:
    """What an import of a catalogue file does: products by code and prices by (code, price
    list, currency), each created, changed or unchanged; nothing is deleted."""

    file: str
    read_as: str = ""
    rows: int = 0
    products_created: list[str] = field(default_factory=list)
    products_updated: list[str] = field(default_factory=list)
    products_unchanged: list[str] = field(default_factory=list)
    prices_created: list[tuple[str, str, str]] = field(default_factory=list)
    prices_changed: list[tuple[str, str, str]] = field(default_factory=list)
    prices_unchanged: list[tuple[str, str, str]] = field(default_factory=list)
    not_in_file: int = 0  # products of the catalogue the file does not name: left alone
    ignored_columns: list[str] = field(default_factory=list)
    changes: list[CatalogueChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict[str, int]:
        return {
            "products_created": len(self.products_created),
            "products_updated": len(self.products_updated),
            "products_unchanged": len(self.products_unchanged),
            "prices_created": len(self.prices_created),
            "prices_changed": len(self.prices_changed),
            "prices_unchanged": len(self.prices_unchanged),
        }

    def summary(self) -> str:
        return (
            f"products: {len(self.products_created)} created, "
            f"{len(self.products_updated)} updated, {len(self.products_unchanged)} unchanged; "
            f"prices: {len(self.prices_created)} created, {len(self.prices_changed)} changed, "
            f"{len(self.prices_unchanged)} unchanged"
        )

    def notes(self) -> list[str]:
        """What the import leaves alone, said so."""
        notes = []
        if self.not_in_file:
            notes.append(
                f"{self.not_in_file} products of the catalogue are not in the file and stay "
                "as they are (set active to no in a file to take one out of the flow)"
            )
        if self.ignored_columns:
            notes.append("columns ignored: " + ", ".join(self.ignored_columns))
        return notes


@dataclass
class _Planned:
    code: str
    existing: Product | None
    rows: list[int] = field(default_factory=list)
    given: dict[str, tuple[Any, int]] = field(default_factory=dict)  # field -> (value, row)
    prices: dict[tuple[str, str], tuple[Decimal, int]] = field(default_factory=dict)


def import_catalogue(
    session: Session,
    actor: str,
    read: CatalogueFile,
    *,
    apply: bool = True,
    home: Paths | None = None,
) -> CatalogueImport:
    """Products created or updated by code and prices upserted per (product, price list,
    currency) from the rows of a catalogue file; products the file does not name are left
    alone and nothing is deleted. Every problem of every row (the reading's, a bound, rows
    of one product that disagree) is raised at once as a ``ValidationError`` keyed by
    file, row and column, and then nothing is changed. ``apply=False`` only says what would
    change. Each change is audited, and the import as a whole."""
    actor = require_actor(actor)
    problems = list(read.problems)
    existing = {
        product.code: product
        for product in session.scalars(select(Product).options(selectinload(Product.prices)))
    }
    planned = _plan(read, existing, problems, home)
    if problems:
        raise ValidationError(_keyed(problems))
    report = CatalogueImport(
        file=read.name,
        read_as=read.read_as,
        rows=len(read.rows),
        not_in_file=len(existing.keys() - planned.keys()),
        ignored_columns=list(read.ignored),
    )
    for plan in planned.values():
        _compare(plan, report, apply=apply, session=session, actor=actor)
    if apply and report.changed:
        session.flush()
        record(
            session,
            actor,
            "catalogue.import",
            "catalogue",
            read.name,
            None,
            {"file": read.name, "sha256": read.sha256, **report.counts()},
        )
    return report


def _keyed(problems: Sequence[Problem]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for problem in sorted(problems, key=lambda p: p.row or 0):
        where = problem.where
        errors[where] = f"{errors[where]}; {problem.reason}" if where in errors else problem.reason
    return errors


def _plan(
    read: CatalogueFile,
    existing: Mapping[str, Product],
    problems: list[Problem],
    home: Paths | None,
) -> dict[str, _Planned]:
    """The rows gathered per product, each row's own checks and the checks across rows
    added to ``problems``."""
    limits, rates = current_limits(home), planning_rates(home)
    # A value the reading refused is not judged again (an unknown period is not also
    # "required").
    refused = {(problem.row, problem.field) for problem in problems}

    def bad(row: int | None, name: str, reason: str) -> None:
        if (row, read.header(name)) not in refused:
            problems.append(Problem(read.name, row, read.header(name), reason))

    planned: dict[str, _Planned] = {}
    for row in read.rows:
        if not row.code:
            continue  # the reading said so
        if len(row.code) > 40 or not CODE.fullmatch(row.code):
            bad(row.row, "code", f"'{row.code}' must be capitals, digits, '-' or '_' (at most 40)")
            continue
        plan = planned.setdefault(row.code, _Planned(row.code, existing.get(row.code)))
        plan.rows.append(row.row)
        if row.name is not None and len(row.name) > 200:
            bad(row.row, "name", "must be at most 200 characters")
        for name in PRODUCT_FIELDS:
            value = getattr(row, name)
            if value is None:
                continue
            first = plan.given.setdefault(name, (value, row.row))
            if first[0] != value:
                label = "billing" if name == "billing_period" else name
                bad(
                    row.row,
                    label,
                    f"{_shown(value)} here but {_shown(first[0])} in row {first[1]}: "
                    f"the rows of {row.code} must agree",
                )
        _plan_price(row, plan, bad, limits, rates)
    for plan in planned.values():
        _check_product(plan, bad)
    return planned


def _plan_price(
    row: CatalogueRow,
    plan: _Planned,
    bad: Callable[[int | None, str, str], None],
    limits: Limits,
    rates: Mapping[str, Decimal],
) -> None:
    given = {
        "price_list": row.price_list,
        "currency": row.currency,
        "unit_price": row.unit_price,
    }
    if all(value is None for value in given.values()):
        return  # a row of product fields only
    missing = [name for name, value in given.items() if value is None]
    for name in missing:
        bad(row.row, name, "is required on a price row (price_list, currency and unit_price)")
    if missing:
        return
    assert row.price_list is not None and row.currency is not None and row.unit_price is not None
    if len(row.price_list) > 40:
        bad(row.row, "price_list", "must be at most 40 characters")
    most = most_unit_price(row.currency, limits, rates)
    if row.currency not in rates:
        bad(
            row.row,
            "currency",
            f"{row.currency} has no planning rate: use one of {', '.join(sorted(rates))}, "
            "or load an FX rates file with it first",
        )
    elif most is not None and row.unit_price > most:
        bad(row.row, "unit_price", f"must be at most {most:,.2f} {row.currency} per unit")
    exponent = row.unit_price.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MONEY_PLACES:
        bad(row.row, "unit_price", f"must have at most {MONEY_PLACES} decimals")
    key = (row.price_list, row.currency)
    first = plan.prices.setdefault(key, (row.unit_price, row.row))
    if first[0] != row.unit_price:
        bad(
            row.row,
            "unit_price",
            f"{_shown(row.unit_price)} here but {_shown(first[0])} in row {first[1]} for "
            f"{plan.code} on {row.price_list} in {row.currency}",
        )


def _check_product(plan: _Planned, bad: Callable[[int | None, str, str], None]) -> None:
    """What the product will be, checked as a whole: a new one needs a name and a billing
    period; every N months needs its N; a licence is billed periodically."""
    first_row = plan.rows[0]
    current = plan.existing

    def value(name: str) -> Any:
        if name in plan.given:
            return plan.given[name][0]
        return getattr(current, name) if current is not None else None

    def row_of(name: str) -> int:
        return plan.given[name][1] if name in plan.given else first_row

    if current is None:
        for name in ("name", "billing_period"):
            if name not in plan.given:
                label = "billing" if name == "billing_period" else name
                bad(first_row, label, f"is required for a new product ({plan.code})")
    period = value("billing_period")
    if "billing_interval_months" in plan.given and period not in (None, "every_n_months"):
        bad(
            row_of("billing_interval_months"),
            "billing_interval_months",
            f"only for billing every N months ({plan.code} is billed {period})",
        )
    elif period == "every_n_months" and value("billing_interval_months") is None:
        bad(row_of("billing_period"), "billing_interval_months", "is required for every N months")
    if value("licence") and period == "one_off":
        bad(
            row_of("licence"),
            "licence",
            f"a licence must be billed periodically, not one-off ({plan.code})",
        )


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"'{jsonable(value)}'"
    return f"'{value}'"


def _compare(
    plan: _Planned, report: CatalogueImport, *, apply: bool, session: Session, actor: str
) -> None:
    """Add what ``plan`` changes to ``report``; with ``apply``, change it."""
    values = {name: given for name, (given, _) in plan.given.items()}
    if values.get("billing_period") not in (None, "every_n_months"):
        values["billing_interval_months"] = None
    product = plan.existing
    if product is None:
        values = {"licence": False, "active": True, "billing_interval_months": None} | values
        report.products_created.append(plan.code)
        report.changes.append(
            CatalogueChange(plan.code, "new product", "name", None, values["name"])
        )
        if apply:
            product = Product(code=plan.code, **values)
            session.add(product)
            session.flush()
            record(session, actor, "product.create", "product", product.id, None, snapshot(product))
    else:
        differ = {name: v for name, v in values.items() if getattr(product, name) != v}
        for name, after in differ.items():
            report.changes.append(
                CatalogueChange(plan.code, "product", name, getattr(product, name), after)
            )
        if differ:
            report.products_updated.append(plan.code)
            if apply:
                before = snapshot(product)
                for name, after in differ.items():
                    setattr(product, name, after)
                session.flush()
                record(
                    session, actor, "product.update", "product", product.id, before,
                    snapshot(product),
                )  # fmt: skip
        else:
            report.products_unchanged.append(plan.code)
    current = {
        (p.price_list, p.currency): p for p in (plan.existing.prices if plan.existing else [])
    }
    for (price_list, currency), (amount, _) in plan.prices.items():
        key = (plan.code, price_list, currency)
        where = f"{price_list} {currency}"
        price = current.get((price_list, currency))
        if price is None:
            report.prices_created.append(key)
            report.changes.append(CatalogueChange(plan.code, "new price", where, None, amount))
            if apply:
                assert product is not None
                price = Price(
                    product=product, price_list=price_list, currency=currency, unit_price=amount
                )
                session.add(price)
                session.flush()
                record(session, actor, "price.create", "price", price.id, None, snapshot(price))
        elif price.unit_price != amount:
            report.prices_changed.append(key)
            report.changes.append(
                CatalogueChange(plan.code, "price", where, price.unit_price, amount)
            )
            if apply:
                before = snapshot(price)
                price.unit_price = amount
                session.flush()
                record(session, actor, "price.update", "price", price.id, before, snapshot(price))
        else:
            report.prices_unchanged.append(key)
