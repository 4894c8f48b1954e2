"""What a reminder says: its subject, body, link into the app, and stable Message-ID."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode

from avtale.settings import reporting_currency
from docgen.locale import Formatter

LABELS = {
    "expiry": "Expiry",
    "notice": "Notice deadline",
    "renegotiation_window": "Renegotiation window",
    "lock_in_end": "End of lock-in",
    "price_adjustment": "Price adjustment",
    "discount_end": "End of discount",
    "next_renewal": "Next renewal",
    "invoice_overdue": "Invoice overdue",
}
MESSAGE_DOMAIN = "avtale.reminders"


def label(deadline_type: str) -> str:
    return LABELS.get(deadline_type) or deadline_type.replace("_", " ").capitalize()


def message_id(
    contract_id: str, deadline_type: str, deadline_date: date, lead_days: int, kind: str
) -> str:
    """The same natural key gives the same Message-ID, in every run and on every machine."""
    key = "|".join((contract_id, deadline_type, deadline_date.isoformat(), str(lead_days), kind))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{kind}.{digest}@{MESSAGE_DOMAIN}>"


def link(row: Mapping[str, Any]) -> str | None:
    """The app page of the contract (app contracts) or of the CRM customer, as
    ``<page>?<query>`` relative to the app's address."""
    contract_id = str(row["contract_id"])
    if contract_id.startswith("app:"):
        return "contract?" + urlencode({"contract": contract_id.removeprefix("app:")})
    if row.get("customer_id"):
        return "crm_customer?" + urlencode({"crm_customer": str(row["customer_id"])})
    return None


def when(day: date, today: date) -> str:
    days = (day - today).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    return f"in {days} days" if days > 0 else f"{-days} days ago"


def _customer(row: Mapping[str, Any]) -> str:
    return str(row.get("customer_name") or row.get("customer_id") or row["contract_id"])


def _facts(row: Mapping[str, Any]) -> str:
    facts = [f"Contract: {row['contract_id']}"]
    if row.get("customer_name") or row.get("customer_id"):
        facts.append(f"Customer: {_customer(row)}")
    if row.get("owner"):
        facts.append(f"Owner: {row['owner']}")
    if row.get("auto_renew") is not None:
        facts.append(f"Renews automatically: {'yes' if row['auto_renew'] else 'no'}")
    at_stake, currency = row.get("mrr_at_stake"), reporting_currency()
    if at_stake is not None:
        facts.append(f"MRR at stake: {currency} {float(at_stake):,.2f}")
    elif row.get("contract_mrr") is not None:
        facts.append(f"Contract MRR: {currency} {float(row['contract_mrr']):,.2f}")
    if row.get("detail"):  # its days and amounts as the mail's English writes them
        facts.append(Formatter("en").sentence(str(row["detail"])))
    return "\n".join(facts)


def reminder_text(
    row: Mapping[str, Any], today: date, recipient: str, escalate_after_days: int
) -> tuple[str, str]:
    """Subject and plain-text body of the reminder of one deadline."""
    day: date = row["deadline_date"]
    what = label(str(row["deadline_type"]))
    subject = f"{what} {day:%d %b %Y} ({when(day, today)}): {_customer(row)}"
    body = (
        f"Hello {recipient},\n\n"
        f"{what} of contract {row['contract_id']} ({_customer(row)}) is on "
        f"{day:%A %d %B %Y}, {when(day, today)}.\n\n"
        f"{_facts(row)}\n\n"
        "Acknowledge this reminder under Notifications in Avtale once you have it in hand. "
        f"If it is not acknowledged within {escalate_after_days} days, it goes to your "
        "manager."
    )
    return subject[:300], body


def escalation_text(
    original: Mapping[str, Any],
    recipient: str,
    ignored_by: str,
    sent_on: date,
    today: date,
) -> tuple[str, str]:
    """Subject and body of the escalation of a reminder nobody acknowledged, quoting it as
    a forwarded mail would. ``original`` has the reminder's columns."""
    day: date = original["deadline_date"]
    quoted = "\n".join(f"> {line}".rstrip() for line in str(original["body"]).strip().splitlines())
    subject = (
        f"Not acknowledged by {ignored_by}: {label(str(original['deadline_type']))} "
        f"{day:%d %b %Y} ({when(day, today)}): {_customer(original)}"
    )
    body = (
        f"Hello {recipient},\n\n"
        f"{ignored_by} was reminded on {sent_on:%d %b %Y} and has not acknowledged it in "
        f"{(today - sent_on).days} days. The reminder:\n\n"
        f"{quoted}\n\n"
        "Please follow up, or acknowledge it under Notifications in Avtale yourself."
    )
    return subject[:300], body


def overdue_text(
    row: Mapping[str, Any], today: date, recipient: str, escalate_after_days: int
) -> tuple[str, str]:
    """Subject and body of the reminder of a contract's invoices unpaid past their due date
    (``row["detail"]`` names them and what is open)."""
    day: date = row["deadline_date"]
    subject = f"Invoice overdue since {day:%d %b %Y}: {_customer(row)}"
    body = (
        f"Hello {recipient},\n\n"
        f"{_customer(row)} has not paid what was due on {day:%A %d %B %Y} "
        f"({when(day, today)}) under contract {row['contract_id']}.\n\n"
        f"{_facts(row)}\n\n"
        "Please follow it up with the customer, and acknowledge this reminder under "
        f"Notifications in Avtale. If it is not acknowledged within {escalate_after_days} "
        "days, it goes to your manager."
    )
    return subject[:300], body
