"""The Invoices page's actions, each through ``avtale.services.invoices``: the PDF of an
issued document, a credit note for an invoice, and a bank statement to import."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from avtale.services import invoices
from avtale.services.database import Database
from avtale.services.unit_of_work import Outcome
from avtale.settings import paths
from common import document_reads, ui

STATEMENT = "statement"


def pdf(db: Database, actor: str, number: str) -> None:
    """Make (or find) the document's PDF and offer it for download."""
    form = f"pdf_{number}"
    with st.form(form, border=False):
        ui.submit(form, "Make PDF", lambda: invoices.invoice_pdf(db, actor, paths(), number))
    # The download stays after the message: a download does not rerun the page.
    made = ui.outcome(form)
    if made is not None and made.ok:
        st.download_button(
            f"Download {made.detail['filename']}",
            data=document_reads.document_bytes(made.detail["stored_path"]),
            file_name=made.detail["filename"],
            mime="application/pdf",
            key=f"download_{number}",
            icon=":material/download:",
            on_click="ignore",
        )
    ui.result(form)


def credit(db: Database, actor: str, number: str) -> None:
    """A credit note for what of the invoice is not credited yet, with the reason why."""
    form = f"credit_{number}"
    with st.expander("Credit note", icon=":material/undo:", expanded=ui.pending(form)):
        st.caption(
            "An issued invoice is never changed: a credit note naming it takes back what is "
            "not credited yet. The next invoice run bills again what the contract still "
            "owes, so change or terminate the contract first if it owes less."
        )
        with st.form(form):
            st.text_input("Reason *", key=ui.key(form, "reason"), max_chars=500)
            ui.field_error(form, "reason", "invoice")
            ui.submit(
                form,
                "Issue credit note",
                lambda: invoices.credit_invoice(
                    db, actor, paths(), number, st.session_state[ui.key(form, "reason")]
                ),
                then=ui.flashed,
            )
        ui.result(form)


def statement(db: Database, actor: str) -> None:
    """Upload a bank statement (camt.053 XML or CSV): its payments are matched and what
    became of them shown."""
    with st.form(STATEMENT):
        upload = st.file_uploader(
            "Bank statement (camt.053 XML or CSV) *",
            type=["xml", "csv", "txt"],
            key=ui.key(STATEMENT, "file"),
            max_upload_size=ui.upload_limit_mb(),
        )
        ui.field_error(STATEMENT, "file")
        ui.submit(STATEMENT, "Import payments", lambda: _import(db, actor, upload))
    ui.result(STATEMENT)


def _import(db: Database, actor: str, upload: UploadedFile | None) -> Outcome:
    if upload is None:
        return Outcome(errors={"file": "choose a statement file"})
    try:
        report = invoices.import_payments(db, actor, upload.name, upload.getvalue())
    except invoices.StatementError as problem:
        return Outcome(errors={"file": f"{upload.name}: {problem}"})
    return Outcome(message=" · ".join(report.lines()))
