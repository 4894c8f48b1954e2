"""What a form hands a service: rows of an edited table, custom terms, and whether a value
changed as the user means it (2.5 == Decimal("2.5000"), "" == None).

Rows come as plain values (the app turns a table's cells into Python values first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from avtale.repository.validation import ValidationError

Row = Mapping[str, Any]


def filled(rows: Iterable[Row] | None, significant: Sequence[str]) -> list[dict[str, Any]]:
    """The rows that have something in the significant columns (leaving out a row added to
    a table and never filled in)."""
    return [
        dict(row)
        for row in rows or ()
        if any(row.get(key) not in (None, "") for key in significant)
    ]


def custom_terms(rows: Iterable[Row] | None) -> dict[str, Any]:
    """Name/value rows as a dict; ``ValidationError`` when a value has no name."""
    terms: dict[str, Any] = {}
    for row in filled(rows, ("name", "value")):
        name = str(row.get("name") or "").strip()
        if not name:
            raise ValidationError({"custom_terms": "every custom term needs a name"})
        terms[name] = row.get("value")
    return terms


def _blank_as_none(value: Any) -> Any:
    if value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    return value


def same(a: Any, b: Any) -> bool:
    """Equal as the user means it: 2.5 == Decimal("2.5000"), "" == None."""
    a, b = _blank_as_none(a), _blank_as_none(b)
    numeric = (int, float, Decimal)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool):
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except InvalidOperation:
            return False
    return bool(a == b)


def same_rows(old: Sequence[Row], new: Sequence[Row]) -> bool:
    return len(old) == len(new) and all(
        all(same(a.get(key), b.get(key)) for key in a.keys() | b.keys())
        for a, b in zip(old, new, strict=True)
    )
