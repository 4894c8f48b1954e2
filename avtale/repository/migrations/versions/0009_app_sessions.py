"""Logins that outlive a reload (issue 14, item 5): a browser's session, kept as keyed
hashes of its one-time ticket and of the token in its HttpOnly cookie.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Frozen copy of the model type: a migration must not change when the models do.
UTC_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "app_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ticket_digest", sa.String(length=64), nullable=True),
        sa.Column("token_digest", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("revoked_at", UTC_TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_app_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_sessions")),
        sa.UniqueConstraint("ticket_digest", name=op.f("uq_app_sessions_ticket_digest")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_app_sessions_token_digest")),
    )
    op.create_index(op.f("ix_app_sessions_user_id"), "app_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_app_sessions_user_id"), table_name="app_sessions")
    op.drop_table("app_sessions")
