"""Counterparty paper: the customer's own PDF or DOCX, stored by its hash, with the same
fields as any contract so it joins search, comparison and analytics (SPEC R5)."""

from __future__ import annotations

import streamlit as st

from avtale.services import contracts
from avtale.services.unit_of_work import DUPLICATE
from avtale.settings import paths
from common import access, contract_inputs, database, links, ui
from common.form_values import records
from operations import customer_reads

FORM = "paper"
CONFIRM = "confirm_duplicate"

user = access.user()
url, version = database.current()
db = database.database()

st.title("Counterparty paper")
st.caption(
    "A contract written on the customer's paper: upload their document and register its "
    "terms. The file is kept unchanged, identified by its SHA-256 hash."
)
ui.prefill(FORM, "new", contract_inputs.DEFAULTS, contract_inputs.new_contract_tables())
customer = ui.url_picker(
    "Customer *",
    customer_reads.customer_choices(url, version, active_only=True),
    "customer",
    ui.key(FORM, "customer"),
)
ui.field_error(FORM, "customer")


def registered_before() -> bool:
    """The contracts the last submitted file is already registered on, as a warning with a
    link to each; whether the user is asked to confirm."""
    outcome = ui.outcome(FORM)
    confirm = ui.key(FORM, CONFIRM)
    if outcome is None or DUPLICATE not in outcome.errors:
        # Still asked on the run that submits the ticked box (the outcome is shown once).
        return confirm in st.session_state
    ui.mark_shown(FORM, DUPLICATE)
    st.warning(ui.md(outcome.errors[DUPLICATE]), icon=":material/content_copy:")
    for number in outcome.detail["duplicate_of"]:
        st.page_link(
            links.CONTRACT,
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
        lambda: contracts.register_paper(
            db,
            user.username,
            paths(),
            customer,
            terms,
            records(custom),
            records(lines),
            None if upload is None else (upload.name, upload.getvalue()),
            confirmed=confirmed,
        ),
    )
outcome = ui.outcome(FORM)
ui.result(FORM)
if outcome is not None and outcome.ok:
    st.markdown(f"SHA-256 of **{ui.md(outcome.detail['filename'])}**: `{outcome.detail['sha256']}`")
    st.page_link(
        links.CONTRACT,
        label=f"Open contract {outcome.target}",
        icon=":material/description:",
        query_params={"contract": outcome.target or ""},
    )
