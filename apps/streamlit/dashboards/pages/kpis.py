"""KPIs: the headline numbers of the latest complete month, each with its definition
(SPEC IX M1-M5) and its trend."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from common import charts
from common.scope import current_scope
from dashboards import metrics_reads

TREND_MONTHS = 24
COLUMNS_PER_ROW = 2  # wide enough for ARR in the billions with two decimals


def count(value: float) -> str:
    return f"{int(value):,}"


def ratio(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:,.2f}"


# column -> (tile label, value format, delta format, y axis tick format)
KPIS = {
    "mrr": ("MRR", charts.nok, "{:+,.2f}", ",.0f"),
    "arr": ("ARR", charts.nok, "{:+,.2f}", ",.0f"),
    "arpa": ("ARPA", charts.nok, "{:+,.2f}", ",.0f"),
    "ltv": ("LTV", charts.nok, "{:+,.2f}", ",.0f"),
    "customers": ("Customers with MRR", count, "{:+,.0f}", ",.0f"),
    "non_recurring_revenue": ("Non-recurring revenue", charts.nok, "{:+,.2f}", ",.0f"),
    "net_new_mrr": ("Net new MRR", charts.nok, "{:+,.2f}", ",.0f"),
    "quick_ratio": ("Quick ratio", ratio, "{:+,.2f}", ",.2f"),
}


def delta(latest: pd.Series, previous: pd.Series | None, column: str, template: str) -> str | None:
    if previous is None or pd.isna(latest[column]) or pd.isna(previous[column]):
        return None
    return template.format(latest[column] - previous[column])


def trend_figure(trend: pd.DataFrame, column: str, tickformat: str) -> go.Figure:
    figure = go.Figure()
    figure.add_scatter(
        x=trend.month,
        y=trend[column],
        mode="lines+markers",
        line_color=charts.MRR_COLOUR,
        marker_size=4,
        hovertemplate="%{x|%b %Y}: %{y:,.2f}<extra></extra>",
    )
    figure.update_layout(
        height=160,
        margin={"t": 5, "b": 5, "l": 5, "r": 5},
        showlegend=False,
        yaxis_tickformat=tickformat,
        xaxis_tickformat="%b %y",
    )
    return figure


def render_kpi(
    column: str, latest: pd.Series, previous: pd.Series | None, trend: pd.DataFrame
) -> None:
    label, shown, change, tickformat = KPIS[column]
    since = f"vs {charts.month_label(previous.month)}" if previous is not None else None
    value = latest[column]
    st.metric(
        label,
        shown(value) if not pd.isna(value) else "–",
        delta(latest, previous, column, change),
        help=charts.DEFINITIONS[column],
        delta_description=since,
        border=True,
    )
    frame = trend[["month", column]]
    charts.show(trend_figure(frame, column, tickformat), frame, f"kpi-{column}", f"kpi_{column}")


scope = current_scope()
series = metrics_reads.metrics(scope.serving, scope.version, *scope.filters)
complete = charts.complete_months(series)

st.title("KPIs")
if complete.empty:
    st.info("No MRR yet for the selected customers.")
    st.stop()

latest = complete.iloc[-1]
previous = complete.iloc[-2] if len(complete) > 1 else None
st.caption(
    f"{scope.describe()} · {charts.now_label(series)} · NOK at planning rates · "
    "the ? by each tile gives its definition"
)
trend = complete.tail(TREND_MONTHS)
columns = list(KPIS)
for start in range(0, len(columns), COLUMNS_PER_ROW):
    for cell, column in zip(
        st.columns(COLUMNS_PER_ROW), columns[start : start + COLUMNS_PER_ROW], strict=False
    ):
        with cell:
            render_kpi(column, latest, previous, trend)
