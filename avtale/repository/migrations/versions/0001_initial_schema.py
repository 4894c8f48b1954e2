"""Initial schema: users, customers, contacts, versioned contracts, assets, documents, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the model types: a migration must not change when the models do.
UTC_TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
MONEY = sa.Numeric(precision=18, scale=4)
PERCENT = sa.Numeric(precision=7, scale=4)


def pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def one_of(table: str, column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{column}"))


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("entity", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        pk("audit_log"),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])

    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_number", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_number", sa.String(length=40), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("termination_reason", sa.String(length=200), nullable=True),
        sa.Column("termination_circumstances", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("updated_at", UTC_TIMESTAMP, nullable=False),
        one_of("customers", "status", ("active", "terminated", "archived")),
        pk("customers"),
        sa.UniqueConstraint("customer_number", name=op.f("uq_customers_customer_number")),
    )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        one_of("users", "role", ("leadership", "analyst", "sales_ops", "admin")),
        pk("users"),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=100), nullable=True),
        sa.Column("may_sign", sa.Boolean(), nullable=False),
        fk("contacts", "customer_id", "customers"),
        pk("contacts"),
    )
    op.create_index(op.f("ix_contacts_customer_id"), "contacts", ["customer_id"])

    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_number", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.String(length=30), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        one_of("contracts", "status", ("draft", "active", "terminated", "expired")),
        one_of("contracts", "origin", ("app", "counterparty_paper")),
        fk("contracts", "customer_id", "customers"),
        pk("contracts"),
        sa.UniqueConstraint("contract_number", name=op.f("uq_contracts_contract_number")),
    )
    op.create_index(op.f("ix_contracts_customer_id"), "contracts", ["customer_id"])

    op.create_table(
        "contract_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("approver", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("signed_date", sa.Date(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("lock_in_months", sa.Integer(), nullable=True),
        sa.Column("notice_months", sa.Integer(), nullable=True),
        sa.Column("auto_renew", sa.Boolean(), nullable=False),
        sa.Column("renewal_term_months", sa.Integer(), nullable=True),
        sa.Column("price_adjustment_rule", sa.String(length=20), nullable=False),
        sa.Column("price_adjustment_pct", PERCENT, nullable=True),
        sa.Column("next_price_adjustment_date", sa.Date(), nullable=True),
        sa.Column("sla", sa.Text(), nullable=True),
        sa.Column("payment_terms_days", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("custom_terms", JSON, nullable=False),
        sa.Column("terminated_date", sa.Date(), nullable=True),
        sa.Column("termination_reason", sa.String(length=200), nullable=True),
        sa.Column("termination_circumstances", sa.Text(), nullable=True),
        one_of("contract_versions", "price_adjustment_rule", ("none", "cpi", "fixed_pct")),
        fk("contract_versions", "contract_id", "contracts"),
        fk("contract_versions", "supersedes_id", "contract_versions"),
        pk("contract_versions"),
        sa.UniqueConstraint(
            "contract_id", "version_no", name=op.f("uq_contract_versions_contract_id_version_no")
        ),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_contract_versions_supersedes_id")),
    )

    op.create_table(
        "contract_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("quantity", MONEY, nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.Column("discount_percent", PERCENT, nullable=False),
        sa.Column("discount_end_date", sa.Date(), nullable=True),
        sa.Column("billing_period", sa.String(length=20), nullable=False),
        sa.Column("billing_interval_months", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        one_of(
            "contract_lines",
            "billing_period",
            (
                "one_off",
                "weekly",
                "monthly",
                "quarterly",
                "half_yearly",
                "yearly",
                "two_yearly",
                "three_yearly",
                "every_n_months",
            ),
        ),
        fk("contract_lines", "version_id", "contract_versions"),
        pk("contract_lines"),
        sa.UniqueConstraint(
            "version_id", "line_no", name=op.f("uq_contract_lines_version_id_line_no")
        ),
    )

    op.create_table(
        "installed_assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("serial_number", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        fk("installed_assets", "contract_id", "contracts"),
        pk("installed_assets"),
    )
    op.create_index(op.f("ix_installed_assets_contract_id"), "installed_assets", ["contract_id"])

    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stored_path", sa.String(length=255), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", UTC_TIMESTAMP, nullable=False),
        one_of("documents", "kind", ("counterparty_paper", "attachment", "generated")),
        fk("documents", "contract_id", "contracts"),
        fk("documents", "customer_id", "customers"),
        pk("documents"),
    )
    op.create_index(op.f("ix_documents_contract_id"), "documents", ["contract_id"])
    op.create_index(op.f("ix_documents_customer_id"), "documents", ["customer_id"])
    op.create_index(op.f("ix_documents_sha256"), "documents", ["sha256"])


def downgrade() -> None:
    for table in (
        "documents",
        "installed_assets",
        "contract_lines",
        "contract_versions",
        "contracts",
        "contacts",
        "users",
        "customers",
        "audit_log",
    ):
        op.drop_table(table)
