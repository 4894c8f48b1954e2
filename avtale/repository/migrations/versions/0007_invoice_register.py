"""The invoice register (issue 13; SPEC B1, B2, D5): number series, issued invoices and credit
notes with their lines, the billed periods that make a run idempotent, customers' billing
details, and bank payments with their allocations and the queue of unmatched ones.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Frozen copies of the model types: a migration must not change when the models do.
UTC_TIMESTAMP = sa.DateTime(timezone=True)
JSON_TYPE = sa.JSON().with_variant(JSONB(), "postgresql")
MONEY = sa.Numeric(18, 4)
PERCENT = sa.Numeric(7, 4)
RATE = sa.Numeric(18, 8)


def fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def index(table: str, column: str, *, unique: bool = False) -> None:
    op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=unique)


def upgrade() -> None:
    op.create_table(
        "invoice_series",
        sa.Column("prefix", sa.String(length=10), nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_invoice_series")),
    )
    _invoices()
    _invoice_lines()
    op.create_table(
        "billed_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("adjustment_no", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        fk("billed_periods", "contract_id", "contracts"),
        fk("billed_periods", "invoice_id", "invoices"),
        sa.UniqueConstraint(
            "contract_id",
            "line_no",
            "period_start",
            "adjustment_no",
            name=op.f("uq_billed_periods_key"),
        ),
        pk("billed_periods"),
    )
    index("billed_periods", "invoice_id")
    op.create_table(
        "customer_billing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("postcode", sa.String(length=20), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("buyer_reference", sa.String(length=200), nullable=True),
        sa.Column("peppol_scheme", sa.String(length=4), nullable=True),
        sa.Column("peppol_id", sa.String(length=100), nullable=True),
        sa.Column("updated_at", UTC_TIMESTAMP, nullable=False),
        fk("customer_billing", "customer_id", "customers"),
        sa.UniqueConstraint("customer_id", name=op.f("uq_customer_billing_customer_id")),
        pk("customer_billing"),
    )
    _payments()


def _invoices() -> None:
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("series", sa.String(length=10), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("payment_reference", sa.String(length=25), nullable=True),
        sa.Column("payment_account", JSON_TYPE, nullable=True),
        sa.Column("payment_terms", sa.String(length=200), nullable=True),
        sa.Column("buyer_reference", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("seller", JSON_TYPE, nullable=False),
        sa.Column("buyer", JSON_TYPE, nullable=False),
        sa.Column("accounting_currency", sa.String(length=3), nullable=True),
        sa.Column("accounting_rate", RATE, nullable=True),
        sa.Column("net_total", MONEY, nullable=False),
        sa.Column("vat_total", MONEY, nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("vat_rules_version", sa.Integer(), nullable=True),
        sa.Column("billing_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("sent_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("sent_via", sa.String(length=20), nullable=True),
        sa.Column("pdf_document_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('invoice', 'credit_note')", name=op.f("ck_invoices_kind")),
        fk("invoices", "customer_id", "customers"),
        fk("invoices", "contract_id", "contracts"),
        fk("invoices", "corrects_id", "invoices"),
        fk("invoices", "pdf_document_id", "documents"),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
        sa.UniqueConstraint("payment_reference", name=op.f("uq_invoices_payment_reference")),
        sa.UniqueConstraint("series", "sequence", name=op.f("uq_invoices_series_sequence")),
        pk("invoices"),
    )
    for column in ("issue_date", "customer_id", "contract_id", "corrects_id"):
        index("invoices", column)


def _invoice_lines() -> None:
    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("quantity", MONEY, nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.Column("discount_percent", PERCENT, nullable=False),
        sa.Column("unit_code", sa.String(length=3), nullable=False),
        sa.Column("vat_category", sa.String(length=2), nullable=False),
        sa.Column("vat_rate", PERCENT, nullable=False),
        sa.Column("vat_reason", sa.String(length=300), nullable=False),
        sa.Column("net_amount", MONEY, nullable=False),
        sa.Column("contract_line_no", sa.Integer(), nullable=True),
        sa.Column("period_key", sa.Date(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("billing_period_end", sa.Date(), nullable=True),
        sa.Column("billing_period", sa.String(length=20), nullable=True),
        sa.Column("billing_interval_months", sa.Integer(), nullable=True),
        fk("invoice_lines", "invoice_id", "invoices"),
        sa.UniqueConstraint(
            "invoice_id", "position", name=op.f("uq_invoice_lines_invoice_id_position")
        ),
        pk("invoice_lines"),
    )
    index("invoice_lines", "invoice_id")


def _payments() -> None:
    op.create_table(
        "bank_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_key", sa.String(length=64), nullable=False),
        sa.Column("statement", sa.String(length=255), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("imported_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payer", sa.String(length=200), nullable=True),
        sa.Column("creditor_references", JSON_TYPE, nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("end_to_end_id", sa.String(length=100), nullable=True),
        sa.Column("account", sa.String(length=50), nullable=True),
        sa.Column("bank_reference", sa.String(length=100), nullable=True),
        sa.UniqueConstraint("import_key", name=op.f("uq_bank_payments_import_key")),
        pk("bank_payments"),
    )
    index("bank_payments", "booking_date")
    op.create_table(
        "payment_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("matched_by", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "matched_by IN ('reference', 'invoice_number', 'amount', 'manual')",
            name=op.f("ck_payment_allocations_matched_by"),
        ),
        fk("payment_allocations", "payment_id", "bank_payments"),
        fk("payment_allocations", "invoice_id", "invoices"),
        pk("payment_allocations"),
    )
    index("payment_allocations", "payment_id")
    index("payment_allocations", "invoice_id")
    op.create_table(
        "unmatched_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("resolved_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        fk("unmatched_payments", "payment_id", "bank_payments"),
        sa.UniqueConstraint("payment_id", name=op.f("uq_unmatched_payments_payment_id")),
        pk("unmatched_payments"),
    )


def downgrade() -> None:
    for table in (
        "unmatched_payments",
        "payment_allocations",
        "bank_payments",
        "customer_billing",
        "billed_periods",
        "invoice_lines",
        "invoices",
        "invoice_series",
    ):
        op.drop_table(table)
