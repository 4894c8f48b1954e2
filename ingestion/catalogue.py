"""Reading a products and price-list file (docs/formats.md, "Products and price lists"):
one row per product and price, read as every export is (``files``: encodings, delimiters;
``records``: rows; ``parsing``: numbers with a decimal comma or point, booleans, billing
periods as the generic contract lines spell them) into typed rows, with every problem
named by file, row and field.

This reads only; what the rows change in the catalogue, and whether the rows agree with
one another, is decided by ``avtale.repository.library`` against the database. The file is
not loaded into the warehouse: the catalogue lives in the operational database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

from ingestion import files as csvfiles
from ingestion import records as csvrecords
from ingestion.kinds import (
    EVERY_N_MONTHS_NEEDS_INTERVAL,
    MAX_UNIT_PRICE,
    Field,
    FieldType,
    Kind,
)
from ingestion.load import (
    create_source,
    decimal_separator,
    kind_header,
    map_columns,
    reading_of,
)
from ingestion.parsing import (
    Check,
    checks,
    install_macros,
    number_column,
    quote,
    typed_columns,
)

T = FieldType

# The columns of a catalogue file; only ``code`` is required (a file of prices only, or of
# product fields only, is a catalogue file too).
CATALOGUE = Kind(
    name="catalogue",
    title="Products and price lists",
    table="app.products",  # not a warehouse table: applied to the operational database
    markers=("code",),
    rules=(EVERY_N_MONTHS_NEEDS_INTERVAL,),
    fields=(
        Field("code", ("code", "product_code"), T.TEXT, required=True),
        Field("name", ("name", "product_name"), T.TEXT),
        Field("billing", ("billing_period",), T.BILLING_PERIOD),
        Field(
            "billing_interval_months",
            ("billing_interval_months",),
            T.INTEGER,
            minimum=1,
            maximum=120,
        ),
        Field("licence", ("licence", "license"), T.BOOLEAN),
        Field("active", ("active",), T.BOOLEAN),
        Field("price_list", ("price_list",), T.TEXT),
        Field("currency", ("currency",), T.CURRENCY_CODE),
        Field("unit_price", ("unit_price", "price"), T.NUMBER, minimum=0, maximum=MAX_UNIT_PRICE),
    ),
)
NUMERIC = (FieldType.NUMBER, FieldType.INTEGER)


@dataclass(frozen=True)
class Problem:
    """Why a row (or, with ``row`` None, the whole file) cannot be imported."""

    file: str
    row: int | None
    field: str | None  # the column as the file names it
    reason: str

    @property
    def where(self) -> str:
        place = [self.file] + ([f"row {self.row}"] if self.row is not None else [])
        return ", ".join(place + ([self.field] if self.field else []))


@dataclass(frozen=True)
class CatalogueRow:
    """One row as typed values; None where the row leaves the value blank."""

    row: int
    code: str
    name: str | None = None
    billing_period: str | None = None
    billing_interval_months: int | None = None
    licence: bool | None = None
    active: bool | None = None
    price_list: str | None = None
    currency: str | None = None
    unit_price: Decimal | None = None


@dataclass
class CatalogueFile:
    name: str
    sha256: str = ""
    read_as: str = ""
    rows: list[CatalogueRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Field name (``billing``, ``unit_price``) -> the column as the file names it.
    headers: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # columns that name no field

    def header(self, name: str) -> str:
        return self.headers.get(name, name)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_catalogue(data: bytes, name: str) -> CatalogueFile:
    """The typed rows of the catalogue file ``data`` (``name``: its file name), and every
    problem the reading found; a file that cannot be read at all is one problem."""
    result = CatalogueFile(name=csvfiles.display_name(Path(name or "catalogue.csv")))
    try:
        csv = csvfiles.csv_from_bytes(data, Path(result.name))
    except csvfiles.UnreadableFileError as unreadable:
        result.problems.append(Problem(result.name, None, None, str(unreadable)))
        return result
    result.sha256 = csv.sha256
    records = csvrecords.split(csv.text, csv.delimiter)
    column_of = map_columns(CATALOGUE, records.headers)
    result.headers = {f.name: kind_header(f, records.headers) for f in CATALOGUE.fields}
    result.ignored = [h for h in records.headers if h and CATALOGUE.field_for(h) is None]
    if "code" not in column_of:
        result.problems.append(
            Problem(result.name, None, None, "no code column: every row needs the product code")
        )
        return result
    result.problems += [
        Problem(result.name, m.row, None, f"malformed CSV row: {m.reason}")
        for m in records.malformed
    ]
    if not records.rows:
        result.read_as = reading_of(csv, None)
        if not result.problems:
            result.problems.append(Problem(result.name, None, None, "no rows below the header"))
        return result
    with duckdb.connect() as con:
        install_macros(con)
        _typed(con, result, csv, records, column_of)
    return result


def _typed(
    con: duckdb.DuckDBPyConnection,
    result: CatalogueFile,
    csv: csvfiles.CsvFile,
    records: csvrecords.Records,
    column_of: dict[str, str],
) -> None:
    numeric = sorted(
        {column_of[f.name] for f in CATALOGUE.fields if f.type in NUMERIC and f.name in column_of}
    )
    create_source(con, records, numeric)
    locale = decimal_separator(con, numeric)
    result.read_as = reading_of(csv, locale)
    typed = [
        (name, expr)
        for f in CATALOGUE.fields
        for name, _, expr in typed_columns(f, column_of.get(f.name), locale)
    ]
    raws = ", ".join(
        [f"c{i}" for i in range(len(records.headers))] + [number_column(c) for c in numeric]
    )
    select = ", ".join(f'{expr} AS "{name}"' for name, expr in typed)
    con.execute(f"CREATE TEMP TABLE _parsed AS SELECT _row, {raws}, {select} FROM _src")
    found: list[Check] = [c for f in CATALOGUE.fields for c in checks(f, column_of.get(f.name))]
    found += [Check(r.field, r.condition, r.reason) for r in CATALOGUE.rules]
    union = " UNION ALL ".join(
        f"SELECT _row, {quote(c.field)} AS field, {c.reason} AS reason, {i} AS _check "
        f"FROM _parsed WHERE coalesce({c.condition}, FALSE)"
        for i, c in enumerate(found)
    )
    for row, name, reason in con.execute(
        f"SELECT _row, field, reason FROM ({union}) ORDER BY _row, _check"
    ).fetchall():
        result.problems.append(Problem(result.name, row, result.header(name), reason))
    # A blank billing period is "not given" here (the generic lines read it as monthly).
    billing = column_of.get("billing")
    period = (
        f"CASE WHEN avt_blank({billing}) THEN NULL ELSE billing_period END" if billing else "NULL"
    )
    rows = con.execute(
        "SELECT _row, code, name, "
        f"{period}, billing_interval_months, licence, active, price_list, currency, "
        "unit_price FROM _parsed ORDER BY _row"
    ).fetchall()
    for row, code, name, period_, interval, licence, active, price_list, currency, price in rows:
        result.rows.append(
            CatalogueRow(
                row=row,
                code=code or "",
                name=name,
                billing_period=period_,
                billing_interval_months=interval,
                licence=licence,
                active=active,
                price_list=price_list,
                currency=currency,
                unit_price=None if price is None else Decimal(repr(price)),
            )
        )
    result.problems.sort(key=lambda p: p.row or 0)
