"""Failed logins throttled per name tried and per client, and names locked after too many
(issue 10, item 9; ``avtale.repository.auth.log_in``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Frozen copy of the model type: a migration must not change when the models do.
UTC_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("locked_at", UTC_TIMESTAMP, nullable=True),
        sa.CheckConstraint("scope IN ('user', 'client')", name=op.f("ck_login_throttles_scope")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_login_throttles_scope_key")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
    )


def downgrade() -> None:
    op.drop_table("login_throttles")
