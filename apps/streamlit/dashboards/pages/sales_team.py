"""Sales team: what moved MRR, per salesperson (owner), product and country, over a
period (SPEC IX M4, M7)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from common import charts, fmt
from common.scope import current_scope
from dashboards import analytics_reads, metrics_reads

PERIOD_KEY = "sales_period"
# dimension -> (heading, what the CSV and PNG are called)
DIMENSIONS: dict[analytics_reads.Dimension, tuple[str, str]] = {
    "owner": ("By owner", "owner"),
    "product": ("By product", "product"),
    "country": ("By country", "country"),
}


def periods(latest: date) -> dict[str, tuple[date, date, str]]:
    """Period key -> (first month, last month, label), ending with the latest actual month."""

    def back(months: int) -> date:
        return (pd.Timestamp(latest) - pd.DateOffset(months=months)).date()

    year = latest.year
    return {
        "month": (latest, latest, fmt.month(latest)),
        "3m": (back(2), latest, "Last 3 months"),
        "12m": (back(11), latest, "Last 12 months"),
        "ytd": (date(year, 1, 1), latest, f"{year} so far"),
        "last_year": (date(year - 1, 1, 1), date(year - 1, 12, 1), f"{year - 1}"),
    }


def movements_figure(table: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for movement, (label, colour) in charts.MOVEMENTS.items():
        figure.add_bar(x=table.segment, y=table[movement], name=label, marker_color=colour)
    figure.add_scatter(
        x=table.segment,
        y=table.net_new,
        name="Net new MRR",
        mode="markers",
        marker={"color": charts.NET_COLOUR, "size": 11, "symbol": "diamond"},
    )
    figure.update_traces(hovertemplate="%{x}: NOK %{y:,.2f}")
    figure.update_layout(
        barmode="relative",
        height=380,
        yaxis_title="NOK",
        yaxis_tickformat=",.0f",
        **charts.LAYOUT,
    )
    return figure


scope = current_scope()
series = metrics_reads.metrics(scope.serving, scope.version, *scope.filters)
actual = series[~series.is_future]

st.title("Sales team")
if actual.empty:
    st.info("No MRR yet for the selected customers.")
    st.stop()

# The one "now" of every dashboard: periods end with the latest complete month.
choices = periods(charts.complete_months(series).month.iloc[-1].date())
period = st.segmented_control(
    "Period",
    list(choices),
    key=PERIOD_KEY,
    default="12m",
    format_func=lambda key: choices[key][2],
)
start, end, label = choices[period or "12m"]
st.caption(
    f"{scope.describe()} · {fmt.month(start)} – {fmt.month(end)} · "
    "movements in NOK at planning rates; net new MRR is the diamond · owner and country "
    "are the customer's"
)

for dimension, (heading, name) in DIMENSIONS.items():
    st.subheader(heading)
    table = analytics_reads.movements_by(
        scope.serving, scope.version, dimension, start, end, *scope.filters
    )
    if table.empty:
        st.caption("No movements in this period.")
        continue
    if dimension == "product":
        st.caption(
            "Per product: a customer moving from one product to another shows as churn "
            "of one and new MRR of the other."
        )
    charts.show(
        movements_figure(table),
        table,
        f"movements-by-{name}-{start:%Y-%m}-{end:%Y-%m}",
        f"sales_{dimension}_chart",
    )
