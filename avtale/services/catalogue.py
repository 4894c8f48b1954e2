"""The product catalogue and its price lists (SPEC I1, C1, A4): shown, and imported from a
products / price-list CSV (docs/formats.md) exported by accounting or a CRM. An import is
all or nothing: a file with any bad row changes nothing and names every bad row. Importing
needs ``manage_settings``; the command line (``avtale catalogue import``) and the app's
Catalogue page call the same ``import_catalogue``."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from avtale.repository import library
from avtale.repository.audit import jsonable
from avtale.repository.library import CatalogueImport
from avtale.repository.models import Price, Product
from avtale.repository.validation import ValidationError
from avtale.services.database import Database
from avtale.services.unit_of_work import (
    MANAGE_SETTINGS,
    Outcome,
    check,
    reading,
    write,
)
from avtale.settings import Paths
from ingestion.catalogue import read_catalogue

PRODUCT_COLUMNS = [
    "code",
    "name",
    "billing_period",
    "billing_interval_months",
    "licence",
    "active",
    "price_list",
    "currency",
    "unit_price",
]
CHANGE_COLUMNS = ["code", "what", "item", "before", "after"]
ERROR_COLUMNS = ["where", "problem"]


def products(db: Database) -> pd.DataFrame:
    """Every product, active or not, once per price (list and currency); a product without
    prices once, its price columns empty."""
    with reading(db) as session:
        found = session.scalars(
            select(Product).options(selectinload(Product.prices)).order_by(Product.code)
        )
        rows = [
            {
                "code": product.code,
                "name": product.name,
                "billing_period": product.billing_period,
                "billing_interval_months": product.billing_interval_months,
                "licence": product.licence,
                "active": product.active,
                "price_list": price.price_list if price else None,
                "currency": price.currency if price else None,
                "unit_price": float(price.unit_price) if price else None,
            }
            for product in found
            for price in _prices_or_none(product)
        ]
    return pd.DataFrame(rows, columns=PRODUCT_COLUMNS)


def _prices_or_none(product: Product) -> list[Price | None]:
    """The product's prices by list and currency; a product without any: one None."""
    found: list[Price | None] = [
        *sorted(product.prices, key=lambda price: (price.price_list, price.currency))
    ]
    return found or [None]


def import_catalogue(
    db: Database,
    actor: str,
    name: str,
    data: bytes,
    *,
    dry_run: bool = False,
    home: Paths | None = None,
) -> Outcome:
    """Import the catalogue file ``data`` (``name``: its file name) in one transaction, or
    with ``dry_run`` only say what it would change. ``detail["report"]`` is the
    ``CatalogueImport``; ``errors`` map "file, row N, column" to what is wrong there (all
    of them; then nothing is changed)."""
    refusal = check(db, actor, MANAGE_SETTINGS)
    if refusal is not None:
        return refusal
    read = read_catalogue(data, name)  # DuckDB parses before any transaction opens
    if dry_run:
        try:
            with reading(db) as session:
                report = library.import_catalogue(session, actor, read, apply=False, home=home)
        except ValidationError as invalid:
            return Outcome(errors=invalid.errors)
        return _outcome(report, dry_run=True)
    return write(
        db,
        actor,
        MANAGE_SETTINGS,
        lambda session: _outcome(
            library.import_catalogue(session, actor, read, apply=True, home=home),
            dry_run=False,
        ),
    )


def _outcome(report: CatalogueImport, *, dry_run: bool) -> Outcome:
    if not report.changed:
        message = f"{report.file}: nothing to change ({report.summary()})."
    elif dry_run:
        message = f"{report.file} would change the catalogue: {report.summary()}."
    else:
        message = f"{report.file} imported: {report.summary()}."
    return Outcome(message=message, target=report.file, detail={"report": report})


def changes(report: CatalogueImport) -> pd.DataFrame:
    """The report's changes as a table (before and after as text)."""
    return pd.DataFrame(
        [
            {
                "code": change.code,
                "what": change.what,
                "item": change.item,
                "before": _text(change.before),
                "after": _text(change.after),
            }
            for change in report.changes
        ],
        columns=CHANGE_COLUMNS,
    )


def problems(errors: dict[str, str]) -> pd.DataFrame:
    """An import's errors as a table: where (file, row, column) and what is wrong."""
    return pd.DataFrame(
        [{"where": where, "problem": problem} for where, problem in errors.items()],
        columns=ERROR_COLUMNS,
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(jsonable(value))
