"""Customers & contracts: one search box and a filter on contract terms (SPEC R1, R3)."""

from __future__ import annotations

import streamlit as st

from avtale.serving import NotPublishedError
from common import database, fmt, links, ui
from common.scope import current_scope
from operations import crm_reads, search_reads

SOURCES = {"hubspot": "HubSpot", "generic": "Accounting (generic CSV)", "odoo": "Odoo"}
AUTO_RENEW = {"any": "Any", "yes": "Renews automatically", "no": "Does not renew"}
STATUSES = {"any": "Any", "active": "Active", "draft": "Draft", "terminated": "Terminated"}

url, version = database.current()
scope = current_scope()

st.title("Customers & contracts")
text = st.text_input(
    "Search",
    key="search_text",
    placeholder="Name, org number, customer or contract number, product, owner",
    icon=":material/search:",
)
if text.strip():
    hits = search_reads.search_hits(url, version, text)
    if hits.empty:
        st.caption(f"Nothing entered in Avtale matches “{ui.md(text.strip())}”.")
    else:
        st.caption(f"{len(hits)} found. Click a row to open it.")
        picked = ui.dataframe(
            hits.assign(kind=hits.kind.str.capitalize()),
            key="search_hits",
            hide_index=True,
            on_select="rerun",
            selection_mode="single-row",
            column_order=["kind", "label", "matched_on"],
            column_config={
                "kind": "Type",
                "label": "Customer or contract",
                "matched_on": "Matched on",
            },
        )
        rows = picked.selection.rows
        if rows:
            hit = hits.iloc[rows[0]]
            page, param = (
                (links.CUSTOMER, "customer")
                if hit.kind == "customer"
                else (links.CONTRACT, "contract")
            )
            st.switch_page(page, query_params={param: hit.number})

    # Agreements from CRM and accounting exports live in the published marts, not here.
    st.subheader("From CRM and accounting exports (read-only)")
    try:
        crm_hits = crm_reads.crm_search(scope.serving, scope.version, text)
    except NotPublishedError:
        st.caption("No CRM or accounting data is published yet.")
    else:
        if crm_hits.empty:
            st.caption(f"No exported customer matches “{ui.md(text.strip())}”.")
        else:
            st.caption(
                f"{len(crm_hits)} found. Click a row to open it; change them in the source system."
            )
            picked = ui.dataframe(
                crm_hits.assign(
                    source_system=crm_hits.source_system.map(SOURCES).fillna(crm_hits.source_system)
                ),
                key="crm_hits",
                hide_index=True,
                on_select="rerun",
                selection_mode="single-row",
                column_order=[
                    "name",
                    "source_system",
                    "org_number",
                    "owner",
                    "current_mrr",
                    "matched_on",
                ],
                column_config={
                    "name": "Customer",
                    "source_system": "Source",
                    "org_number": "Org number",
                    "owner": "Owner",
                    "current_mrr": st.column_config.NumberColumn("MRR (NOK)", format="%,.2f"),
                    "matched_on": "Matched on",
                },
            )
            ui.open_selected(picked, crm_hits, links.CRM_CUSTOMER, "crm_customer", "customer_id")

st.subheader("Contracts by terms")
renew_col, notice_col, ends_col, status_col = st.columns(4)
renews = renew_col.selectbox(
    "Auto-renewal", list(AUTO_RENEW), format_func=ui.named(AUTO_RENEW), key="terms_auto_renew"
)
min_notice = notice_col.number_input(
    "Notice at least (months)", min_value=0, step=1, value=None, key="terms_min_notice"
)
ends_before = ends_col.date_input(
    "Ends before", value=None, key="terms_ends_before", format=fmt.date_input_format()
)
status = status_col.selectbox(
    "Status", list(STATUSES), format_func=ui.named(STATUSES), key="terms_status"
)

contracts = search_reads.portfolio(
    url,
    version,
    None if renews == "any" else renews == "yes",
    None if min_notice is None else int(min_notice),
    ends_before,
    None if status == "any" else status,
)
if contracts.empty:
    st.caption("No contract has these terms.")
else:
    st.caption(
        f"{len(contracts)} contracts. Click a row to open it. MRR is in each contract's currency."
    )
    picked = ui.dataframe(
        contracts,
        key="terms_results",
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "contract": "Contract",
            "customer": "Customer",
            "title": "Title",
            "status": "Status",
            "start_date": st.column_config.DateColumn("Start"),
            "end_date": st.column_config.DateColumn("End"),
            "notice_months": "Notice (months)",
            "auto_renew": st.column_config.CheckboxColumn("Auto-renews"),
            "currency": "Currency",
            "mrr": st.column_config.NumberColumn("MRR", format="%,.2f"),
        },
    )
    ui.open_selected(picked, contracts, links.CONTRACT, "contract", "contract")

st.markdown("**From CRM and accounting exports (read-only)**")
try:
    crm_contracts = crm_reads.crm_contracts_by_terms(
        scope.serving,
        scope.version,
        None if renews == "any" else renews == "yes",
        None if min_notice is None else int(min_notice),
        ends_before,
    )
except NotPublishedError:
    st.caption("No CRM or accounting data is published yet.")
else:
    if crm_contracts.empty:
        st.caption("No exported contract has these terms.")
    else:
        st.caption(f"{len(crm_contracts)} contracts (at most 500). MRR in NOK.")
        picked = ui.dataframe(
            crm_contracts.assign(
                source_system=crm_contracts.source_system.map(SOURCES).fillna(
                    crm_contracts.source_system
                )
            ),
            key="crm_terms_results",
            hide_index=True,
            on_select="rerun",
            selection_mode="single-row",
            column_order=[
                "customer",
                "source_system",
                "status",
                "start_date",
                "current_term_end",
                "auto_renew",
                "notice_months",
                "current_mrr",
            ],
            column_config={
                "customer": "Customer",
                "source_system": "Source",
                "status": "Status",
                "start_date": st.column_config.DateColumn("Start"),
                "current_term_end": st.column_config.DateColumn("Current term ends"),
                "auto_renew": st.column_config.CheckboxColumn("Auto-renews"),
                "notice_months": "Notice (months)",
                "current_mrr": st.column_config.NumberColumn("MRR (NOK)", format="%,.2f"),
            },
        )
        ui.open_selected(picked, crm_contracts, links.CRM_CUSTOMER, "crm_customer", "customer_id")
