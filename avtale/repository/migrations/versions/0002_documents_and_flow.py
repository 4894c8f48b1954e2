"""Documents and the guided flow: templates, clauses, catalogue, proposals, approvals, tasks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of the model types: a migration must not change when the models do.
UTC_TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
MONEY = sa.Numeric(precision=18, scale=4)
BILLING_PERIODS = (
    "one_off",
    "weekly",
    "monthly",
    "quarterly",
    "half_yearly",
    "yearly",
    "two_yearly",
    "three_yearly",
    "every_n_months",
)


def pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def one_of(table: str, column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{column}"))


def created(by: str = "created_by") -> list[sa.Column]:
    return [
        sa.Column(by, sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        *created(),
        one_of("templates", "purpose", ("agreement", "renegotiation", "invoice")),
        one_of("templates", "format", ("html", "docx")),
        sa.UniqueConstraint("key", "version_no", name=op.f("uq_templates_key_version_no")),
        pk("templates"),
    )
    op.create_table(
        "clauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("conditions", JSON, nullable=False),
        sa.Column("clause_group", sa.String(length=60), nullable=True),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        *created(),
        sa.UniqueConstraint(
            "key", "language", "version_no", name=op.f("uq_clauses_key_language_version_no")
        ),
        pk("clauses"),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("billing_period", sa.String(length=20), nullable=False),
        sa.Column("billing_interval_months", sa.Integer(), nullable=True),
        sa.Column("licence", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        one_of("products", "billing_period", BILLING_PERIODS),
        sa.UniqueConstraint("code", name=op.f("uq_products_code")),
        pk("products"),
    )
    op.create_table(
        "prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("price_list", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        fk("prices", "product_id", "products"),
        sa.UniqueConstraint(
            "product_id",
            "price_list",
            "currency",
            name=op.f("uq_prices_product_id_price_list_currency"),
        ),
        pk("prices"),
    )
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("base_version_id", sa.Integer(), nullable=True),
        sa.Column("signed_version_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("template_key", sa.String(length=60), nullable=False),
        sa.Column("price_list", sa.String(length=40), nullable=False),
        sa.Column("deal_type", sa.String(length=100), nullable=True),
        sa.Column("answers", JSON, nullable=False),
        sa.Column("terms", JSON, nullable=False),
        sa.Column("lines", JSON, nullable=False),
        sa.Column("clauses", JSON, nullable=True),
        sa.Column("free_text", sa.Text(), nullable=True),
        sa.Column("pricing", JSON, nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("signing_deadline", sa.Date(), nullable=True),
        sa.Column("expected_close", sa.Date(), nullable=True),
        sa.Column("signer_name", sa.String(length=200), nullable=True),
        sa.Column("signed_date", sa.Date(), nullable=True),
        *created(),
        sa.Column("updated_at", UTC_TIMESTAMP, nullable=False),
        one_of("proposals", "kind", ("new", "renegotiation")),
        one_of("proposals", "status", ("draft", "sent", "signed", "cancelled")),
        fk("proposals", "customer_id", "customers"),
        fk("proposals", "contract_id", "contracts"),
        fk("proposals", "base_version_id", "contract_versions"),
        fk("proposals", "signed_version_id", "contract_versions"),
        sa.UniqueConstraint("number", name=op.f("uq_proposals_number")),
        pk("proposals"),
    )
    op.create_index(op.f("ix_proposals_customer_id"), "proposals", ["customer_id"])
    op.create_index(op.f("ix_proposals_contract_id"), "proposals", ["contract_id"])
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("proposal_revision", sa.Integer(), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        one_of("approvals", "status", ("pending", "approved", "rejected")),
        fk("approvals", "proposal_id", "proposals"),
        pk("approvals"),
    )
    op.create_index(op.f("ix_approvals_proposal_id"), "approvals", ["proposal_id"])
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("changes", JSON, nullable=False),
        sa.Column("rules_version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.Column("done_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        one_of("tasks", "status", ("open", "done")),
        fk("tasks", "contract_id", "contracts"),
        fk("tasks", "version_id", "contract_versions"),
        fk("tasks", "proposal_id", "proposals"),
        sa.UniqueConstraint("version_id", "rule", name=op.f("uq_tasks_version_id_rule")),
        pk("tasks"),
    )
    op.create_index(op.f("ix_tasks_team"), "tasks", ["team"])
    op.create_index(op.f("ix_tasks_contract_id"), "tasks", ["contract_id"])

    # Batch mode: SQLite cannot add a column with a foreign key in place.
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("proposal_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("doc_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("source", JSON, nullable=True))
        batch.create_foreign_key(
            op.f("fk_documents_proposal_id_proposals"), "proposals", ["proposal_id"], ["id"]
        )
        batch.create_index(op.f("ix_documents_proposal_id"), ["proposal_id"])


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_index(op.f("ix_documents_proposal_id"))
        batch.drop_constraint(op.f("fk_documents_proposal_id_proposals"), type_="foreignkey")
        batch.drop_column("source")
        batch.drop_column("doc_version")
        batch.drop_column("proposal_id")
    for table in ("tasks", "approvals", "proposals", "prices", "products", "clauses", "templates"):
        op.drop_table(table)
