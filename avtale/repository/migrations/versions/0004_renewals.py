"""Renewals (SPEC A3): what became of each term's end, once per contract and term.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen copies of the model types: a migration must not change when the models do.
UTC_TIMESTAMP = sa.DateTime(timezone=True)


def fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "renewals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "decision IN ('auto_renewed', 'renewed', 'renegotiating', 'expired')",
            name=op.f("ck_renewals_decision"),
        ),
        fk("renewals", "contract_id", "contracts"),
        fk("renewals", "version_id", "contract_versions"),
        fk("renewals", "proposal_id", "proposals"),
        sa.UniqueConstraint("contract_id", "term_end", name=op.f("uq_renewals_contract_term")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewals")),
    )
    op.create_index(op.f("ix_renewals_contract_id"), "renewals", ["contract_id"])


def downgrade() -> None:
    op.drop_table("renewals")
