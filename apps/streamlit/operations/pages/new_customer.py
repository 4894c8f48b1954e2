"""New customer: a plain form; the customer's card opens once it is saved (SPEC R1)."""

from __future__ import annotations

import streamlit as st

from avtale.services import customers
from avtale.services.unit_of_work import DUPLICATE
from common import access, database, links, ui

FORM = "new_customer"
FIELDS = {
    "name": "Name *",
    "customer_number": "Customer number",
    "org_number": "Org number",
    "country": "Country (two letters, e.g. NO)",
    "owner": "Owner (account manager)",
    "industry": "Industry",
}

CONFIRM = "confirm_duplicate"

user = access.user()
db = database.database()


def may_exist() -> bool:
    """The customers the last submit may duplicate, as a warning with a link to each;
    whether the user is asked to confirm."""
    outcome = ui.outcome(FORM)
    confirm = ui.key(FORM, CONFIRM)
    if outcome is None or DUPLICATE not in outcome.errors:
        # Still asked on the run that submits the ticked box (the outcome is shown once).
        return confirm in st.session_state
    ui.mark_shown(FORM, DUPLICATE)
    st.warning(ui.md(outcome.errors[DUPLICATE]), icon=":material/content_copy:")
    for existing in outcome.detail["duplicate_of"]:
        st.page_link(
            links.CUSTOMER,
            label=f"{existing['customer_number']} {existing['name']} ({existing['status']}, "
            f"same {existing['reason']})",
            icon=":material/person:",
            query_params={"customer": existing["customer_number"]},
        )
    return True


st.title("New customer")
ask = may_exist()
with st.form(FORM):
    values = {}
    for field, text in FIELDS.items():
        help_text = "Leave empty for the next free number" if field == "customer_number" else None
        values[field] = st.text_input(text, key=ui.key(FORM, field), help=help_text)
        ui.field_error(FORM, field)
    confirmed = ask and st.checkbox(
        "Create anyway: it is another company", key=ui.key(FORM, CONFIRM)
    )
    ui.submit(
        FORM,
        "Create customer",
        lambda: customers.create_customer(db, user.username, values, confirmed=confirmed),
        then=ui.open_written(links.CUSTOMER, "customer"),
    )
ui.result(FORM)
