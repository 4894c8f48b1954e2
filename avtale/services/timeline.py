"""The audit log as a reader follows it: what happened, by whom, newest first."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from avtale.repository.models import AuditLog
from avtale.vocabulary import field_label

ACTIONS = {
    "customer.create": "Customer created",
    "customer.update": "Company data changed",
    "customer.terminate": "Customer terminated",
    "customer.archive": "Customer archived",
    "customer.restore": "Customer restored",
    "contact.create": "Contact added",
    "contract.create": "Contract created",
    "contract.revise": "Contract revised",
    "contract.terminate": "Contract terminated",
    "asset.create": "Installed asset added",
    "document.store": "Document stored",
}
# Bookkeeping columns that change with every write and tell the reader nothing.
QUIET = {"updated_at", "created_at", "id"}


def describe(entry: AuditLog) -> str:
    """One line saying what the write changed, from its before and after."""
    before, after = entry.before or {}, entry.after or {}
    if entry.entity == "contract":
        new = after.get("version") or {}
        return (
            f"{after.get('contract_number', '')} version {new.get('version_no', '?')}: "
            f"{new.get('reason', '')}"
        )
    if entry.action == "customer.terminate":
        return str(after.get("termination_reason") or "")
    if entry.entity == "customer" and before:
        changed = [
            f"{field_label(key)}: {before.get(key) or '–'} → {after.get(key) or '–'}"
            for key in after
            if key not in QUIET and before.get(key) != after.get(key)
        ]
        return "; ".join(changed)
    for key in ("name", "serial_number", "filename"):
        if key in after:
            return str(after[key])
    return ""


def timeline(entries: Sequence[AuditLog]) -> pd.DataFrame:
    """At, actor, what and details of each entry, newest first: what happened lately
    matters most."""
    return pd.DataFrame(
        [
            {
                "at": entry.at,
                "actor": entry.actor,
                "what": ACTIONS.get(entry.action, entry.action),
                "details": describe(entry),
            }
            for entry in reversed(entries)
        ],
        columns=["at", "actor", "what", "details"],
    )
