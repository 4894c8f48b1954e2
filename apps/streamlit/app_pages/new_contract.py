"""New contract: a plain form with every term and the lines (SPEC R2); the contract page
opens once it is saved. The guided flow with documents comes later (SPEC C)."""

from __future__ import annotations

import access
import contract_inputs
import forms
import ops_data
import streamlit as st
import ui

FORM = "new_contract"

user = access.user()
url, version = ops_data.current()
engine = ops_data.engine()


def open_contract(outcome: forms.Outcome) -> None:
    ui.flash(outcome.message)
    st.switch_page("app_pages/contract.py", query_params={"contract": outcome.target})


st.title("New contract")
ui.prefill(FORM, "new", contract_inputs.DEFAULTS, contract_inputs.new_contract_tables())
# Only active customers can sign; a link from a customer card picks theirs.
customer = ui.url_picker(
    "Customer *",
    ops_data.customer_choices(url, version, active_only=True),
    "customer",
    ui.key(FORM, "customer"),
)
ui.field_error(FORM, "customer")
with st.form(FORM):
    terms = contract_inputs.terms(FORM)
    lines = contract_inputs.lines(FORM)
    custom = contract_inputs.custom_terms(FORM)
    ui.submit(
        FORM,
        "Create contract",
        lambda: forms.create_contract(engine, user.username, customer, terms, custom, lines),
        then=open_contract,
    )
ui.result(FORM)
