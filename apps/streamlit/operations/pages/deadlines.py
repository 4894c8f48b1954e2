"""Deadlines: every date that matters for each contract and across the portfolio, week by
week, with what needs action first (SPEC VI A1). Read-only, from ``contract_deadlines``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from avtale.dates import today as business_today
from avtale.serving import NotPublishedError
from common import charts, fmt, links, ui
from common.scope import current_scope
from operations import deadline_reads

OWNER_KEY, TYPE_KEY, MIN_MRR_KEY, HORIZON_KEY = (
    "deadlines_owner",
    "deadlines_type",
    "deadlines_min_mrr",
    "deadlines_horizon",
)
# the downloads' keys are deadlines_csv and deadlines_excel (charts.downloads)
CHART_KEY, LIST_KEY, DOWNLOAD_KEY = "deadlines_chart", "deadlines_list", "deadlines"
# deadline_type -> (label, colour); the types that ask for action first
TYPES = {
    "notice": ("Notice deadline", "#e53935"),
    "renegotiation_window": ("Renegotiation window", "#fb8c00"),
    "expiry": ("Expiry", "#8e24aa"),
    "next_renewal": ("Next renewal", "#2e7d32"),
    "lock_in_end": ("End of lock-in", "#6d4c41"),
    "price_adjustment": ("Price adjustment", "#1565c0"),
    "discount_end": ("End of discount", "#26a69a"),
}
HORIZONS = {3: "Next 3 months", 6: "Next 6 months", 12: "Next 12 months", 24: "Next 24 months"}
COLUMNS: ui.ColumnConfigs = {
    "week": st.column_config.DateColumn("Week of", format="D MMM YYYY"),
    "deadline_date": st.column_config.DateColumn("Date", format="ddd D MMM YYYY"),
    "days_left": st.column_config.NumberColumn(
        "Days left",
        help="Negative: the date has passed (recent misses show for 30 days).",
        width="small",
    ),
    "deadline_type": st.column_config.TextColumn("Deadline", width="medium"),
    "customer_name": st.column_config.TextColumn("Customer", width="medium"),
    "mrr_at_stake": st.column_config.NumberColumn(
        "MRR at stake",
        format="NOK %,.2f",
        help="Contract MRR for expiry, notice, renegotiation, renewal and lock-in; the MRR "
        "gained when a discount ends or a price adjustment applies.",
    ),
    "owner": "Owner",
    "detail": st.column_config.TextColumn("What", width="large"),
    "contract_mrr": st.column_config.NumberColumn("Contract MRR", format="NOK %,.2f"),
    "contract_id": "Contract",
}
# The legend lists the types in TYPES' order, the order they stack from the bottom.
LAYOUT: dict[str, Any] = {
    "margin": {"t": 10, "b": 10},
    "legend": {"orientation": "h", "y": -0.2, "traceorder": "normal"},
}


def type_label(deadline_type: str) -> str:
    return TYPES.get(deadline_type, (deadline_type, None))[0]


def months_ahead(today: date, months: int) -> date:
    return (pd.Timestamp(today) + pd.DateOffset(months=months)).date()


def render_tiles(summary: deadline_reads.Summary) -> None:
    soon = deadline_reads.SOON_DAYS
    with st.container(horizontal=True):
        st.metric(
            f"Notice deadlines in {soon} days",
            fmt.count(summary.notices_soon),
            help=f"Last days to give notice from today through {soon} days ahead.",
            border=True,
            width="content",
        )
        st.metric(
            "Their MRR at stake",
            fmt.tile(summary.notices_soon_mrr),
            help="The contract MRR of those notice deadlines.",
            border=True,
            width="content",
        )
        st.metric(
            "Passed in the last 30 days",
            fmt.count(summary.passed),
            help="Notice deadlines and renegotiation windows whose date has passed.",
            border=True,
            width="content",
        )


def weeks_figure(weeks: pd.DataFrame, today: date) -> go.Figure:
    figure = go.Figure()
    for deadline_type, (label, colour) in TYPES.items():
        of_type = weeks[weeks.deadline_type == deadline_type]
        if of_type.empty:
            continue
        figure.add_bar(
            x=of_type.week,
            y=of_type.mrr_at_stake,
            name=label,
            marker_color=colour,
            customdata=of_type.deadlines,
            hovertemplate=f"{label}, week of %{{x|%d %b %Y}}: NOK %{{y:,.2f}} "
            "(%{customdata} deadlines)<extra></extra>",
        )
    figure.add_vline(x=today.isoformat(), line_dash="dot", line_width=1)
    figure.update_layout(
        barmode="stack",
        height=340,
        yaxis_title="MRR at stake (NOK)",
        yaxis_tickformat=",.0f",
        xaxis_title="Week",
        **LAYOUT,
        **fmt.plotly_layout(),
    )
    return figure


def open_picked(event: object, rows: pd.DataFrame) -> None:
    """Open the contract of the clicked row: app contracts on their contract page, CRM and
    accounting ones on their customer's read-only page."""
    picked = getattr(getattr(event, "selection", None), "rows", None)
    if not picked:
        return
    row = rows.iloc[picked[0]]
    if row.source_system == "app":
        st.switch_page(links.CONTRACT, query_params={"contract": row.source_id})
    else:
        st.switch_page(links.CRM_CUSTOMER, query_params={"crm_customer": row.customer_id})


