"""Contract page: every term of the current version, lines, installed assets, documents,
version history and a side-by-side comparison; revise, renegotiate, invoice, terminate,
add assets and attachments (SPEC R2-R4, R6, C2, D5)."""

from __future__ import annotations

from functools import partial

import streamlit as st

from avtale.dates import today as oslo_today
from avtale.services import users
from common import access, contract_inputs, database, document_reads, fmt, links, ui
from common.scope import current_scope
from operations import asset_reads, contract_actions, contract_reads, crm_reads, invoice_reads

ORIGINS = {
    "app": "Entered in Avtale",
    "counterparty_paper": "Counterparty paper (customer's own document)",
    "adopted": "Taken over from an export",
}
RECONCILIATION_COLUMNS: ui.ColumnConfigs = {
    "product": "Product",
    "difference": "Difference",
    "export_quantity": st.column_config.NumberColumn("Quantity in the export", format="%,g"),
    "app_quantity": st.column_config.NumberColumn("Quantity here", format="%,g"),
    "export_unit_price": st.column_config.NumberColumn("Price in the export", format="%,.2f"),
    "app_unit_price": st.column_config.NumberColumn("Price here", format="%,.2f"),
    "export_discount_percent": st.column_config.NumberColumn("Discount in export %", format="%g"),
    "app_discount_percent": st.column_config.NumberColumn("Discount here %", format="%g"),
    "load_id": st.column_config.NumberColumn("Load", format="%d"),
}

user = access.user()
can_edit = users.can(user.role, "edit_agreements")
url, version = database.current()

st.title("Contract")
number = ui.url_picker(
    "Contract", contract_reads.contract_choices(url, version), "contract", "contract_pick"
)
if number is None:
    st.caption("Pick a contract, or find one under Customers & contracts.")
    st.stop()
view = contract_reads.contract_view(url, version, number)
if view is None:
    st.warning(f"There is no contract {ui.md(number)}.")
    st.stop()
head, terms = view.header, view.terms

st.header(ui.md(f"{number} · {terms['title'] or 'Untitled'}"))
st.page_link(
    links.CUSTOMER,
    label=head["customer"],
    icon=":material/business:",
    query_params={"customer": head["customer_number"]},
)
ui.facts(
    [
        ("Status", head["status"].capitalize()),
        ("Origin", ORIGINS.get(head["origin"], head["origin"])),
        ("Current version", f"{head['version_no']}, effective {fmt.day(head['effective_date'])}"),
        ("MRR now", fmt.money(head["mrr"], terms["currency"])),
    ],
    columns=4,
)
if head["source_ref"]:
    st.info(
        f"Taken over from {ui.md(head['source_ref'])} on {head['adopted_on']}: Avtale counts "
        "this contract from that day. Later exports of the record are compared with it "
        "below, never applied.",
        icon=":material/sync_alt:",
    )
    differences = crm_reads.reconciliation(current_scope().serving, current_scope().version, number)
    if differences is not None and not differences.empty:
        st.warning(
            "The source system's latest export differs from this contract: resolve it in "
            "the source system, or renegotiate here.",
            icon=":material/difference:",
        )
        ui.dataframe(
            differences,
            key="contract_reconciliation",
            hide_index=True,
            column_config=RECONCILIATION_COLUMNS,
        )
if terms["terminated_date"]:
    ui.ended(
        f"Terminated, last day {fmt.day(terms['terminated_date'])}",
        terms["termination_reason"],
        terms["termination_circumstances"],
    )

st.subheader("Terms")
ui.facts(
    [
        ("Owner", terms["owner"]),
        ("Signed", terms["signed_date"]),
        ("Start", terms["start_date"]),
        ("Term (months)", terms["term_months"]),
        ("End", terms["end_date"]),
        ("Lock-in (months)", terms["lock_in_months"]),
        ("Notice (months)", terms["notice_months"]),
        ("Renews automatically", terms["auto_renew"]),
        ("Renewal term (months)", terms["renewal_term_months"]),
        ("Price adjustment", contract_inputs.RULES.get(terms["price_adjustment_rule"])),
        ("Price adjustment %", terms["price_adjustment_pct"]),
        ("Next price adjustment", terms["next_price_adjustment_date"]),
        ("Payment terms (days)", terms["payment_terms_days"]),
        ("Currency", terms["currency"]),
        ("SLA", terms["sla"]),
        ("Custom terms", terms["custom_terms"]),
    ]
)

