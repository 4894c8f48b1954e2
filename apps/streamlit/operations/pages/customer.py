"""Customer card: company data, contacts, contracts with MRR, documents, timeline, and the
actions sales ops take on a customer (SPEC R1, R6)."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from avtale.services import users
from common import access, contract_inputs, database, links, ui
from common.scope import current_scope
from operations import asset_reads, customer_actions, customer_reads

STATUS_BADGES: dict[str, tuple[str, Literal["green", "red", "gray"]]] = {
    "active": ("Active", "green"),
    "terminated": ("Terminated", "red"),
    "archived": ("Archived", "gray"),
}

user = access.user()
can_edit = users.can(user.role, "edit_agreements")
url, version = database.current()

st.title("Customer card")
number = ui.url_picker(
    "Customer", customer_reads.customer_choices(url, version), "customer", "card_customer"
)
if number is None:
    st.caption("Pick a customer, or find one under Customers & contracts.")
    st.stop()
card = customer_reads.customer_card(url, version, number)
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
    picked = ui.dataframe(
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
    ui.open_selected(picked, card.contracts, links.CONTRACT, "contract", "contract")
if can_edit and company["status"] == "active":
    with st.container(horizontal=True):
        st.page_link(
            links.NEW_AGREEMENT,
            label="New agreement for this customer",
            icon=":material/handshake:",
            query_params={"customer": number},
        )
        st.page_link(
            links.NEW_CONTRACT,
            label="New contract (plain form)",
            icon=":material/note_add:",
            query_params={"customer": number},
        )

st.subheader("Installed assets")
scope = current_scope()
assets = asset_reads.with_hand_added(
    card.assets,
    asset_reads.customer_assets(scope.serving, scope.version, card.warehouse_id, files_only=True),
)
if assets.empty:
    st.caption("None registered.")
else:
    st.dataframe(
        assets, key="card_assets", hide_index=True, column_config=contract_inputs.ASSET_CONFIG
    )

st.subheader("Contacts")
if card.contacts.empty:
    st.caption("No contacts yet.")
else:
    ui.dataframe(
        card.contacts,
        key="card_contacts",
        hide_index=True,
        column_order=["name", "title", "email", "phone", "may_sign"],
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
    ui.dataframe(
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
ui.dataframe(
    ui.local_times(card.timeline, "at"),
    key="card_timeline",
    hide_index=True,
    column_config={"at": "When", "actor": "Who", "what": "What", "details": "Details"},
)

if not can_edit:
    st.stop()

st.subheader("Actions")
db = database.database()
customer_actions.edit_company(db, user.username, number, company)
customer_actions.add_contact(db, user.username, number)
customer_actions.portal_link(db, user.username, card.contacts)
if company["status"] != "terminated":
    customer_actions.terminate(db, user.username, number)
customer_actions.archive_or_restore(db, user.username, number, company["status"])
