"""Steps 5 and 6 of New agreement (SPEC D3-D4, C3), the buttons and forms that finish a
proposal: make the final PDF or a Word draft and preview it, then ask for approval, send,
register the signature, or cancel; each writes through ``avtale.services.agreements``."""

from __future__ import annotations

from functools import partial

import streamlit as st

from agreements import agreement_reads, signing_actions
from avtale.services import agreements
from avtale.services.agreements import ProposalView
from avtale.services.database import Database
from avtale.settings import paths
from common import document_reads, fmt, links, ui


def documents(db: Database, actor: str, view: ProposalView) -> None:
    head = view.header
    number = head["number"]
    is_open = head["status"] in ("draft", "sent")
    docs = view.documents
    if is_open:
        make_pdf, make_docx = st.columns(2)
        with make_pdf:
            if head["approval_state"] in ("not_needed", "approved"):
                ui.action_button(
                    "flow_pdf",
                    "Make final PDF",
                    lambda: agreements.generate(db, actor, paths(), number, "pdf"),
                )
            else:
                # The final PDF waits for the approval; a draft, marked on every page, may
                # go to the customer for comments meanwhile.
                st.caption("The final PDF waits for the discount approval.")
                ui.action_button(
                    "flow_pdf_draft",
                    "Make draft PDF",
                    lambda: agreements.generate(db, actor, paths(), number, "pdf", draft=True),
                )
        with make_docx:
            ui.action_button(
                "flow_docx",
                "Make Word draft",
                lambda: agreements.generate(db, actor, paths(), number, "docx"),
            )
    pdfs, drafts = docs[docs.format == "PDF"], docs[docs.format == "Word"]
    downloads = st.columns(2)
    for column, made, mime in (
        (downloads[0], pdfs, "application/pdf"),
        (downloads[1], drafts, None),
    ):
        if made.empty:
            continue
        latest = made.iloc[0]
        column.download_button(
            f"Download {latest.filename}",
            data=partial(document_reads.document_bytes, latest.stored_path),
            file_name=latest.filename,
            mime=mime or latest.content_type,
            key=f"flow_download_{latest.id}",
            icon=":material/download:",
            on_click="ignore",
        )
    if pdfs.empty:
        st.caption("No PDF yet: make one to preview the document.")
    else:
        latest = pdfs.iloc[0]
        if latest.revision != head["revision"]:
            st.warning(
                f"The proposal changed after PDF version {latest.doc_version} was made: "
                "make the PDF again before sending.",
                icon=":material/update:",
            )
        st.markdown(f"**Preview of PDF version {latest.doc_version}**")
        if document_reads.pdf_viewer():
            st.pdf(
                document_reads.document_bytes(latest.stored_path), height=600, key="flow_pdf_view"
            )
        elif (png := document_reads.first_page_png(latest.stored_path)) is not None:
            st.image(png, caption="Page 1 (download the PDF for all pages)")
        else:
            st.caption("No previewer on this server: download the PDF to read it.")
    if not docs.empty:
        st.markdown("**Documents of this proposal**")
        ui.dataframe(
            ui.local_times(docs, "uploaded_at"),
            key="flow_documents",
            hide_index=True,
            column_order=["doc_version", "format", "filename", "sha256", "template", "revision"]
            + ["uploaded_by", "uploaded_at"],
            column_config={
                "doc_version": "Version",
                "format": "Format",
                "filename": "File",
                "sha256": "SHA-256",
                "template": "Template",
                "revision": "Proposal revision",
                "uploaded_by": "Made by",
                "uploaded_at": "When",
            },
        )


def send_and_sign(db: Database, actor: str, view: ProposalView) -> None:
    head = view.header
    number = head["number"]
    is_open = head["status"] in ("draft", "sent")
    state, status = head["approval_state"], head["status"]
    asked = view.approvals.iloc[-1] if not view.approvals.empty else None
    if status == "draft":
        if state == "rejected" and asked is not None:
            st.error(
                ui.md(f"Discounts rejected by {asked.decided_by}: {asked.note}"),
                icon=":material/block:",
            )
        if state == "pending" and asked is not None:
            st.info(f"Waiting for approval in the Inbox (asked by {asked.requested_by}).")
        elif state == "approved" and asked is not None:
            st.success(f"Discounts approved by {asked.decided_by}.", icon=":material/verified:")
        if state in ("needed", "rejected"):
            st.warning(
                "Its discounts need approval:\n\n"
                + "\n".join(f"- {ui.md(r)}" for r in view.approval_reasons),
                icon=":material/gpp_maybe:",
            )
            ui.action_button(
                "flow_approval",
                "Ask for approval",
                lambda: agreements.request_approval(db, actor, paths(), number),
                then=ui.flashed,  # the button goes once asked
            )
        if view.send_problems:
            st.markdown(
                "**Not ready to send:**\n" + "\n".join(f"- {ui.md(p)}" for p in view.send_problems)
            )
            st.button("Send for signature", key="flow_send_submit", disabled=True)
        else:
            signing_actions.send(db, actor, number)
    elif status == "sent":
        st.info("Sent for signature: each party has a personal signing link.")
        signing_actions.parties(db, actor, number, status)
        form = "flow_sign"
        signer = head["signer_name"] or head["signer_default"]
        ui.prefill(form, (number, head["revision"]), {"signed_date": None, "signer_name": signer})
        expander = st.expander(
            "Signed on paper instead? Register the signature",
            icon=":material/ink_pen:",
            expanded=ui.pending(form),
        )
        with expander, st.form(form):
            signed_on = st.date_input(
                "Signed on *",
                value=None,
                key=ui.key(form, "signed_date"),
                format=fmt.date_input_format(),
            )
            ui.field_error(form, "signed_date")
            signer_name = st.text_input("Signed by *", key=ui.key(form, "signer_name"))
            ui.field_error(form, "signer_name", "proposal")
            ui.submit(
                form,
                "Register signature",
                lambda: agreements.sign(db, actor, paths(), number, signed_on, signer_name),
                then=ui.flashed,
            )
        ui.result(form)
    elif status == "signed":
        st.success(
            ui.md(f"Signed on {fmt.day(head['signed_date'])} by {head['signer_name']}."),
            icon=":material/task_alt:",
        )
        signing_actions.parties(db, actor, number, status)
        st.page_link(
            links.CONTRACT,
            label=f"Open contract {head['signed_contract']}",
            icon=":material/description:",
            query_params={"contract": head["signed_contract"]},
        )
        if not view.tasks.empty:
            st.markdown("**Routed to the teams**")
            ui.dataframe(
                view.tasks.assign(
                    team=view.tasks.team.map(lambda t: agreement_reads.TEAMS.get(t, t)),
                    changes=view.tasks.changes.map(
                        lambda pairs: "; ".join(f"{what}: {text}" for what, text in pairs)
                    ),
                ),
                key="flow_tasks",
                hide_index=True,
                column_order=["team", "title", "changes", "status"],
            )
    else:
        st.warning(f"{number} is {status}: nothing more happens to it.", icon=":material/cancel:")
        signing_actions.parties(db, actor, number, status)
    if is_open:
        with st.expander(
            "Cancel proposal", icon=":material/cancel:", expanded=ui.pending("flow_cancel")
        ):
            form = "flow_cancel"
            with st.form(form):
                reason = st.text_input("Reason *", key=ui.key(form, "reason"))
                ui.field_error(form, "reason", "proposal")
                ui.submit(
                    form,
                    "Cancel proposal",
                    lambda: agreements.cancel(db, actor, number, reason),
                    then=ui.flashed,
                )
            ui.result(form)
