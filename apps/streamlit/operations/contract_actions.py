"""The contract page's actions, each a form or a button that writes through
``avtale.services``: renegotiate (a proposal in the guided flow, SPEC C2), an invoice PDF
for a month (SPEC D5), revise (a new version), terminate, add an installed asset, attach a
document (SPEC R3-R6)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from agreements import agreement_reads
from avtale.services import agreements, contracts, documents, invoices, portal
from avtale.services.database import Database
from avtale.services.unit_of_work import Outcome
from avtale.settings import paths
from common import contract_inputs, database, document_reads, fmt, links, ui
from common.form_values import records


def renegotiate(db: Database, actor: str, number: str) -> None:
    """Start a renegotiation, or continue the one already open for this contract."""
    url, version = database.current()
    open_proposal = agreement_reads.open_renegotiation(url, version, number)
    if open_proposal:
        st.page_link(
            links.NEW_AGREEMENT,
            label=f"Continue renegotiation {open_proposal}",
            icon=":material/handshake:",
            query_params={"proposal": open_proposal},
        )
        return
    ui.action_button(
        "renegotiate",
        "Renegotiate",
        lambda: agreements.start_renegotiation(db, actor, number),
        # Line items first: a renegotiation is about prices and licences (seed 004).
        then=ui.open_written(links.NEW_AGREEMENT, "proposal", step="3"),
    )


def invoice(db: Database, actor: str, number: str, terms: dict[str, Any]) -> None:
    """A month picker and the invoice PDF of what the contract bills that month."""
    form = "invoice"
    with st.expander("Invoice PDF", icon=":material/receipt_long:", expanded=ui.pending(form)):
        months = invoices.invoice_months(terms["start_date"], terms["end_date"])
        with st.form(form):
            month = st.selectbox(
                "Month *",
                months,
                index=invoices.this_month(months),
                format_func=fmt.bound(lambda shown, m: shown.month(m)),
                key=ui.key(form, "period_start"),
            )
            ui.field_error(form, "period_start", "template", "document")
            ui.submit(
                form,
                "Make invoice",
                lambda: invoices.make_invoice(db, actor, paths(), number, month),
            )
        # The download stays after the message: a download does not rerun the page.
        made = ui.outcome(form)
        if made is not None and made.ok:
            st.download_button(
                f"Download {made.detail['filename']}",
                data=document_reads.document_bytes(made.detail["stored_path"]),
                file_name=made.detail["filename"],
                mime="application/pdf",
                key="invoice_download",
                icon=":material/download:",
                on_click="ignore",
            )
        ui.result(form)


def revise(
    db: Database,
    actor: str,
    number: str,
    version_no: int,
    terms: dict[str, Any],
    lines: pd.DataFrame,
) -> None:
    """A new version of the contract from version ``version_no``'s terms and lines."""
    form = "revise"
    # ?act=revise opens it: the CRM page's "Re-price" lands here after the take-over.
    opened = st.query_params.get("act") == "revise"
    with st.expander(
        "Revise (new version)", icon=":material/edit_note:", expanded=opened or ui.pending(form)
    ):
        ui.prefill(
            form,
            (number, version_no),
            contract_inputs.prefill_values(terms),
            {
                "lines": contract_inputs.lines_frame(lines),
                "custom_terms": contract_inputs.custom_frame(terms["custom_terms"]),
            },
        )
        st.caption(
            f"Change what changed; version {version_no} stays as it was. "
            "Effective date and reason are required."
        )
        with st.form(form):
            meta_a, meta_b, meta_c = st.columns(3)
            effective = meta_a.date_input(
                "Effective from *",
                value=None,
                key=ui.key(form, "effective_date"),
                format=fmt.date_input_format(),
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
                lambda: contracts.revise_contract(
                    db,
                    actor,
                    number,
                    based_on,
                    ui.prefilled(form),
                    new_terms,
                    records(ui.table(form, "custom_terms")),
                    records(new_custom),
                    records(old_lines),
                    records(new_lines),
                    effective,
                    reason,
                    approver,
                ),
            )
        ui.result(form)


def portal_access(db: Database, actor: str, number: str, current: str) -> None:
    """What the customer may change on this contract in the portal (SPEC P2)."""
    form = "portal_access"
    with st.expander("Portal access", icon=":material/shield_person:", expanded=ui.pending(form)):
        levels = list(portal.ACCESS_LABELS)
        level = st.radio(
            "In the customer portal, the customer may",
            levels,
            index=levels.index(current),
            format_func=portal.ACCESS_LABELS.__getitem__,
            key=ui.key(form, "level"),
            horizontal=True,
        )
        ui.action_button(
            form, "Save portal access", lambda: portal.set_access(db, actor, number, level)
        )


def terminate(db: Database, actor: str, number: str) -> None:
    termination_form(
        "terminate_contract",
        lambda last_day, reason, circumstances: contracts.terminate_contract(
            db, actor, number, last_day, reason, circumstances
        ),
    )


def termination_form(
    form: str, terminate: Callable[[date | None, str, str], Outcome], *, expanded: bool = False
) -> None:
    """Last day, reason and circumstances (SPEC R6); ``terminate`` gets them. The CRM page
    passes one that takes the contract over first."""
    with st.expander(
        "Terminate contract", icon=":material/block:", expanded=expanded or ui.pending(form)
    ):
        with st.form(form):
            last_day = st.date_input(
                "Last day *",
                value=None,
                key=ui.key(form, "terminated_date"),
                format=fmt.date_input_format(),
            )
            ui.field_error(form, "terminated_date")
            reason = st.text_input("Reason *", key=ui.key(form, "reason"))
            ui.field_error(form, "reason")
            circumstances = st.text_area("Circumstances", key=ui.key(form, "circumstances"))
            ui.field_error(form, "circumstances")
            ui.submit(
                form,
                "Terminate contract",
                lambda: terminate(last_day, reason, circumstances),
                then=ui.flashed,
            )
        ui.result(form)


def renew_button(
    form: str, renewal_term_months: int | None, renew: Callable[[int | None], Outcome]
) -> None:
    """Renew for the contract's renewal term with one click, or, when it has none, ask for
    one first (it becomes the contract's renewal term). ``renew`` gets the months asked."""
    if renewal_term_months:
        ui.action_button(form, "Renew", lambda: renew(None), then=ui.flashed)
        return
    with st.popover("Renew"):
        with st.form(form):
            months = st.number_input(
                "Renew for (months) *",
                min_value=1,
                max_value=120,
                value=12,
                step=1,
                key=ui.key(form, "months"),
            )
            ui.field_error(form, "renewal_term_months")
            ui.submit(form, "Renew", lambda: renew(int(months)), then=ui.flashed)
        ui.result(form)


def add_asset(db: Database, actor: str, number: str) -> None:
    form = "add_asset"
    with st.expander("Add installed asset", icon=":material/devices:", expanded=ui.pending(form)):
        with st.form(form):
            asset = {}
            for field, text in (
                ("serial_number", "Serial number *"),
                ("model", "Model"),
                ("location", "Location"),
            ):
                asset[field] = st.text_input(text, key=ui.key(form, field))
                ui.field_error(form, field)
            ui.submit(form, "Add asset", lambda: contracts.add_asset(db, actor, number, asset))
        ui.result(form)


def attach(db: Database, actor: str, number: str) -> None:
    form = "attachment"
    with st.expander("Upload attachment", icon=":material/attach_file:", expanded=ui.pending(form)):
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
                lambda: documents.attach(
                    db,
                    actor,
                    paths(),
                    number,
                    None if upload is None else (upload.name, upload.getvalue()),
                ),
            )
        ui.result(form)
