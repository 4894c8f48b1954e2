"""The repository's operations in one place: audited writes and the reads the app needs.

Every write takes the session of the caller's transaction (``db.session_scope``) and the
``actor`` (username) making it, validates all input before it changes anything, raises
``ValidationError`` with a message per field, and adds its audit row to the same
transaction. Nothing commits here: the caller's ``with`` block does.
"""

from avtale.repository.contracts import (
    Change,
    add_installed_asset,
    compare_versions,
    create_contract,
    current_version,
    revise_contract,
    terminate_contract,
)
from avtale.repository.customers import (
    add_contact,
    archive_customer,
    create_customer,
    restore_customer,
    terminate_customer,
    update_customer,
)
from avtale.repository.queries import (
    SearchHit,
    audit_trail,
    customer_timeline,
    filter_contracts,
    search,
)
from avtale.repository.validation import ValidationError

__all__ = [
    "Change",
    "SearchHit",
    "ValidationError",
    "add_contact",
    "add_installed_asset",
    "archive_customer",
    "audit_trail",
    "compare_versions",
    "create_contract",
    "create_customer",
    "current_version",
    "customer_timeline",
    "filter_contracts",
    "restore_customer",
    "revise_contract",
    "search",
    "terminate_contract",
    "terminate_customer",
    "update_customer",
]
