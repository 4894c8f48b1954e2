"""KPIs: the headline numbers of the latest complete month, each with its definition
(SPEC IX M1-M5) and its trend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from common import charts, fmt
from common.scope import current_scope
from dashboards import metrics_reads

TREND_MONTHS = 24
COLUMNS_PER_ROW = 2  # wide enough for ARR in the billions with two decimals


# column -> (tile label, value format, delta format, y axis tick format); the formats are
# the user's locale's (common.fmt).
KPIS: dict[str, tuple[str, Callable[[Any], str], Callable[[Any], str], str]] = {
    "mrr": ("MRR", fmt.tile, fmt.change, ",.0f"),
    "arr": ("ARR", fmt.tile, fmt.change, ",.0f"),
    "arpa": ("ARPA", fmt.tile, fmt.change, ",.0f"),
    "ltv": ("LTV", fmt.tile, fmt.change, ",.0f"),
    "customers": ("Customers with MRR", fmt.count, fmt.signed_count, ",.0f"),
    "non_recurring_revenue": ("Non-recurring revenue", fmt.tile, fmt.change, ",.0f"),
    "net_new_mrr": ("Net new MRR", fmt.tile, fmt.change, ",.0f"),
    "quick_ratio": ("Quick ratio", fmt.number, fmt.signed, ",.2f"),
}


def delta(
    latest: pd.Series, previous: pd.Series | None, column: str, show: Callable[[Any], str]
) -> str | None:
    if previous is None or pd.isna(latest[column]) or pd.isna(previous[column]):
        return None
    return show(latest[column] - previous[column])


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
    since = f"vs {fmt.month(previous.month)}" if previous is not None else None
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
