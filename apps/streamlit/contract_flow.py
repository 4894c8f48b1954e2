"""The contract page's actions that make documents: renegotiate (a proposal in the guided
flow, SPEC C2) and an invoice PDF for a month (SPEC D5). Layout only."""

from __future__ import annotations

from typing import Any

import flow_data
import flow_forms
import forms
import ops_data
import streamlit as st
import ui
from sqlalchemy import Engine

from avtale.settings import paths

FLOW_PAGE = "app_pages/new_agreement.py"


def _open_agreement(outcome: forms.Outcome) -> None:
    ui.flash(outcome.message)
    # Line items first: a renegotiation is about prices and licences (seed 004).
    st.switch_page(FLOW_PAGE, query_params={"proposal": outcome.target, "step": "3"})


def renegotiate(engine: Engine, actor: str, number: str) -> None:
    """Start a renegotiation, or continue the one already open for this contract."""
    url, version = ops_data.current()
    open_proposal = flow_data.open_renegotiation(url, version, number)
    if open_proposal:
        st.page_link(
            FLOW_PAGE,
            label=f"Continue renegotiation {open_proposal}",
            icon=":material/handshake:",
            query_params={"proposal": open_proposal},
        )
        return
    ui.action_button(
        "renegotiate",
        "Renegotiate",
        lambda: flow_forms.start_renegotiation(engine, actor, number),
        then=_open_agreement,
    )


def invoice(engine: Engine, actor: str, number: str, terms: dict[str, Any]) -> None:
    """A month picker and the invoice PDF of what the contract bills that month."""
    form = "invoice"
    with st.expander("Invoice PDF", icon=":material/receipt_long:", expanded=ui.pending(form)):
        months = flow_data.invoice_months(terms["start_date"], terms["end_date"])
        with st.form(form):
            month = st.selectbox(
                "Month *",
                months,
                index=flow_data.this_month(months),
                format_func=lambda m: f"{m:%B %Y}",
                key=ui.key(form, "period_start"),
            )
            ui.field_error(form, "period_start", "template", "document")
            ui.submit(
                form,
                "Make invoice",
                lambda: flow_forms.invoice(engine, actor, paths(), number, month),
            )
        # The download stays after the message: a download does not rerun the page.
        made = st.session_state.get(f"{form}__outcome")
        if made is not None and made.ok:
            st.download_button(
                f"Download {made.detail['filename']}",
                data=ops_data.document_bytes(made.detail["stored_path"]),
                file_name=made.detail["filename"],
                mime="application/pdf",
                key="invoice_download",
                icon=":material/download:",
                on_click="ignore",
            )
        ui.result(form)
