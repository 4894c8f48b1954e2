"""Reminders before contract deadlines, escalations and in-app notifications (SPEC A2).

Users gain an e-mail address, a manager (escalations go there) and the owner name CRM
exports use for them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copies of the model types: a migration must not change when the models do.
UTC_TIMESTAMP = sa.DateTime(timezone=True)


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
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("manager", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("crm_owner", sa.String(length=100), nullable=True))

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.String(length=100), nullable=False),
        sa.Column("deadline_type", sa.String(length=30), nullable=False),
        sa.Column("deadline_date", sa.Date(), nullable=False),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=True),
        sa.Column("customer_name", sa.String(length=200), nullable=True),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=True),
        sa.Column("sent_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("emailed_to", sa.String(length=254), nullable=True),
        sa.Column("acknowledged_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("escalation_of", sa.Integer(), nullable=True),
        one_of("reminders", "kind", ("reminder", "escalation")),
        one_of("reminders", "status", ("pending", "sent", "acknowledged")),
        fk("reminders", "escalation_of", "reminders"),
        sa.UniqueConstraint(
            "contract_id",
            "deadline_type",
            "deadline_date",
            "lead_days",
            "kind",
            name=op.f("uq_reminders_natural_key"),
        ),
        sa.UniqueConstraint("message_id", name=op.f("uq_reminders_message_id")),
        pk("reminders"),
    )
    op.create_index(op.f("ix_reminders_recipient"), "reminders", ["recipient"])
    op.create_index(op.f("ix_reminders_status"), "reminders", ["status"])

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("reminder_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("read_at", UTC_TIMESTAMP, nullable=True),
        fk("notifications", "reminder_id", "reminders"),
        pk("notifications"),
    )
    op.create_index(op.f("ix_notifications_username"), "notifications", ["username"])
    op.create_index(op.f("ix_notifications_reminder_id"), "notifications", ["reminder_id"])


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("reminders")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("crm_owner")
        batch.drop_column("manager")
        batch.drop_column("email")
