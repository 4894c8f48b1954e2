"""What a valid contract is: its terms and lines as fields, their defaults and the rules
between them (SPEC R2, R3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from avtale.dates import add_months
from avtale.repository.models import ContractLine, Customer
from avtale.repository.validation import Field, clean
from avtale.vocabulary import APP_BILLING_PERIODS, EVERY_N_MONTHS, PRICE_ADJUSTMENT_RULES

MAX_AMOUNT = Decimal("1e13")  # Numeric(18, 4) holds 14 digits before the point

TERM_FIELDS = {
    "title": Field("text"),
    "owner": Field("text", max_length=100),
    "signed_date": Field("date"),
    "start_date": Field("date", required=True),
    "term_months": Field("int", minimum=1, maximum=1200),
    "end_date": Field("date"),
    "lock_in_months": Field("int", minimum=0, maximum=1200),
    "notice_months": Field("int", minimum=0, maximum=1200),
    "auto_renew": Field("bool"),
    "renewal_term_months": Field("int", minimum=1, maximum=1200),
    "price_adjustment_rule": Field("choice", choices=PRICE_ADJUSTMENT_RULES),
    "price_adjustment_pct": Field("decimal", minimum=-100, maximum=100, places=4),
    "next_price_adjustment_date": Field("date"),
    "sla": Field("text", max_length=10_000),
    "payment_terms_days": Field("int", minimum=0, maximum=3650),
    "currency": Field("currency", required=True),
    "custom_terms": Field("dict"),
}
TERMINATION_FIELDS = ("terminated_date", "termination_reason", "termination_circumstances")

LINE_FIELDS = {
    "product": Field("text", required=True),
    "quantity": Field("decimal", required=True, minimum=0, maximum=MAX_AMOUNT, places=4),
    "unit_price": Field("decimal", required=True, minimum=0, maximum=MAX_AMOUNT, places=4),
    "discount_percent": Field("decimal", minimum=0, maximum=100, places=4),
    "discount_end_date": Field("date"),
    "billing_period": Field("choice", required=True, choices=APP_BILLING_PERIODS),
    "billing_interval_months": Field("int", minimum=1, maximum=120),
    "start_date": Field("date"),
    "end_date": Field("date"),
}
# In a revision a line may say which current line it continues.
REVISED_LINE_FIELDS = LINE_FIELDS | {"line_no": Field("int", minimum=1)}


def term_end(start: date, term_months: int) -> date:
    """The last day of a term of ``term_months`` from ``start`` (SPEC XI: s + n months - 1 day)."""
    return add_months(start, term_months) - timedelta(days=1)


def complete_terms(values: dict[str, Any], customer: Customer) -> None:
    """Defaults for terms left empty."""
    if values.get("owner") is None:
        values["owner"] = customer.owner
    if values.get("auto_renew") is None:
        values["auto_renew"] = False
    if values.get("price_adjustment_rule") is None:
        values["price_adjustment_rule"] = "none"
    if values.get("custom_terms") is None:
        values["custom_terms"] = {}
    if values.get("end_date") is None and values.get("start_date") and values.get("term_months"):
        values["end_date"] = term_end(values["start_date"], values["term_months"])
    if values["auto_renew"] and values.get("renewal_term_months") is None:
        values["renewal_term_months"] = values.get("term_months")


def check_terms(values: Mapping[str, Any], errors: dict[str, str]) -> None:
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end < start:
        errors.setdefault("end_date", "must be on or after the start date")
    if values["auto_renew"] and values.get("renewal_term_months") is None:
        errors.setdefault(
            "renewal_term_months", "is required when the contract renews automatically"
        )
    rule = values["price_adjustment_rule"]
    if rule == "fixed_pct" and values.get("price_adjustment_pct") is None:
        errors.setdefault("price_adjustment_pct", "is required for a fixed percentage rule")
    if rule == "none" and values.get("next_price_adjustment_date") is not None:
        errors.setdefault("next_price_adjustment_date", "needs a price adjustment rule")


def clean_lines(
    lines: Sequence[Mapping[str, Any]],
    default_start: date | None,
    errors: dict[str, str],
    *,
    allow_line_no: bool = False,
    allow_zero: bool = False,
) -> list[tuple[int | None, dict[str, Any]]]:
    """Each line's values, with the line number it claims (revisions only). A revision's
    line that continues an earlier one (or ``allow_zero``) may go down to quantity 0."""
    cleaned = []
    for index, line in enumerate(lines):
        prefix = f"lines[{index}]."
        values = clean(
            line, REVISED_LINE_FIELDS if allow_line_no else LINE_FIELDS, errors, prefix=prefix
        )
        number = values.pop("line_no", None)
        if values.get("start_date") is None:
            values["start_date"] = default_start
        if values.get("discount_percent") is None:
            values["discount_percent"] = Decimal(0)
        check_line(values, prefix, errors, allow_zero=allow_zero or number is not None)
        cleaned.append((number, values))
    return cleaned


def check_line(
    values: Mapping[str, Any], prefix: str, errors: dict[str, str], *, allow_zero: bool = False
) -> None:
    quantity = values.get("quantity")
    if quantity is not None and quantity <= 0 and not (allow_zero and quantity == 0):
        errors.setdefault(prefix + "quantity", "must be more than 0")
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end < start:
        errors.setdefault(prefix + "end_date", "must be on or after the line's start date")
    period, interval = values.get("billing_period"), values.get("billing_interval_months")
    if period == EVERY_N_MONTHS and interval is None:
        errors.setdefault(prefix + "billing_interval_months", "is required for every N months")
    if period not in (None, EVERY_N_MONTHS) and interval is not None:
        errors.setdefault(prefix + "billing_interval_months", "only for billing every N months")
    if values.get("discount_end_date") and not values.get("discount_percent"):
        errors.setdefault(prefix + "discount_end_date", "only with a discount")


def values_of(line: ContractLine) -> dict[str, Any]:
    return {key: getattr(line, key) for key in LINE_FIELDS}
