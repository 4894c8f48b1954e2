"""CRM and accounting contracts taken over by the app (issue 14, item 1): the customer and
contract each record the marts' id of what they took over, the contract also the load its
terms came from and the day it counts from; contracts gain the origin 'adopted'.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD_ORIGINS = "origin IN ('app', 'counterparty_paper')"
NEW_ORIGINS = "origin IN ('app', 'counterparty_paper', 'adopted')"


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("source_ref", sa.String(length=100), nullable=True))
        batch.create_unique_constraint(op.f("uq_customers_source_ref"), ["source_ref"])
    with op.batch_alter_table("contracts") as batch:
        batch.add_column(sa.Column("source_ref", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("source_load_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("adopted_on", sa.Date(), nullable=True))
        batch.create_unique_constraint(op.f("uq_contracts_source_ref"), ["source_ref"])
        batch.drop_constraint(op.f("ck_contracts_origin"), type_="check")
        batch.create_check_constraint(op.f("ck_contracts_origin"), sa.text(NEW_ORIGINS))


def downgrade() -> None:
    with op.batch_alter_table("contracts") as batch:
        batch.drop_constraint(op.f("ck_contracts_origin"), type_="check")
        batch.create_check_constraint(op.f("ck_contracts_origin"), sa.text(OLD_ORIGINS))
        batch.drop_constraint(op.f("uq_contracts_source_ref"), type_="unique")
        batch.drop_column("adopted_on")
        batch.drop_column("source_load_id")
        batch.drop_column("source_ref")
    with op.batch_alter_table("customers") as batch:
        batch.drop_constraint(op.f("uq_customers_source_ref"), type_="unique")
        batch.drop_column("source_ref")