st.subheader("Lines")
ui.dataframe(
    view.lines,
    key="contract_lines",
    hide_index=True,
    column_config=contract_inputs.LINE_CONFIG
    | {
        "mrr": st.column_config.NumberColumn(
            "MRR",
            format="%,.2f",
            help="Monthly value (SPEC M1); a discount counts while it runs",
        )
    },
)

assets_col, documents_col = st.columns(2)
with assets_col:
    st.subheader("Installed assets")
    assets = asset_reads.with_hand_added(
        view.assets,
        asset_reads.contract_assets(
            current_scope().serving, current_scope().version, f"app:{number}"
        ),
    ).drop(columns="contract")
    if assets.empty:
        st.caption("None registered.")
    else:
        ui.dataframe(
            assets,
            key="contract_assets",
            hide_index=True,
            column_config=contract_inputs.ASSET_CONFIG,
        )
with documents_col:
    st.subheader("Documents")
    if view.documents.empty:
        st.caption("None yet.")
    # Generated documents also say which version they are and the template that made them.
    notes = document_reads.document_notes(url, version, number)
    for document in view.documents.itertuples():
        kind = notes.get(document.id) or document.kind.replace("_", " ")
        st.download_button(
            f"{document.filename} ({kind}, {fmt.count(document.size_bytes)} bytes)",
            data=partial(document_reads.document_bytes, document.stored_path),
            file_name=document.filename,
            mime=document.content_type,
            key=f"download_{document.id}",
            icon=":material/download:",
            on_click="ignore",
            help=f"SHA-256 {document.sha256}",
        )

st.subheader("Version history")
ui.dataframe(
    ui.local_times(view.versions, "created_at"),
    key="contract_versions",
    hide_index=True,
    column_config={
        "version_no": "Version",
        "effective_date": st.column_config.DateColumn("Effective"),
        "reason": "Reason",
        "author": "Author",
        "approver": "Approver",
        "created_at": "Recorded",
    },
)

st.subheader("Invoices")
billed = invoice_reads.register(url, version, oslo_today(), contract_number=number)
if billed.empty:
    st.caption("None issued yet.")
else:
    st.caption("Pick a row to open it under Invoices.")
    picked = ui.dataframe(
        billed,
        key="contract_invoices",
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        column_order=[
            "number",
            "kind",
            "issue_date",
            "due_date",
            "currency",
            "total",
            "open",
            "status",
            "corrects",
        ],  # fmt: skip
        column_config={
            "number": "Number",
            "kind": "Kind",
            "issue_date": st.column_config.DateColumn("Issued"),
            "due_date": st.column_config.DateColumn("Due"),
            "currency": "Currency",
            "total": st.column_config.NumberColumn("Total", format="%,.2f"),
            "open": st.column_config.NumberColumn("Open", format="%,.2f"),
            "status": "Status",
            "corrects": "Corrects",
        },
    )
    ui.open_selected(picked, billed, links.INVOICES, "invoice", "number")

if len(view.version_numbers) > 1:
    st.subheader("Compare versions")
    numbers = view.version_numbers
    # Another contract or a new version: start again from the newest change.
    ui.reset_when((number, len(numbers)), "compare_old", "compare_new")
    old_col, new_col = st.columns(2)
    old = old_col.selectbox("From version", numbers, index=len(numbers) - 2, key="compare_old")
    new = new_col.selectbox("To version", numbers, index=len(numbers) - 1, key="compare_new")
    if old == new:
        st.caption("Pick two different versions.")
    else:
        changes = contract_reads.comparison(url, version, number, old, new)
        if changes.empty:
            st.caption("These versions have the same terms and lines.")
        else:
            ui.dataframe(
                changes.assign(field=changes.field.map(ui.change_label)),
                key="compare_table",
                hide_index=True,
                column_config={"field": "Field", "old": f"Version {old}", "new": f"Version {new}"},
            )

if not can_edit:
    st.stop()
if head["status"] == "terminated":
    st.caption("A terminated contract is not revised; its history stays as it is.")
    st.stop()

st.subheader("Actions")
db = database.database()
contract_actions.renegotiate(db, user.username, number)
contract_actions.invoice(db, user.username, number, terms)
contract_actions.revise(db, user.username, number, head["version_no"], terms, view.lines)
contract_actions.portal_access(db, user.username, number, head["portal_access"])
contract_actions.terminate(db, user.username, number)
contract_actions.add_asset(db, user.username, number)
contract_actions.attach(db, user.username, number)
