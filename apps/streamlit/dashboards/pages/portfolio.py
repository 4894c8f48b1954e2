"""Portfolio health for sales leadership: which contracts are at risk, who to contact
when, the revenue at stake and the money left on the table (SPEC IX M9-M10)."""

from __future__ import annotations

from functools import partial

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from common import charts, fmt, ui
from common.scope import current_scope
from dashboards import analytics_reads

SORT_KEY, LIST_KEY, CONTRACT_KEY = "portfolio_sort", "portfolio_list", "portfolio_contract"
# sort option -> (label, column, ascending)
SORTS = {
    "next_action_date": ("Next action date", "next_action_date", True),
    "revenue_at_risk": ("Revenue at risk", "revenue_at_risk", False),
    "contract_mrr": ("Contract MRR", "contract_mrr", False),
    "upsell_mrr": ("Open upsell", "upsell_mrr", False),
    "margin_potential": ("Margin potential", "margin_potential", False),
}
COLUMNS = {
    "next_action_date": "Next action",
    "customer_name": "Customer",
    "owner": "Owner",
    "country": "Country",
    "conditions": "Conditions",
    "contract_mrr": "Contract MRR",
    "revenue_at_risk": "Revenue at risk",
    "upsell_mrr": "Open upsell",
    "margin_potential": "Margin potential",
    "contract_id": "Contract",
}
HELP = {
    "status": "A contract is at risk when one of the configured health conditions holds for "
    "it (SPEC IX M9): MRR drop, discount ending, price not adjusted, notice deadline soon; "
    "thresholds in dbt/seeds/health_conditions.csv. Active contracts with MRR only.",
    "revenue_at_risk": "MRR of the contracts with a churn-risk condition (MRR drop, notice "
    "deadline soon): the risk of loss (SPEC IX M10).",
    "upsell_mrr": "MRR to gain from at-risk contracts: discounts that end, prices not adjusted "
    "for 12 months (SPEC IX M10, open revenue opportunities).",
    "margin_potential": "MRR that running discounts give away on active contracts: where "
    "margin can improve (SPEC IX M10).",
}
CHURN_RISK_COLOUR, OTHER_COLOUR = "#e53935", "#fb8c00"
MONEY = st.column_config.NumberColumn(format="NOK %,.2f")


def render_tiles(summary: dict) -> None:
    with st.container(horizontal=True):
        # Sized to their content, so the five fit a row and long amounts wrap, not cut off.
        for label, count in [("Healthy contracts", "healthy"), ("Contracts at risk", "at_risk")]:
            st.metric(
                label, fmt.count(summary[count]), help=HELP["status"], border=True, width="content"
            )
        st.metric(
            "Revenue at risk",
            fmt.tile(summary["revenue_at_risk"]),
            help=HELP["revenue_at_risk"],
            border=True,
            width="content",
        )
        st.metric(
            "Open upsell (MRR)",
            fmt.tile(summary["upsell_mrr"]),
            help=HELP["upsell_mrr"],
            border=True,
            width="content",
        )
        st.metric(
            "Margin potential (MRR)",
            fmt.tile(summary["margin_potential"]),
            help=HELP["margin_potential"],
            border=True,
            width="content",
        )


def weeks_figure(weeks: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for column, label, colour in [
        ("churn_risk_mrr", "MRR at risk of loss", CHURN_RISK_COLOUR),
        ("other_mrr", "MRR of other at-risk contracts (upsell, price)", OTHER_COLOUR),
    ]:
        figure.add_bar(
            x=weeks.week,
            y=weeks[column],
            name=label,
            marker_color=colour,
            customdata=weeks.contracts,
            hovertemplate="Week of %{x|%d %b %Y}: NOK %{y:,.2f} (%{customdata} contracts)",
        )
    figure.update_layout(
        barmode="stack",
        height=320,
        yaxis_title="Contract MRR (NOK)",
        yaxis_tickformat=",.0f",
        **charts.LAYOUT,
    )
    return figure


def pick_row(contract_ids: list[str]) -> None:
    """Copy the clicked row of the list into the contract picker, the one source of truth."""
    rows = st.session_state[LIST_KEY].selection.rows
    if rows:
        st.session_state[CONTRACT_KEY] = contract_ids[rows[0]]


def render_signals(contract: pd.Series) -> None:
    scope = current_scope()
    signals = analytics_reads.contract_signals(scope.serving, scope.version, contract.contract_id)
    st.subheader(f"Signals · {contract.customer_name}")
    st.caption(
        f"Contract {ui.record_id(contract.contract_id)} · owner {contract.owner} · contract MRR "
        f"{fmt.tile(contract.contract_mrr)}"
    )
    ui.dataframe(
        signals.drop(columns="condition").rename(
            columns={"label": "Condition", "due_date": "Act by", "detail": "Detail"}
            | {"amount": "Amount (MRR)"}
        ),
        hide_index=True,
        column_config={"Amount (MRR)": MONEY},
        kinds={"Detail": "sentence"},
    )


scope = current_scope()
summary = analytics_reads.health_summary(scope.serving, scope.version, *scope.filters)
st.title("Portfolio health")
st.caption(
    f"{scope.describe()} · {fmt.count(summary['contracts'])} active contracts · owner is the "
    "contract's · amounts are MRR in NOK at planning rates"
)
if not summary["contracts"]:
    st.info("No active contracts for the selected customers.")
    st.stop()
render_tiles(summary)

weeks = analytics_reads.action_weeks(scope.serving, scope.version, *scope.filters)
st.subheader("Who to contact when")
st.caption("At-risk contracts' MRR by the week (Monday) of their next action date.")
if weeks.empty:
    st.caption("No contract is at risk.")
    st.stop()
charts.show(weeks_figure(weeks), weeks, "contacts-by-week", "portfolio_weeks")

st.subheader("Contracts at risk")
contracts = analytics_reads.at_risk_contracts(scope.serving, scope.version, *scope.filters)
sort = st.selectbox("Sort by", list(SORTS), key=SORT_KEY, format_func=lambda key: SORTS[key][0])
_, column, ascending = SORTS[sort]
contracts = contracts.sort_values(
    [column, "contract_mrr"], ascending=[ascending, False], kind="stable"
).reset_index(drop=True)
ids = contracts.contract_id.tolist()
shown = contracts[list(COLUMNS)].rename(columns=COLUMNS)
ui.dataframe(
    shown,
    hide_index=True,
    key=LIST_KEY,
    on_select=partial(pick_row, ids),
    selection_mode="single-row",
    column_config={name: MONEY for name in list(COLUMNS.values())[5:9]},
    kinds={"Contract": "record"},
)

labels = dict(
    zip(ids, contracts.customer_name + " · " + contracts.contract_id.map(ui.record_id), strict=True)
)
if st.session_state.get(CONTRACT_KEY) not in labels:
    st.session_state.pop(CONTRACT_KEY, None)
picked = st.selectbox("Contract", ids, key=CONTRACT_KEY, format_func=ui.named(labels))
render_signals(contracts.iloc[ids.index(picked)])