scope = current_scope()
today = business_today()

st.title("Deadlines")
try:
    owner_choices = deadline_reads.owner_choices(scope.serving, scope.version)
except NotPublishedError:
    st.info(
        "No data is published yet. Run `avtale refresh` to build the marts, or `avtale demo` "
        "to try Avtale on a demo portfolio.",
        icon=":material/info:",
    )
    st.stop()

owner_col, type_col, mrr_col, horizon_col = st.columns([3, 3, 2, 2])
picked_owners = owner_col.multiselect("Owner", owner_choices, key=OWNER_KEY, placeholder="All")
picked_types = type_col.multiselect(
    "Deadline type", list(TYPES), key=TYPE_KEY, format_func=type_label, placeholder="All"
)
min_mrr = mrr_col.number_input(
    "Min. MRR at stake (NOK)", min_value=0.0, value=0.0, step=500.0, key=MIN_MRR_KEY
)
horizon = horizon_col.selectbox(
    "Period", list(HORIZONS), index=1, format_func=ui.named(HORIZONS), key=HORIZON_KEY
)
until = months_ahead(today, horizon)
filters = (tuple(sorted(picked_owners)), tuple(sorted(picked_types)), float(min_mrr), until)
try:
    rows = deadline_reads.deadline_list(scope.serving, scope.version, *filters, today)
    weeks = deadline_reads.deadline_weeks(scope.serving, scope.version, *filters)
except deadline_reads.PublishedTooOldError:
    st.info(
        "The published data predates this page. Run `avtale refresh` to publish the "
        "deadlines again.",
        icon=":material/info:",
    )
    st.stop()

st.caption(
    f"From {fmt.day(today - timedelta(days=30))} (recent misses) to {fmt.day(until)} · "
    "NOK at planning rates · deadlines as of the last refresh"
)
if rows.empty:
    st.info("No deadline matches these filters.", icon=":material/event_available:")
    st.stop()
render_tiles(deadline_reads.summary(rows))

st.subheader("Deadlines by week")
st.caption(
    "Bars stack the MRR at stake of each type; a contract counts once for each of its "
    "deadlines (its notice, renegotiation window and expiry each carry its MRR)."
)
st.plotly_chart(
    weeks_figure(weeks, today),
    key=CHART_KEY,
    config={
        "toImageButtonOptions": {"format": "png", "filename": "deadlines-by-week"},
        "displaylogo": False,
    },
)

st.subheader("What to do, week by week")
st.caption(
    f"{fmt.count(len(rows))} deadlines. In each week, notice deadlines and renegotiation windows "
    "come first, soonest first; then the rest by MRR at stake. Click a row to open the "
    "contract."
)
event = ui.dataframe(
    rows.assign(deadline_type=rows.deadline_type.map(type_label)),
    key=LIST_KEY,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    column_order=list(COLUMNS),
    column_config=COLUMNS,
    kinds={"contract_id": "record", "detail": "sentence"},
)
charts.downloads(
    rows.drop(columns=["source_id"]),
    "deadlines",
    DOWNLOAD_KEY,
    {
        "owner": filters[0],
        "type": filters[1],
        "min-mrr": [f"{min_mrr:.2f}".removesuffix(".00")] if min_mrr else [],
        "next": [f"{horizon}m"],
    },
)
open_picked(event, rows)
