"""New contract: a plain form with every term and the lines (SPEC R2); the contract page
opens once it is saved. The guided flow with documents comes later (SPEC C)."""

from __future__ import annotations

import streamlit as st

from avtale.services import contracts
from common import access, contract_inputs, database, links, ui
from common.form_values import records
from operations import customer_reads

FORM = "new_contract"

user = access.user()
url, version = database.current()
db = database.database()


st.title("New contract")
ui.prefill(FORM, "new", contract_inputs.DEFAULTS, contract_inputs.new_contract_tables())
# Only active customers can sign; a link from a customer card picks theirs.
customer = ui.url_picker(
    "Customer *",
    customer_reads.customer_choices(url, version, active_only=True),
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
        lambda: contracts.create_contract(
            db, user.username, customer, terms, records(custom), records(lines)
        ),
        then=ui.open_written(links.CONTRACT, "contract"),
    )
ui.result(FORM)
