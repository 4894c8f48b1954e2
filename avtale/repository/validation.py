"""Form input to typed values, with every problem reported per field rather than raised one by one.

Values may come typed (``date``, ``Decimal``, ``bool``) or as the strings a form or CSV gives
(``"2025-03-31"``, ``"31.03.2025"``, ``"1 234,50"``, ``"yes"``). Empty strings mean "not given".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal


class ValidationError(Exception):
    """Input that cannot be saved; ``errors`` maps each field to a message for the user."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.errors.items()))


class Invalid(Exception):
    """One value that does not parse; the message is shown to the user as is."""


Kind = Literal[
    "text", "int", "decimal", "date", "bool", "choice", "country", "currency", "email", "dict"
]


@dataclass(frozen=True)
class Field:
    kind: Kind
    required: bool = False
    max_length: int = 200
    choices: tuple[str, ...] = ()
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    places: int | None = None


def text(value: Any, spec: Field) -> str:
    # Numbers are fine as text: an org number or phone number may arrive as one.
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise Invalid("must be text")
    if len(value) > spec.max_length:
        raise Invalid(f"must be at most {spec.max_length} characters")
    return value


def number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise Invalid("must be a number")
    if isinstance(value, Decimal | int):
        parsed = Decimal(value)
    elif isinstance(value, float):
        parsed = Decimal(str(value))
    elif isinstance(value, str):
        cleaned = value.replace(" ", "").replace("\u00a0", "")
        # Whichever of comma and point comes last is the decimal mark: "1.234,50", "1,234.50";
        # a lone comma is a decimal comma, as Nordic forms write it ("1234,5").
        if "," in cleaned and cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
        try:
            parsed = Decimal(cleaned)
        except InvalidOperation:
            raise Invalid("must be a number") from None
    else:
        raise Invalid("must be a number")
    if not parsed.is_finite():
        raise Invalid("must be a number")
    return parsed


def in_range(value: Decimal, spec: Field) -> Decimal:
    if spec.minimum == 0 and value < 0:
        raise Invalid("cannot be negative")
    if spec.minimum is not None and value < spec.minimum:
        raise Invalid(f"must be {spec.minimum} or more")
    if spec.maximum is not None and value > spec.maximum:
        raise Invalid(f"must be {spec.maximum} or less")
    return value


def whole(value: Any, spec: Field) -> int:
    parsed = in_range(number(value), spec)
    if parsed != parsed.to_integral_value():
        raise Invalid("must be a whole number")
    return int(parsed)


def decimal(value: Any, spec: Field) -> Decimal:
    parsed = in_range(number(value), spec)
    exponent = parsed.normalize().as_tuple().exponent
    # The database keeps a fixed number of places: more would be rounded without a word.
    if spec.places is not None and isinstance(exponent, int) and -exponent > spec.places:
        raise Invalid(f"must have at most {spec.places} decimals")
    return parsed


DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")


def day(value: Any, _spec: Field) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        for fmt in DATE_FORMATS:
            try:
                return datetime.strptime(value, fmt).date()
            except ValueError:
                continue
    raise Invalid("must be a date (YYYY-MM-DD)")


TRUE = {"true", "yes", "y", "1", "ja", "j"}
FALSE = {"false", "no", "n", "0", "nei", "nej", "nee", "nein"}


def boolean(value: Any, _spec: Field) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in TRUE | FALSE:
        return value.lower() in TRUE
    raise Invalid("must be yes or no")


def choice(value: Any, spec: Field) -> str:
    if value not in spec.choices:
        raise Invalid("must be one of: " + ", ".join(spec.choices))
    return str(value)


def code(length: int, what: str) -> Callable[[Any, Field], str]:
    def parse(value: Any, _spec: Field) -> str:
        if not isinstance(value, str) or not re.fullmatch(f"[A-Za-z]{{{length}}}", value):
            raise Invalid(f"must be a {what}")
        return value.upper()

    return parse


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def email(value: Any, spec: Field) -> str:
    if not isinstance(value, str) or not EMAIL.fullmatch(value):
        raise Invalid("must be an e-mail address such as name@example.com")
    return text(value, spec)


def json_dict(value: Any, _spec: Field) -> dict[str, Any]:
    """Custom terms: names to plain values, kept JSON-able so they compare and search."""
    if not isinstance(value, Mapping):
        raise Invalid("must be a set of named terms")
    cleaned: dict[str, Any] = {}
    for name, term in value.items():
        if not isinstance(name, str) or not name.strip():
            raise Invalid("every custom term needs a name")
        if isinstance(term, date):
            term = term.isoformat()
        elif isinstance(term, Decimal):
            term = str(term)
        elif term is not None and not isinstance(term, str | int | float | bool):
            raise Invalid(f"'{name}' must be text, a number, a date or yes/no")
        cleaned[name.strip()] = term
    return cleaned


PARSERS: dict[Kind, Callable[[Any, Field], Any]] = {
    "text": text,
    "int": whole,
    "decimal": decimal,
    "date": day,
    "bool": boolean,
    "choice": choice,
    "country": code(2, "two-letter country code (ISO 3166), such as NO"),
    "currency": code(3, "three-letter currency code (ISO 4217), such as NOK"),
    "email": email,
    "dict": json_dict,
}


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean(
    data: Mapping[str, Any],
    fields: Mapping[str, Field],
    errors: dict[str, str],
    *,
    prefix: str = "",
    partial: bool = False,
) -> dict[str, Any]:
    """Parse ``data`` by ``fields``; problems go into ``errors`` keyed ``prefix + field``.

    With ``partial`` (an update), only the fields given are parsed and required ones may
    be absent, but not emptied.
    """
    values: dict[str, Any] = {}
    for name in data:
        if name not in fields:
            errors[prefix + name] = "is not a known field"
    for name, spec in fields.items():
        if partial and name not in data:
            continue
        raw = data.get(name)
        if isinstance(raw, str):
            raw = raw.strip()
        if blank(raw):
            if spec.required:
                errors[prefix + name] = "is required"
            values[name] = None
            continue
        try:
            values[name] = PARSERS[spec.kind](raw, spec)
        except Invalid as problem:
            errors[prefix + name] = str(problem)
    return values


def raise_if(errors: Mapping[str, str]) -> None:
    if errors:
        raise ValidationError(errors)


def require_actor(actor: str) -> str:
    # A missing actor is a programming error, not bad input: the audit log needs a name.
    if not isinstance(actor, str) or not actor.strip():
        raise ValueError("every write needs an actor (the username making it)")
    return actor.strip()
