"""Customer card: company data, contacts, contracts with MRR, documents, timeline, and the
actions sales ops take on a customer (SPEC R1, R6)."""

from __future__ import annotations

import access
import forms
import ops_data
import streamlit as st
import ui

from avtale.repository import auth

CONTRACT_PAGE = "app_pages/contract.py"
STATUS_BADGES = {
    "active": ("Active", "green"),
    "terminated": ("Terminated", "red"),
    "archived": ("Archived", "gray"),
}
COMPANY_FIELDS = ("name", "org_number", "country", "owner", "industry")

user = access.user()
can_edit = auth.can(user.role, "edit_agreements")
url, version = ops_data.current()
engine = ops_data.engine()

st.title("Customer card")
number = ui.url_picker(
    "Customer", ops_data.customer_choices(url, version), "customer", "card_customer"
)
if number is None:
    st.caption("Pick a customer, or find one under Customers & contracts.")
    st.stop()
card = ops_data.customer_card(url, version, number)
if card is None:
    st.warning(f"There is no customer {ui.md(number)}.")
    st.stop()
company = card.company

text, colour = STATUS_BADGES[company["status"]]
st.header(ui.md(company["name"]))
st.badge(text, color=colour)
ui.facts(
    [
        ("Customer number", company["customer_number"]),
        ("Org number", company["org_number"]),
        ("Country", company["country"]),
        ("Owner", company["owner"]),
        ("Industry", company["industry"]),
        ("Customer since", company["created_at"]),
    ]
)
if company["status"] == "terminated":
    ui.ended("Terminated", company["termination_reason"], company["termination_circumstances"])

st.subheader("Contracts")
if card.contracts.empty:
    st.caption("No contracts yet.")
else:
    st.caption("Current MRR in each contract's currency. Click a row to open the contract.")
    picked = st.dataframe(
        card.contracts,
        key="card_contracts",
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "contract": "Contract",
            "title": "Title",
            "status": "Status",
            "origin": "Origin",
            "start_date": st.column_config.DateColumn("Start"),
            "end_date": st.column_config.DateColumn("End"),
            "currency": "Currency",
            "mrr": st.column_config.NumberColumn("MRR", format="%,.2f"),
        },
    )
    ui.open_selected(picked, card.contracts, CONTRACT_PAGE, "contract", "contract")
if can_edit and company["status"] == "active":
    with st.container(horizontal=True):
        st.page_link(
            "app_pages/new_agreement.py",
            label="New agreement for this customer",
            icon=":material/handshake:",
            query_params={"customer": number},
        )
        st.page_link(
            "app_pages/new_contract.py",
            label="New contract (plain form)",
            icon=":material/note_add:",
            query_params={"customer": number},
        )

st.subheader("Contacts")
if card.contacts.empty:
    st.caption("No contacts yet.")
else:
    st.dataframe(
        card.contacts,
        key="card_contacts",
        hide_index=True,
        column_config={
            "name": "Name",
            "title": "Title",
            "email": "E-mail",
            "phone": "Phone",
            "may_sign": st.column_config.CheckboxColumn("May sign"),
        },
    )

st.subheader("Documents")
if card.documents.empty:
    st.caption("No documents yet.")
else:
    st.dataframe(
        ui.local_times(card.documents, "uploaded_at"),
        key="card_documents",
        hide_index=True,
        column_order=[
            "filename",
            "kind",
            "contract",
            "size_bytes",
            "sha256",
            "uploaded_by",
            "uploaded_at",
        ],
        column_config={
            "filename": "File",
            "kind": "Kind",
            "contract": "Contract",
            "size_bytes": st.column_config.NumberColumn("Bytes", format="%,d"),
            "sha256": "SHA-256",
            "uploaded_by": "By",
            "uploaded_at": "When",
        },
    )

st.subheader("Timeline")
st.dataframe(
    ui.local_times(card.timeline, "at"),
    key="card_timeline",
    hide_index=True,
    column_config={"at": "When", "actor": "Who", "what": "What", "details": "Details"},
)

if not can_edit:
    st.stop()

st.subheader("Actions")
with st.expander("Edit company data", icon=":material/edit:", expanded=ui.pending("edit_customer")):
    form = "edit_customer"
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
            lambda: forms.update_customer(engine, user.username, number, values),
        )
    ui.result(form)

with st.expander("Add contact", icon=":material/person_add:", expanded=ui.pending("add_contact")):
    form = "add_contact"
    with st.form(form):
        contact = {}
        for field in ("name", "title", "email", "phone"):
            contact[field] = st.text_input(
                ui.label(field) + (" *" if field == "name" else ""), key=ui.key(form, field)
            )
            ui.field_error(form, field)
        contact["may_sign"] = st.checkbox("May sign agreements", key=ui.key(form, "may_sign"))
        ui.submit(
            form, "Add contact", lambda: forms.add_contact(engine, user.username, number, contact)
        )
    ui.result(form)

if company["status"] != "terminated":
    with st.expander(
        "Terminate customer", icon=":material/block:", expanded=ui.pending("terminate_customer")
    ):
        form = "terminate_customer"
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
                lambda: forms.terminate_customer(
                    engine, user.username, number, reason, circumstances
                ),
                then=ui.flashed,  # the form goes away once the customer is terminated
            )
        ui.result(form)

with st.container(horizontal=True):
    if company["status"] != "archived":
        ui.action_button(
            "archive_customer",
            "Archive",
            lambda: forms.archive_customer(engine, user.username, number),
            then=ui.flashed,
        )
    if company["status"] != "active":
        ui.action_button(
            "restore_customer",
            "Restore",
            lambda: forms.restore_customer(engine, user.username, number),
            then=ui.flashed,
        )
