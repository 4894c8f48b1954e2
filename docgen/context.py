"""The document context (docs/documents.md): its fields, the checks before rendering, and
the wrapping that makes an empty or unknown field stop generation with its name.

The repository passes plain dicts and lists (str, int, bool, Decimal, date, None). Wrapped,
a documented field holding None is an ``EmptyField``: false in ``{% if %}``, replaced by
``| default``, but printing it raises ``MissingField("contract.sla is empty")``. A name
that is not documented raises ``UnknownField`` as soon as it is looked up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from jinja2 import Undefined

from docgen.errors import MissingField, UnknownField
from docgen.locale import load_labels
from docgen.samples import SAMPLE_CONTEXT

__all__ = [
    "FIELDS",
    "REQUIRED_FIELDS",
    "SAMPLE_CONTEXT",
    "EmptyField",
    "NotInContext",
    "PURPOSES_SERVED",
    "Record",
    "missing_required",
    "wrap_context",
]

# A record is a dict of its fields, a list holds one schema for its items, None is a value.
Schema = dict[str, "Schema"] | list["Schema"] | None


def _record(names: str) -> dict[str, Schema]:
    return dict.fromkeys(names.split(), None)


FIELDS: dict[str, Schema] = {
    "document": _record("number title purpose language date version status"),
    "seller": _record("name org_number address email phone logo"),
    "customer": _record("name customer_number org_number country address"),
    "contract": _record(
        "number title owner start_date end_date term_months lock_in_months notice_months"
        " auto_renew renewal_term_months payment_terms_days currency sla"
        " price_adjustment_rule price_adjustment_pct signing_deadline previous_number"
        " effective_date"
    ),
    "lines": [
        _record(
            "product description quantity unit_price discount_percent discount_end_date"
            " billing_period billing_interval_months period_amount mrr recurring"
        )
    ],
    "totals": _record("mrr arr one_off currency"),
    "changes": [_record("label old new")],
    "clauses": [_record("key version title body")],
    "free_text": None,
    "signatories": {"seller": _record("name title"), "customer": _record("name title")},
    "invoice": {
        **_record(
            "kind corrects number issue_date due_date period_start period_end net vat_rate"
            " vat_category vat_note vat gross payment_reference payment_reference_kind"
            " account account_scheme bic"
        ),
        "vat_breakdown": [_record("category rate base vat")],
    },
    "labels": dict.fromkeys(load_labels("en"), None),
}

# A template made for an agreement also makes renegotiations of agreements.
PURPOSES_SERVED: dict[str, tuple[str, ...]] = {
    "agreement": ("agreement", "renegotiation"),
    "renegotiation": ("renegotiation",),
    "invoice": ("invoice",),
}

# "lines" means at least one line; the others are dotted paths that must not be empty.
_AGREEMENT = (
    "document.number",
    "document.date",
    "seller.name",
    "customer.name",
    "contract.start_date",
    "contract.currency",
    "lines",
)
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "agreement": _AGREEMENT,
    "renegotiation": (*_AGREEMENT, "contract.previous_number"),
    "invoice": (
        "document.number",
        "seller.name",
        "customer.name",
        "contract.currency",
        "invoice.number",
        "invoice.issue_date",
        "invoice.due_date",
        "invoice.net",
        "invoice.vat",
        "invoice.gross",
        "lines",
    ),
}


def _lookup(context: Mapping[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def missing_required(context: Mapping[str, Any], purpose: str) -> list[str]:
    """The required fields of ``purpose`` that are empty, in a stable order."""
    if purpose not in REQUIRED_FIELDS:
        raise ValueError(f"unknown purpose {purpose!r}; use one of: {', '.join(REQUIRED_FIELDS)}")
    missing = []
    for path in REQUIRED_FIELDS[purpose]:
        value = _lookup(context, path)
        if path == "lines":
            if not value:
                missing.append("lines (at least one line)")
        elif value is None or (isinstance(value, str) and not value.strip()):
            missing.append(path)
    return missing


class EmptyField(Undefined):
    """A documented field without a value (named by its path, e.g. ``lines[1].sla``)."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise MissingField([str(self._undefined_name)])

    __str__ = __iter__ = __len__ = __html__ = _fail_with_undefined_error  # type: ignore[assignment]


class NotInContext(Undefined):
    """Jinja's undefined for names it cannot resolve: a top-level name not in the context,
    or a macro argument not given. Printing it stops generation; the sandbox's refusals
    (``exc`` set by Jinja) keep their own error."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        if self._undefined_hint is None and isinstance(self._undefined_name, str):
            raise UnknownField(self._undefined_name)
        super()._fail_with_undefined_error(*args, **kwargs)
        raise AssertionError("unreachable")

    __str__ = __iter__ = __len__ = __html__ = _fail_with_undefined_error  # type: ignore[assignment]


class Record:
    """A dict seen through its schema: documented fields only, empty ones as EmptyField.

    Not a Mapping on purpose: ``contract.items`` must be an unknown field, not dict.items.
    """

    __slots__ = ("_data", "_fields", "_path", "_schema_path")

    def __init__(
        self, data: Mapping[str, Any], fields: dict[str, Schema], path: str, schema_path: str
    ) -> None:
        self._data = data
        self._fields = fields
        self._path = path
        self._schema_path = schema_path

    def _field(self, name: str) -> Any:
        if name not in self._fields:
            raise UnknownField(f"{self._schema_path}.{name}")
        return _wrap(
            self._data.get(name),
            self._fields[name],
            f"{self._path}.{name}",
            f"{self._schema_path}.{name}",
        )

    def __getattr__(self, name: str) -> Any:
        # Dunder and private lookups come from Python, markupsafe and Jinja, not templates.
        if name.startswith("_"):
            raise AttributeError(name)
        return self._field(name)

    def __getitem__(self, name: object) -> Any:
        if not isinstance(name, str):
            raise KeyError(name)
        return self._field(name)

    def __contains__(self, name: object) -> bool:
        return name in self._fields and self._data.get(name) is not None  # type: ignore[call-overload]

    def __repr__(self) -> str:
        return f"<{self._path}>"


def _wrap(value: Any, schema: Schema, path: str, schema_path: str) -> Any:
    if value is None:
        return EmptyField(name=path)
    if isinstance(schema, dict) and isinstance(value, Mapping):
        return Record(value, schema, path, schema_path)
    if isinstance(schema, list) and isinstance(value, list | tuple):
        return [
            _wrap(item, schema[0], f"{path}[{index}]", f"{schema_path}[]")
            for index, item in enumerate(value)
        ]
    return value


def wrap_context(context: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """Every documented top-level name, wrapped; names the table does not list are dropped."""
    data = {**context, "labels": labels}
    return {name: _wrap(data.get(name), schema, name, name) for name, schema in FIELDS.items()}
