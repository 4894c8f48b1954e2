"""New customer: a plain form; the customer's card opens once it is saved (SPEC R1)."""

from __future__ import annotations

import access
import forms
import ops_data
import streamlit as st
import ui

FORM = "new_customer"
FIELDS = {
    "name": "Name *",
    "customer_number": "Customer number",
    "org_number": "Org number",
    "country": "Country (two letters, e.g. NO)",
    "owner": "Owner (account manager)",
    "industry": "Industry",
}

user = access.user()
engine = ops_data.engine()


def open_card(outcome: forms.Outcome) -> None:
    ui.flash(outcome.message)
    st.switch_page("app_pages/customer.py", query_params={"customer": outcome.target})


st.title("New customer")
with st.form(FORM):
    values = {}
    for field, text in FIELDS.items():
        help_text = "Leave empty for the next free number" if field == "customer_number" else None
        values[field] = st.text_input(text, key=ui.key(FORM, field), help=help_text)
        ui.field_error(FORM, field)
    ui.submit(
        FORM,
        "Create customer",
        lambda: forms.create_customer(engine, user.username, values),
        then=open_card,
    )
ui.result(FORM)
