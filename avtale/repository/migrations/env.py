"""Alembic environment: ``avtale.repository.db.migrate`` passes an open connection in.

Run from the alembic command line (``alembic -c avtale/repository/alembic.ini ...``) it
opens ``$AVTALE_DATABASE_URL`` or the SQLite file of ``$AVTALE_HOME`` instead.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection

from avtale.repository.db import database_url, make_engine
from avtale.repository.models import Base, UTCDateTime
from avtale.settings import paths


def render_item(kind: str, obj: Any, _context: Any) -> str | Literal[False]:
    # New migrations get a plain SQLAlchemy type, not an import of the models module.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = make_engine(database_url(paths()))
    try:
        with engine.begin() as own_connection:
            run(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; give a database URL")
main()
