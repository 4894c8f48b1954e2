"""MRR overview: where recurring revenue stands and what moved it (SPEC IX M3-M5)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from common import charts, fmt, ui
from common.charts import MOVEMENTS, MRR_COLOUR, NET_COLOUR
from common.scope import Scope, current_scope
from dashboards import metrics_reads

ALL = "all"
MONTH_KEY = "mrr_month"
MOVEMENT_KEY = "mrr_movement"
CHART_KEY = "mrr_movements_chart"
# Streamlit draws the headings, so the figures need no room for a title.
LAYOUT: dict[str, Any] = {
    "margin": {"t": 10, "b": 10},
    "yaxis_title": "NOK",
    "yaxis_tickformat": ",.0f",
    "legend": {"orientation": "h", "y": -0.12},
}
COLUMNS = {
    "customer": "Customer",
    "country": "Country",
    "owner": "Owner",
    "movement": "Movement",
    "previous_mrr": "Previous MRR",
    "mrr": "MRR",
    "amount": "Amount",
}


def movement_label(movement: str) -> str:
    return "All movements" if movement == ALL else MOVEMENTS[movement][0]


def render_tiles(actual: pd.DataFrame) -> None:
    latest = actual.iloc[-1]
    previous = actual.iloc[-2] if len(actual) > 1 else None
    since = f"vs {fmt.month(previous.month)}" if previous is not None else None

    def change(column: str, show: Callable[[Any], str]) -> str | None:
        return None if previous is None else show(latest[column] - previous[column])

    tiles = [
        ("MRR", fmt.tile(latest.mrr), change("mrr", fmt.change)),
        ("ARR", fmt.tile(latest.arr), change("arr", fmt.change)),
        ("Customers with MRR", fmt.count(latest.customers), change("customers", fmt.signed_count)),
        ("Net new MRR", fmt.tile(latest.net_new_mrr), change("net_new_mrr", fmt.change)),
    ]
    # A wrapping row rather than st.columns: long amounts move to a new line
    # on narrow screens instead of being cut off.
    with st.container(horizontal=True):
        for label, value, delta in tiles:
            st.metric(label, value, delta, delta_description=since, border=True)


def mrr_figure(series: pd.DataFrame) -> go.Figure:
    actual, future = series[~series.is_future], series[series.is_future]
    figure = go.Figure()
    figure.add_scatter(
        x=actual.month,
        y=actual.mrr,
        name="MRR",
        mode="lines",
        fill="tozeroy",
        line_color=MRR_COLOUR,
    )
    if not future.empty:
        # Start the dashed line at the last actual month so the two lines join.
        ahead = pd.concat([actual.tail(1), future])
        figure.add_scatter(
            x=ahead.month,
            y=ahead.mrr,
            name="Contracted MRR",
            mode="lines",
            line={"color": MRR_COLOUR, "dash": "dash", "width": 1.5},
            opacity=0.6,
        )
    figure.update_traces(hovertemplate="%{x|%b %Y}: NOK %{y:,.2f}")
    figure.update_layout(height=320, **LAYOUT, **fmt.plotly_layout())
    return figure


def movements_figure(actual: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    months = actual.month.dt.strftime("%Y-%m-%d").tolist()
    # customdata carries (month, movement) so a click can set the selectboxes.
    for movement, (label, colour) in MOVEMENTS.items():
        figure.add_bar(
            x=actual.month,
            y=actual[f"{movement}_mrr"],
            name=label,
            marker_color=colour,
            customdata=[[month, movement] for month in months],
        )
    figure.add_scatter(
        x=actual.month,
        y=actual.net_new_mrr,
        name="Net new MRR",
        mode="lines+markers",
        line_color=NET_COLOUR,
        customdata=[[month, ALL] for month in months],
    )
    figure.update_traces(hovertemplate="%{x|%b %Y}: NOK %{y:,.2f}")
    figure.update_layout(barmode="relative", height=360, **LAYOUT, **fmt.plotly_layout())
    return figure


def select_from_chart() -> None:
    """Copy a clicked bar into the selectboxes, which stay the one source of truth."""
    points = st.session_state[CHART_KEY].selection.points
    if points and len(points[0].get("customdata") or []) == 2:
        month, movement = points[0]["customdata"]
        st.session_state[MONTH_KEY] = date.fromisoformat(month)
        st.session_state[MOVEMENT_KEY] = movement


def render_customers(scope: Scope, month: date, movement: str) -> None:
    movement_filter = None if movement == ALL else movement
    rows = metrics_reads.movement_customers(
        scope.serving, scope.version, month, movement_filter, *scope.filters
    )
    st.subheader(f"{movement_label(movement)} in {fmt.month(month)}")
    if rows.empty:
        st.caption("No customer had this movement in this month.")
        return
    customers = "1 customer" if len(rows) == 1 else f"{fmt.count(len(rows))} customers"
    st.caption(f"{customers}, net {fmt.tile(rows.amount.sum())}")
    rows["movement"] = rows.movement.map(movement_label)
    amount = st.column_config.NumberColumn(format="NOK %,.2f")
    ui.dataframe(
        rows.rename(columns=COLUMNS),
        hide_index=True,
        column_config={"Previous MRR": amount, "MRR": amount, "Amount": amount},
    )


scope = current_scope()
series = metrics_reads.monthly_series(scope.serving, scope.version, *scope.filters)
actual = series[~series.is_future]

st.title("MRR overview")
if actual.empty:
    st.info("No MRR yet for the selected customers.")
    st.stop()

st.caption(
    f"{scope.describe()} · {charts.now_label(series)} · NOK at planning rates, month-end snapshots"
)
render_tiles(charts.complete_months(series))

st.subheader("MRR over time")
st.plotly_chart(charts.mark_running(mrr_figure(series), series), key="mrr_chart")

st.subheader("Monthly movements")
st.plotly_chart(
    charts.mark_running(movements_figure(actual), series),
    key=CHART_KEY,
    on_select=select_from_chart,
    selection_mode="points",
)

months = actual.month.dt.date.tolist()[::-1]  # newest first
if st.session_state.get(MONTH_KEY) not in months:
    # New filters or a new publish can remove the month picked before.
    st.session_state.pop(MONTH_KEY, None)
pick_month, pick_movement = st.columns(2)
month = pick_month.selectbox(
    "Month",
    months,
    key=MONTH_KEY,
    format_func=fmt.bound(lambda shown, m: shown.month(pd.Timestamp(m))),
)
movement = pick_movement.selectbox(
    "Movement", [ALL, *MOVEMENTS], key=MOVEMENT_KEY, format_func=movement_label
)
render_customers(scope, month, movement)
