"""The audit log: one row per write, added to the same session (so the same transaction)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from avtale.repository.models import AuditLog, Base, utcnow

# Never copied into the audit log, whatever the entity.
SECRET_COLUMNS = frozenset(
    {"password_hash", "token_hash", "session_hash", "code_hash", "pending_login"}
)


def jsonable(value: Any) -> Any:
    """Plain JSON values; decimals as exact strings ("1250.5"), dates in ISO format."""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def snapshot(row: Base, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Every column of ``row`` as JSON-able values, secrets left out."""
    skipped = SECRET_COLUMNS | set(exclude)
    return {
        column.key: jsonable(getattr(row, column.key))
        for column in inspect(type(row)).column_attrs
        if column.key not in skipped
    }


def record(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditLog:
    entry = AuditLog(
        at=utcnow(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
    )
    session.add(entry)
    return entry
