"""Counterparty paper: the customer's own PDF or DOCX, stored by its hash, with the same
fields as any contract so it joins search, comparison and analytics (SPEC R5)."""

from __future__ import annotations

import access
import contract_inputs
import forms
import ops_data
import streamlit as st
import ui

from avtale.settings import paths

FORM = "paper"
CONFIRM = "confirm_duplicate"

user = access.user()
url, version = ops_data.current()
engine = ops_data.engine()

st.title("Counterparty paper")
st.caption(
    "A contract written on the customer's paper: upload their document and register its "
    "terms. The file is kept unchanged, identified by its SHA-256 hash."
)
ui.prefill(FORM, "new", contract_inputs.DEFAULTS, contract_inputs.new_contract_tables())
customer = ui.url_picker(
    "Customer *",
    ops_data.customer_choices(url, version, active_only=True),
    "customer",
    ui.key(FORM, "customer"),
)
ui.field_error(FORM, "customer")


def registered_before() -> bool:
    """The contracts the last submitted file is already registered on, as a warning with a
    link to each; whether the user is asked to confirm."""
    outcome = st.session_state.get(f"{FORM}__outcome")
    confirm = ui.key(FORM, CONFIRM)
    if outcome is None or forms.DUPLICATE not in outcome.errors:
        # Still asked on the run that submits the ticked box (the outcome is shown once).
        return confirm in st.session_state
    st.session_state.setdefault(f"{FORM}__shown", set()).add(forms.DUPLICATE)
    st.warning(ui.md(outcome.errors[forms.DUPLICATE]), icon=":material/content_copy:")
    for number in outcome.detail["duplicate_of"]:
        st.page_link(
            "app_pages/contract.py",
            label=f"Open contract {number}",
            icon=":material/description:",
            query_params={"contract": number},
        )
    return True


ask = registered_before()
with st.form(FORM):
    upload = st.file_uploader(
        f"The customer's document: PDF or Word (.docx), {ui.upload_limit_text()} *",
        type=["pdf", "docx"],
        key=ui.key(FORM, "file"),
        max_upload_size=ui.upload_limit_mb(),
    )
    ui.field_error(FORM, "file", "filename")
    terms = contract_inputs.terms(FORM)
    lines = contract_inputs.lines(FORM)
    custom = contract_inputs.custom_terms(FORM)
    confirmed = ask and st.checkbox(
        "Register anyway: it is another contract on the same file", key=ui.key(FORM, CONFIRM)
    )
    ui.submit(
        FORM,
        "Register counterparty paper",
        lambda: forms.register_paper(
            engine,
            user.username,
            paths(),
            customer,
            terms,
            custom,
            lines,
            None if upload is None else (upload.name, upload.getvalue()),
            confirmed=confirmed,
        ),
    )
outcome = st.session_state.get(f"{FORM}__outcome")
ui.result(FORM)
if outcome is not None and outcome.ok:
    st.markdown(f"SHA-256 of **{ui.md(outcome.detail['filename'])}**: `{outcome.detail['sha256']}`")
    st.page_link(
        "app_pages/contract.py",
        label=f"Open contract {outcome.target}",
        icon=":material/description:",
        query_params={"contract": outcome.target},
    )
