"""CRM customer: a customer and its contracts as the CRM and accounting exports have them.

The export is the master copy of what it holds, so its company data is read-only here.
A contract sales ops want to act on is taken over (``adoption_actions``): from then on
Avtale keeps it, and later exports of it are compared with Avtale's copy.
"""

from __future__ import annotations

import streamlit as st

from avtale.serving import NotPublishedError
from common import access, contract_inputs, database, fmt, ui
from common.scope import current_scope
from operations import adoption_actions, asset_reads, crm_reads

# source_system -> (what it came from, where to change it)
ORIGINS = {
    "hubspot": ("HubSpot export", "HubSpot"),
    "generic": ("accounting export (generic CSV)", "the accounting system"),
    "odoo": ("Odoo subscription export", "Odoo"),
}
STATUS_BADGES = {
    "active": ("Active", "green"),
    "future": ("Starts later", "blue"),
    "ended": ("Ended", "gray"),
    "terminated": ("Terminated", "red"),
}

scope = current_scope()

st.title("CRM customer")
try:
    choices = crm_reads.crm_customer_choices(scope.serving, scope.version)
except NotPublishedError:
    st.info(
        "No CRM or accounting data is published yet. Run `avtale refresh` to load the "
        "exports in the inbox.",
        icon=":material/info:",
    )
    st.stop()
customer_id = ui.url_picker("Customer", choices, "crm_customer", "crm_customer_pick")
if customer_id is None:
    st.caption("Pick a customer, or find one under Customers & contracts.")
    st.stop()
crm = crm_reads.crm_customer(scope.serving, scope.version, customer_id)
if crm is None:
    st.warning(f"There is no CRM customer {ui.md(customer_id)}.")
    st.stop()
company = crm.company

source, master = ORIGINS.get(
    company["source_system"], (f"{company['source_system']} export", "the source system")
)
st.header(ui.md(company["name"]))
st.info(
    f"Origin: {source}. Company data is edited in {master} and arrives with the next export. "
    "Acting on a contract here (renegotiate, re-price, co-terminate, renew, terminate) takes "
    "it over first: from then on Avtale keeps it.",
    icon=":material/lock:",
)
user = access.user()
may_edit = access.may("edit_agreements")
adopted = crm_reads.adopted_contracts(*database.current())
ui.facts(
    [
        ("Id in the export", company["source_id"]),
        ("Org number", company["org_number"]),
        ("Country", company["country"]),
        ("Owner", company["owner"]),
        ("Industry", company["industry"]),
        ("Customer since", company["created_date"]),
        ("First month with MRR", company["first_mrr_month"]),
        ("Main currency", company["currency"]),
        ("MRR now", fmt.money(company["current_mrr"] or 0, "NOK")),
    ]
)

st.subheader("Installed assets")
assets = asset_reads.customer_assets(scope.serving, scope.version, customer_id)
if assets.empty:
    st.caption("None in the asset registers.")
else:
    st.dataframe(
        assets, key="crm_assets", hide_index=True, column_config=contract_inputs.ASSET_CONFIG
    )

st.subheader("Contracts")
if not crm.contracts:
    st.caption("No contracts in the export.")
for contract in crm.contracts:
    mrr = contract["current_mrr"]  # None when the published copy predates the column
    with st.container(border=True):
        title = contract["name"] or "Untitled"
        st.markdown(f"**{ui.md(title)}** · {ui.md(contract['source_id'])}")
        text, colour = STATUS_BADGES.get(contract["status"], (contract["status"], "gray"))
        st.badge(text, color=colour)
        ui.facts(
            [
                ("Start", contract["start_date"]),
                ("End", contract["end_date"]),
                ("Term (months)", contract["term_months"]),
                ("Renews automatically", contract["auto_renew"]),
                ("Renewal term (months)", contract["renewal_term_months"]),
                ("Notice (months)", contract["notice_months"]),
                ("Signed", contract["signed_date"]),
                ("Owner", contract["owner"]),
                ("Currency", contract["currency"]),
                ("MRR now", None if mrr is None else fmt.money(mrr, "NOK")),
            ],
            columns=5,
        )
        if contract["terminated_date"]:
            ui.ended(
                f"Terminated {fmt.day(contract['terminated_date'])}",
                contract["termination_reason"],
                None,
            )
        if contract["source_system"] != "app" and may_edit:
            adoption_actions.contract(
                database.database(),
                user.username,
                scope.serving,
                contract,
                adopted.get(contract["contract_id"]),
            )
        lines = crm.lines[crm.lines.contract_id == contract["contract_id"]]
        if lines.empty:
            st.caption("No lines.")
        else:
            ui.dataframe(
                lines.drop(columns="contract_id").assign(
                    billing_period=lines.billing_period.map(ui.period_name)
                ),
                key=f"crm_lines_{contract['contract_id']}",
                hide_index=True,
                column_config={
                    "product": "Product",
                    "quantity": st.column_config.NumberColumn("Quantity", format="%,g"),
                    "unit_price": st.column_config.NumberColumn("Unit price", format="%,.2f"),
                    "discount_percent": st.column_config.NumberColumn("Discount %", format="%g"),
                    "discount_end_date": st.column_config.DateColumn("Discount until"),
                    "billing_period": "Billing",
                    "currency": "Currency",
                    "start_date": st.column_config.DateColumn("Start"),
                    "end_date": st.column_config.DateColumn("End"),
                    "line_mrr": st.column_config.NumberColumn("MRR (NOK)", format="%,.2f"),
                },
            )
