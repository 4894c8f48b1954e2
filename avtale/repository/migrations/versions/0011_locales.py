"""The app speaks Nordic (issue 14, item 6): each user has a locale the app formats numbers,
dates and product names in (existing users get nb, the business's own), and each product
its names per language (a JSON column: read whole with the product, never queried by
language).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
LOCALES = "locale IN ('nb', 'da', 'sv', 'en')"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("locale", sa.String(length=5), nullable=False, server_default="nb")
        )
        batch.create_check_constraint(op.f("ck_users_locale"), sa.text(LOCALES))
    with op.batch_alter_table("users") as batch:
        # The model gives new users their default; the server default only filled old rows.
        batch.alter_column("locale", server_default=None)
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("names", JSON, nullable=False, server_default="{}"))
    with op.batch_alter_table("products") as batch:
        batch.alter_column("names", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_column("names")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_locale"), type_="check")
        batch.drop_column("locale")
