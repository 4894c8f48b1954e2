"""The customer card's actions, each a form or a button that writes through
``avtale.services.customers``: edit the company data, add a contact, send a contact a
portal link (``avtale.services.portal``), terminate, archive and restore (SPEC R1, R6, P1)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from avtale.services import customers, portal
from avtale.services.database import Database
from avtale.settings import load_settings
from common import ui

COMPANY_FIELDS = ("name", "org_number", "country", "owner", "industry")


def edit_company(db: Database, actor: str, number: str, company: dict[str, Any]) -> None:
    form = "edit_customer"
    with st.expander("Edit company data", icon=":material/edit:", expanded=ui.pending(form)):
        current = {field: company[field] or "" for field in COMPANY_FIELDS}
        # Prefilled afresh for another customer or when someone else changed the data.
        ui.prefill(form, f"{number}:{sorted(current.items())}", current)
        with st.form(form):
            values = {}
            for field in COMPANY_FIELDS:
                values[field] = st.text_input(
                    ui.label(field) + (" *" if field == "name" else ""), key=ui.key(form, field)
                )
                ui.field_error(form, field)
            ui.submit(
                form,
                "Save company data",
                lambda: customers.update_customer(db, actor, number, values),
            )
        ui.result(form)


def add_contact(db: Database, actor: str, number: str) -> None:
    form = "add_contact"
    with st.expander("Add contact", icon=":material/person_add:", expanded=ui.pending(form)):
        with st.form(form):
            contact: dict[str, Any] = {}
            for field in ("name", "title", "email", "phone"):
                contact[field] = st.text_input(
                    ui.label(field) + (" *" if field == "name" else ""), key=ui.key(form, field)
                )
                ui.field_error(form, field)
            contact["may_sign"] = st.checkbox("May sign agreements", key=ui.key(form, "may_sign"))
            ui.submit(
                form, "Add contact", lambda: customers.add_contact(db, actor, number, contact)
            )
        ui.result(form)


def portal_link(db: Database, actor: str, contacts: pd.DataFrame) -> None:
    """Mail a contact their personal link to the customer portal (the old one stops)."""
    with_email = contacts[contacts.email.fillna("").str.strip() != ""]
    with st.expander(
        "Send a portal link", icon=":material/link:", expanded=ui.pending("portal_link")
    ):
        if with_email.empty:
            st.caption("Add a contact with an e-mail address first.")
            return
        names = {int(row.id): f"{row.name} ({row.email})" for row in with_email.itertuples()}
        chosen = st.selectbox(
            "Contact", list(names), format_func=names.__getitem__, key="portal_link_contact"
        )
        st.caption(
            "The contact sees this customer's agreements, signed documents and invoices "
            "without a login, and can act on them as each contract's portal access allows."
        )
        ui.action_button(
            "portal_link",
            "Send portal link",
            lambda: portal.send_link(db, actor, load_settings(), int(chosen)),
            then=ui.flashed,
        )


def terminate(db: Database, actor: str, number: str) -> None:
    form = "terminate_customer"
    with st.expander("Terminate customer", icon=":material/block:", expanded=ui.pending(form)):
        st.caption(
            "The reason feeds churn analysis. "
            "Each contract ends on its own page, with its own date."
        )
        with st.form(form):
            reason = st.text_input("Reason *", key=ui.key(form, "reason"))
            ui.field_error(form, "reason")
            circumstances = st.text_area("Circumstances", key=ui.key(form, "circumstances"))
            ui.field_error(form, "circumstances")
            ui.submit(
                form,
                "Terminate customer",
                lambda: customers.terminate_customer(db, actor, number, reason, circumstances),
                then=ui.flashed,  # the form goes away once the customer is terminated
            )
        ui.result(form)


def archive_or_restore(db: Database, actor: str, number: str, status: str) -> None:
    """Archive a customer that is not archived; restore one that is not active."""
    with st.container(horizontal=True):
        if status != "archived":
            ui.action_button(
                "archive_customer",
                "Archive",
                lambda: customers.archive_customer(db, actor, number),
                then=ui.flashed,
            )
        if status != "active":
            ui.action_button(
                "restore_customer",
                "Restore",
                lambda: customers.restore_customer(db, actor, number),
                then=ui.flashed,
            )
