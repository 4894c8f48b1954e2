"""Contract page: every term of the current version, lines, installed assets, documents,
version history and a side-by-side comparison; revise, renegotiate, invoice, terminate,
add assets and attachments (SPEC R2-R4, R6, C2, D5)."""

from __future__ import annotations

import access
import contract_flow
import contract_inputs
import flow_data
import forms
import ops_data
import streamlit as st
import ui

from avtale.repository import auth
from avtale.settings import paths

ORIGINS = {
    "app": "Entered in Avtale",
    "counterparty_paper": "Counterparty paper (customer's own document)",
}

user = access.user()
can_edit = auth.can(user.role, "edit_agreements")
url, version = ops_data.current()
engine = ops_data.engine()

st.title("Contract")
number = ui.url_picker(
    "Contract", ops_data.contract_choices(url, version), "contract", "contract_pick"
)
if number is None:
    st.caption("Pick a contract, or find one under Customers & contracts.")
    st.stop()
view = ops_data.contract_view(url, version, number)
if view is None:
    st.warning(f"There is no contract {ui.md(number)}.")
    st.stop()
head, terms = view.header, view.terms

st.header(ui.md(f"{number} · {terms['title'] or 'Untitled'}"))
st.page_link(
    "app_pages/customer.py",
    label=head["customer"],
    icon=":material/business:",
    query_params={"customer": head["customer_number"]},
)
ui.facts(
    [
        ("Status", head["status"].capitalize()),
        ("Origin", ORIGINS.get(head["origin"], head["origin"])),
        ("Current version", f"{head['version_no']}, effective {head['effective_date']}"),
        ("MRR now", ui.money(head["mrr"], terms["currency"])),
    ],
    columns=4,
)
if terms["terminated_date"]:
    ui.ended(
        f"Terminated, last day {terms['terminated_date']}",
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
st.dataframe(
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
    if view.assets.empty:
        st.caption("None registered.")
    else:
        st.dataframe(
            view.assets,
            key="contract_assets",
            hide_index=True,
            column_config={
                "serial_number": "Serial number",
                "model": "Model",
                "location": "Location",
            },
        )
with documents_col:
    st.subheader("Documents")
    if view.documents.empty:
        st.caption("None yet.")
    # Generated documents also say which version they are and the template that made them.
    notes = flow_data.document_notes(url, version, number)
    for document in view.documents.itertuples():
        kind = notes.get(document.id) or document.kind.replace("_", " ")
        st.download_button(
            f"{document.filename} ({kind}, {document.size_bytes:,} bytes)",
            data=lambda path=document.stored_path: ops_data.document_bytes(path),
            file_name=document.filename,
            mime=document.content_type,
            key=f"download_{document.id}",
            icon=":material/download:",
            on_click="ignore",
            help=f"SHA-256 {document.sha256}",
        )

st.subheader("Version history")
st.dataframe(
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
        changes = ops_data.comparison(url, version, number, old, new)
        if changes.empty:
            st.caption("These versions have the same terms and lines.")
        else:
            st.dataframe(
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
contract_flow.renegotiate(engine, user.username, number)
contract_flow.invoice(engine, user.username, number, terms)
with st.expander(
    "Revise (new version)", icon=":material/edit_note:", expanded=ui.pending("revise")
):
    form = "revise"
    ui.prefill(
        form,
        (number, head["version_no"]),
        contract_inputs.prefill_values(terms),
        {
            "lines": contract_inputs.lines_frame(view.lines),
            "custom_terms": contract_inputs.custom_frame(terms["custom_terms"]),
        },
    )
    st.caption(
        f"Change what changed; version {head['version_no']} stays as it was. "
        "Effective date and reason are required."
    )
    with st.form(form):
        meta_a, meta_b, meta_c = st.columns(3)
        effective = meta_a.date_input(
            "Effective from *", value=None, key=ui.key(form, "effective_date"), format="YYYY-MM-DD"
        )
        with meta_a:
            ui.field_error(form, "effective_date")
        reason = meta_b.text_input("Reason *", key=ui.key(form, "reason"))
        with meta_b:
            ui.field_error(form, "reason")
        approver = meta_c.text_input("Approved by", key=ui.key(form, "approver"))
        with meta_c:
            ui.field_error(form, "approver")
        new_terms = contract_inputs.terms(form)
        new_lines = contract_inputs.lines(form, numbered=True)
        new_custom = contract_inputs.custom_terms(form)
        ui.field_error(form, "changes", "contract")
        # The version the user's edits were made on, which may be older than the newest.
        _, based_on = ui.stamp(form)
        old_lines = ui.table(form, "lines")
        ui.submit(
            form,
            "Save new version",
            lambda: forms.revise_contract(
                engine,
                user.username,
                number,
                based_on,
                ui.prefilled(form),
                new_terms,
                ui.table(form, "custom_terms"),
                new_custom,
                old_lines,
                new_lines,
                effective,
                reason,
                approver,
            ),
        )
    ui.result(form)

with st.expander(
    "Terminate contract", icon=":material/block:", expanded=ui.pending("terminate_contract")
):
    form = "terminate_contract"
    with st.form(form):
        last_day = st.date_input(
            "Last day *", value=None, key=ui.key(form, "terminated_date"), format="YYYY-MM-DD"
        )
        ui.field_error(form, "terminated_date")
        reason = st.text_input("Reason *", key=ui.key(form, "reason"))
        ui.field_error(form, "reason")
        circumstances = st.text_area("Circumstances", key=ui.key(form, "circumstances"))
        ui.field_error(form, "circumstances")
        ui.submit(
            form,
            "Terminate contract",
            lambda: forms.terminate_contract(
                engine, user.username, number, last_day, reason, circumstances
            ),
            then=ui.flashed,
        )
    ui.result(form)

with st.expander(
    "Add installed asset", icon=":material/devices:", expanded=ui.pending("add_asset")
):
    form = "add_asset"
    with st.form(form):
        asset = {}
        for field, text in (
            ("serial_number", "Serial number *"),
            ("model", "Model"),
            ("location", "Location"),
        ):
            asset[field] = st.text_input(text, key=ui.key(form, field))
            ui.field_error(form, field)
        ui.submit(form, "Add asset", lambda: forms.add_asset(engine, user.username, number, asset))
    ui.result(form)

with st.expander(
    "Upload attachment", icon=":material/attach_file:", expanded=ui.pending("attachment")
):
    form = "attachment"
    with st.form(form):
        upload = st.file_uploader(
            f"PDF or Word (.docx), {ui.upload_limit_text()}",
            type=["pdf", "docx"],
            key=ui.key(form, "file"),
            max_upload_size=ui.upload_limit_mb(),
        )
        ui.field_error(form, "file", "filename")
        ui.submit(
            form,
            "Attach",
            lambda: forms.attach(
                engine,
                user.username,
                paths(),
                number,
                None if upload is None else (upload.name, upload.getvalue()),
            ),
        )
    ui.result(form)
