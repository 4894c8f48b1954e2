"""Bulk operations (SPEC A4): co-termination, price updates and indexation, with the
contract versions each made so it can be undone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Frozen copies of the model types: a migration must not change when the models do.
UTC_TIMESTAMP = sa.DateTime(timezone=True)
JSON_TYPE = sa.JSON().with_variant(JSONB(), "postgresql")
MONEY = sa.Numeric(18, 4)


def fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    kinds = ", ".join(
        f"'{kind}'" for kind in ("co_terminate", "price_update", "indexation", "undo")
    )
    op.create_table(
        "bulk_operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("params", JSON_TYPE, nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("applied_by", sa.String(length=64), nullable=False),
        sa.Column("applied_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("contract_count", sa.Integer(), nullable=False),
        sa.Column("mrr_change", MONEY, nullable=False),
        sa.Column("versions", JSON_TYPE, nullable=False),
        sa.Column("undone_by_id", sa.Integer(), nullable=True),
        sa.Column("undo_of_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"kind IN ({kinds})", name=op.f("ck_bulk_operations_kind")),
        fk("bulk_operations", "undone_by_id", "bulk_operations"),
        fk("bulk_operations", "undo_of_id", "bulk_operations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_operations")),
    )


def downgrade() -> None:
    op.drop_table("bulk_operations")
