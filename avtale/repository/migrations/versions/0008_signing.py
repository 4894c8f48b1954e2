"""Signing links and the customer portal (issue 12, SPEC S1-S4, P1-P2): the parties asked
to sign a proposal, the links that let them (and portal users) in without an account, a
proposal a party declined, a signed (sealed) document, and each contract's portal access.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen copies of the model types: a migration must not change when the models do.
UTC_TIMESTAMP = sa.DateTime(timezone=True)
JSON_TYPE = sa.JSON().with_variant(JSONB(), "postgresql")

OLD_DOCUMENT_KINDS = "kind IN ('counterparty_paper', 'attachment', 'generated')"
NEW_DOCUMENT_KINDS = "kind IN ('counterparty_paper', 'attachment', 'generated', 'signed')"
OLD_PROPOSAL_STATUSES = "status IN ('draft', 'sent', 'signed', 'cancelled')"
NEW_PROPOSAL_STATUSES = "status IN ('draft', 'sent', 'signed', 'declined', 'cancelled')"


def fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def upgrade() -> None:
    op.create_table(
        "signatories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("proposal_revision", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("identified_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("signed_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("declined_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("reminded_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("identity", JSON_TYPE, nullable=True),
        sa.Column("events", JSON_TYPE, nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("code_attempts", sa.Integer(), nullable=False),
        sa.Column("codes_sent", JSON_TYPE, nullable=False),
        sa.Column("pending_login", JSON_TYPE, nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        check("signatories", "side", "side IN ('customer', 'seller')"),
        check("signatories", "status", "status IN ('waiting', 'signed', 'declined', 'withdrawn')"),
        fk("signatories", "proposal_id", "proposals"),
        fk("signatories", "document_id", "documents"),
        fk("signatories", "contact_id", "contacts"),
        pk("signatories"),
    )
    op.create_index(op.f("ix_signatories_proposal_id"), "signatories", ["proposal_id"])
    op.create_index(op.f("ix_signatories_session_hash"), "signatories", ["session_hash"])
    op.create_table(
        "access_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("signatory_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("revoked_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("revoked_reason", sa.String(length=200), nullable=True),
        sa.Column("last_used_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        check("access_links", "purpose", "purpose IN ('sign', 'portal')"),
        check(
            "access_links",
            "one_party",
            "(purpose = 'sign' AND signatory_id IS NOT NULL AND contact_id IS NULL)"
            " OR (purpose = 'portal' AND contact_id IS NOT NULL AND signatory_id IS NULL)",
        ),
        fk("access_links", "signatory_id", "signatories"),
        fk("access_links", "contact_id", "contacts"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_access_links_token_hash")),
        pk("access_links"),
    )
    op.create_index(op.f("ix_access_links_signatory_id"), "access_links", ["signatory_id"])
    op.create_index(op.f("ix_access_links_contact_id"), "access_links", ["contact_id"])

    # Batch mode: SQLite changes a CHECK constraint by copying the table.
    with op.batch_alter_table("documents") as batch:
        batch.drop_constraint(op.f("ck_documents_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_documents_kind"), sa.text(NEW_DOCUMENT_KINDS))
    with op.batch_alter_table("proposals") as batch:
        batch.drop_constraint(op.f("ck_proposals_status"), type_="check")
        batch.create_check_constraint(op.f("ck_proposals_status"), sa.text(NEW_PROPOSAL_STATUSES))
    with op.batch_alter_table("contracts") as batch:
        batch.add_column(
            sa.Column(
                "portal_access",
                sa.String(length=20),
                nullable=False,
                server_default="restricted",
            )
        )
        batch.create_check_constraint(
            op.f("ck_contracts_portal_access"),
            sa.text("portal_access IN ('restricted', 'upgrade', 'upgrade_downgrade')"),
        )
    with op.batch_alter_table("contracts") as batch:
        batch.alter_column("portal_access", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("contracts") as batch:
        batch.drop_constraint(op.f("ck_contracts_portal_access"), type_="check")
        batch.drop_column("portal_access")
    with op.batch_alter_table("proposals") as batch:
        batch.drop_constraint(op.f("ck_proposals_status"), type_="check")
        batch.create_check_constraint(op.f("ck_proposals_status"), sa.text(OLD_PROPOSAL_STATUSES))
    with op.batch_alter_table("documents") as batch:
        batch.drop_constraint(op.f("ck_documents_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_documents_kind"), sa.text(OLD_DOCUMENT_KINDS))
    op.drop_table("access_links")
    op.drop_table("signatories")
