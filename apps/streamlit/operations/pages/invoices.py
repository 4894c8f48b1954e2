"""Invoices: the register with each document's status today, one document's PDF and credit
note, the payments no invoice took, and a bank statement to import (SPEC B1, B2)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from avtale.dates import today as business_today
from avtale.services import invoices, users
from common import access, database, fmt, links, ui
from operations import invoice_actions, invoice_reads

COLUMNS: dict[str, Any] = {
    "number": "Number",
    "kind": "Kind",
    "customer": "Customer",
    "contract": "Contract",
    "issue_date": st.column_config.DateColumn("Issued"),
    "due_date": st.column_config.DateColumn("Due"),
    "currency": "Currency",
    "total": st.column_config.NumberColumn("Total", format="%,.2f"),
    "open": st.column_config.NumberColumn("Open", format="%,.2f"),
    "status": "Status",
    "corrects": "Corrects",
}

user = access.user()
can_edit = users.can(user.role, "edit_agreements")
url, version = database.current()
today = business_today()

st.title("Invoices")
ui.show_flash()
register = invoice_reads.register(url, version, today)
if register.empty:
    st.caption("No invoices yet: `avtale invoice run` (or the daily job) issues them.")
shown = st.multiselect(
    "Status", invoices.STATUSES, key="invoice_status", placeholder="Every status"
)
listed = register[register.status.isin(shown)] if shown else register
st.caption(
    f"{len(listed)} of {len(register)} documents, newest first; status as of {fmt.day(today)}."
)
ui.dataframe(
    listed.assign(kind=listed.kind.str.replace("_", " ")),
    key="invoice_register",
    hide_index=True,
    column_order=list(COLUMNS),
    column_config=COLUMNS,
)

number = ui.url_picker(
    "Invoice or credit note",
    {str(row.number): f"{row.number} · {row.customer}" for row in register.itertuples()},
    "invoice",
    "invoice_pick",
)
if number is not None:
    document = register[register.number == number].iloc[0]
    if document.contract:
        st.page_link(
            links.CONTRACT,
            label=f"Contract {document.contract}",
            icon=":material/description:",
            query_params={"contract": document.contract},
        )
    ui.facts(
        [
            ("Status", document.status),
            ("Total", fmt.money(document.total, document.currency)),
            ("Paid", fmt.money(document.paid, document.currency)),
            ("Credited", fmt.money(document.credited, document.currency)),
            ("Open", fmt.money(document.open, document.currency)),
            ("Corrects", document.corrects),
        ]
    )
    if can_edit:
        db = database.database()
        invoice_actions.pdf(db, user.username, number)
        if document.kind == "invoice" and document.status != "credited":
            invoice_actions.credit(db, user.username, number)

st.subheader("Unmatched payments")
queue = invoice_reads.payment_queue(url, version)
if queue.empty:
    st.caption("Every imported payment found its invoice.")
else:
    ui.dataframe(
        queue,
        key="payment_queue",
        hide_index=True,
        column_config={
            "payment": None,
            "booking_date": st.column_config.DateColumn("Booked"),
            "payer": "Payer",
            "amount": st.column_config.NumberColumn("Amount", format="%,.2f"),
            "currency": "Currency",
            "text": "Message",
            "reason": "Why it is here",
        },
    )
if can_edit:
    st.subheader("Import a bank statement")
    invoice_actions.statement(database.database(), user.username)
