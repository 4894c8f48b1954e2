"""Copying the operational database into the warehouse as the dbt source `app`.

Whole tables through Arrow (column lists, one bulk insert each), inside one
DuckDB transaction: dbt sees either the previous copy or the new one. The
operational database is only read (a read-only session), so app writes never
wait on a refresh for longer than SQLite's own snapshot read.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
from sqlalchemy import Engine, Numeric, String, select, type_coerce

from avtale.repository.db import session_scope
from avtale.repository.models import (
    AuditLog,
    BankPayment,
    Contract,
    ContractLine,
    ContractVersion,
    Customer,
    InstalledAsset,
    Invoice,
    InvoiceLine,
    PaymentAllocation,
    UnmatchedPayment,
)

# Operational table -> columns the warehouse needs (the model's own names).
EXPORTED = {
    "customers": (
        Customer,
        [
            "id",
            "customer_number",
            "name",
            "org_number",
            "country",
            "owner",
            "industry",
            "status",
            "termination_reason",
            "source_ref",
            "created_at",
        ],
    ),
    "contracts": (
        Contract,
        [
            "id",
            "contract_number",
            "customer_id",
            "status",
            "origin",
            "source_ref",
            "source_load_id",
            "adopted_on",
        ],
    ),
    "contract_versions": (
        ContractVersion,
        [
            "id",
            "contract_id",
            "version_no",
            "effective_date",
            "title",
            "owner",
            "signed_date",
            "start_date",
            "term_months",
            "end_date",
            "lock_in_months",
            "notice_months",
            "auto_renew",
            "renewal_term_months",
            "price_adjustment_rule",
            "price_adjustment_pct",
            "next_price_adjustment_date",
            "currency",
            "terminated_date",
            "termination_reason",
        ],
    ),
    "contract_lines": (
        ContractLine,
        [
            "id",
            "version_id",
            "line_no",
            "product",
            "quantity",
            "unit_price",
            "discount_percent",
            "discount_end_date",
            "billing_period",
            "billing_interval_months",
            "start_date",
            "end_date",
        ],
    ),
    # The installed assets added by hand on a contract (SPEC R2); files bring the others.
    "installed_assets": (
        InstalledAsset,
        ["id", "contract_id", "serial_number", "model", "location"],
    ),
    # The invoice register (docs/billing.md): documents as issued, with their delivery.
    "invoices": (
        Invoice,
        [
            "id",
            "kind",
            "number",
            "issue_date",
            "due_date",
            "currency",
            "customer_id",
            "contract_id",
            "corrects_id",
            "period_start",
            "period_end",
            "net_total",
            "vat_total",
            "total",
            "sent_at",
            "sent_via",
        ],
    ),
    "invoice_lines": (
        InvoiceLine,
        [
            "id",
            "invoice_id",
            "position",
            "product",
            "quantity",
            "unit_price",
            "discount_percent",
            "vat_category",
            "vat_rate",
            "net_amount",
            "contract_line_no",
            "period_key",
            "period_start",
            "period_end",
            "billing_period_end",
            "billing_period",
            "billing_interval_months",
        ],
    ),
    "bank_payments": (
        BankPayment,
        ["id", "booking_date", "value_date", "amount", "currency", "payer", "account"],
    ),
    "payment_allocations": (
        PaymentAllocation,
        ["id", "payment_id", "invoice_id", "amount", "matched_by"],
    ),
    "unmatched_payments": (
        UnmatchedPayment,
        ["id", "payment_id", "amount", "reason", "resolved_at"],
    ),
}


# The audit entities whose writes change the exported tables. Proposals, documents,
# reminders and the like are audited too, but must not start a warehouse refresh.
EXPORTED_ENTITIES = ("customer", "contract", "installed_asset", "invoice", "bank_payment")


def last_write_id(engine: Engine) -> int:
    """The newest audit row of a write to an exported table: it moves when they change."""
    with session_scope(engine, readonly=True) as session:
        return (
            session.scalar(
                select(AuditLog.id)
                .where(AuditLog.entity.in_(EXPORTED_ENTITIES))
                .order_by(AuditLog.id.desc())
                .limit(1)
            )
            or 0
        )


def export_to_warehouse(engine: Engine, con: duckdb.DuckDBPyConnection) -> dict[str, int] | None:
    """Replace schema `app` in the warehouse with the operational tables; row counts.

    Returns None without touching the warehouse when nothing was written since the
    last copy: most refreshes come from new files, and rewriting the tables of a large
    warehouse costs a checkpoint (~1.4 s at 100k companies) for no change.
    """
    # The database and its newest audit row identify what a copy was taken from.
    version = (engine.url.render_as_string(hide_password=True), last_write_id(engine))
    if exported_version(con) == version:
        return None
    tables: dict[str, pa.Table] = {}
    with session_scope(engine, readonly=True) as session:
        for name, (model, columns) in EXPORTED.items():
            # Amounts are read raw (no Decimal conversion) so a value that is not a number
            # cannot stop the copy: _number turns it into a NaN the warehouse reports.
            decimals = _decimal_columns(model, columns)
            rows = session.execute(
                select(
                    *(
                        type_coerce(getattr(model, c), String)
                        if c in decimals
                        else getattr(model, c)
                        for c in columns
                    )
                )
            ).all()
            data = {c: [row[i] for row in rows] for i, c in enumerate(columns)}
            for c in decimals:
                data[c] = [_number(v) for v in data[c]]
            tables[name] = pa.table(data, schema=_schema(model, columns))
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS app")
        for name, table in tables.items():
            con.register("_export", table)
            con.execute(f"CREATE OR REPLACE TABLE app.{name} AS SELECT * FROM _export")
            con.unregister("_export")
        con.execute(
            "CREATE OR REPLACE TABLE app._exported AS "
            "SELECT ?::VARCHAR AS database_url, ?::BIGINT AS audit_id",
            list(version),
        )
        con.execute("COMMIT")
    except duckdb.Error:
        con.execute("ROLLBACK")
        raise
    return {name: table.num_rows for name, table in tables.items()}


def _decimal_columns(model: type, columns: list[str]) -> set[str]:
    """The ``Numeric`` columns (Decimal in Python): the warehouse computes MRR in DOUBLE
    like every source, and staging casts money back to DECIMAL(18, 2) where it sums cents."""
    table = model.__table__  # type: ignore[attr-defined]
    return {c for c in columns if isinstance(table.c[c].type, Numeric)}


def _number(value: object) -> float | None:
    """A stored amount as the warehouse's DOUBLE. Something that is not a number (text
    written into an SQLite number column by hand) becomes NaN, which the warehouse lists
    in data_quality_findings, instead of stopping every refresh here."""
    if value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def exported_version(con: duckdb.DuckDBPyConnection) -> tuple[str, int] | None:
    """The database and audit id the warehouse's copy was taken at, if there is a copy."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'app' AND table_name = '_exported'"
    ).fetchone()
    if not found or not found[0]:
        return None
    # A copy taken before a column joined EXPORTED is stale whatever its audit id.
    copied = set(
        con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'app'"
        ).fetchall()
    )
    if any((t, c) not in copied for t, (_, columns) in EXPORTED.items() for c in columns):
        return None
    row = con.execute("SELECT database_url, audit_id FROM app._exported").fetchone()
    return (str(row[0]), int(row[1])) if row else None


ARROW_TYPES = {
    "int": pa.int64(),
    "float": pa.float64(),
    "Decimal": pa.float64(),
    "bool": pa.bool_(),
    "str": pa.string(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
}


def _schema(model: type, columns: list[str]) -> pa.Schema:
    """Arrow types from the model, so empty or all-NULL columns keep their type."""
    table = model.__table__  # type: ignore[attr-defined]

    def arrow_type(column: str) -> pa.DataType:
        sql_type = table.c[column].type
        sql_type = getattr(sql_type, "impl", sql_type)  # UTCDateTime wraps DateTime
        return ARROW_TYPES.get(sql_type.python_type.__name__, pa.string())

    return pa.schema(pa.field(c, arrow_type(c)) for c in columns)
