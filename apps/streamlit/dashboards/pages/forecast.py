"""Forecast: MRR that signed contracts hold ahead, with scheduled price adjustments, the
trend and its band, and cash flow: what the invoice register invoiced and collected in the
actual months, and what the billing schedule expects after them (SPEC IX M8)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from common import charts, fmt, ui
from common.scope import current_scope
from dashboards import analytics_reads

HORIZON_KEY = "forecast_horizon"
HORIZONS = {6: "6 months", 12: "12 months", 24: "24 months"}
TREND_COLOUR = "#7e57c2"
ADJUSTED_COLOUR = "#00897b"
INVOICED_COLOUR, COLLECTED_COLOUR, EXPECTED_COLOUR = "#90a4ae", "#2e7d32", "#1565c0"
HOVER = "NOK %{y:,.2f}"


def mrr_figure(table: pd.DataFrame) -> go.Figure:
    ahead = table[~table.is_actual]
    # Start the lines ahead at the last actual month so they join the actual line.
    joined = pd.concat([table[table.is_actual].tail(1), ahead])
    figure = go.Figure()
    figure.add_scatter(
        x=ahead.month,
        y=ahead.trend_high,
        mode="lines",
        line_width=0,
        showlegend=False,
        hoverinfo="skip",
    )
    figure.add_scatter(
        x=ahead.month,
        y=ahead.trend_low,
        name="Trend band (80 %)",
        mode="lines",
        line_width=0,
        fill="tonexty",
        fillcolor="rgba(126, 87, 194, 0.18)",
        hoverinfo="skip",
    )
    figure.add_scatter(
        x=table.month,
        y=table.trend_mrr,
        name="Trend",
        mode="lines",
        line={"color": TREND_COLOUR, "dash": "dot", "width": 1.5},
        hovertemplate=HOVER,
    )
    figure.add_scatter(
        x=table.month,
        y=table.actual_mrr,
        name="Actual MRR",
        mode="lines+markers",
        line_color=charts.MRR_COLOUR,
        hovertemplate=HOVER,
    )
    figure.add_scatter(
        x=joined.month,
        y=joined.contracted_mrr,
        name="Contracted MRR",
        mode="lines",
        line={"color": charts.MRR_COLOUR, "dash": "dash"},
        hovertemplate=HOVER,
    )
    figure.add_scatter(
        x=joined.month,
        y=joined.adjusted_mrr,
        name="Contracted with price adjustments",
        mode="lines",
        line={"color": ADJUSTED_COLOUR, "dash": "dash"},
        hovertemplate=HOVER,
    )
    figure.update_layout(
        height=400,
        yaxis_title="NOK",
        yaxis_tickformat=",.0f",
        hovermode="x unified",
        **charts.LAYOUT,
    )
    return figure


def invoicing_figure(table: pd.DataFrame) -> go.Figure:
    actual, ahead = table[table.is_actual], table[~table.is_actual]
    bars = [
        (actual, "invoiced", "Invoiced (register)", INVOICED_COLOUR),
        (actual, "collected", "Collected", COLLECTED_COLOUR),
        (ahead, "expected_invoicing", "Expected", EXPECTED_COLOUR),
    ]
    figure = go.Figure()
    for part, column, label, colour in bars:
        figure.add_bar(
            x=part.month,
            y=part[column],
            name=label,
            marker_color=colour,
            hovertemplate="%{x|%b %Y}: NOK %{y:,.2f}<extra></extra>",
        )
    figure.update_layout(height=320, yaxis_title="NOK", yaxis_tickformat=",.0f", **charts.LAYOUT)
    return figure


scope = current_scope()
forecast = analytics_reads.forecast(scope.serving, scope.version)

st.title("Forecast")
if forecast.empty or forecast.is_actual.all():
    st.info("No forecast yet: it needs signed contracts and at least one month of MRR.")
    st.stop()

horizon = st.segmented_control(
    "Months ahead", list(HORIZONS), key=HORIZON_KEY, default=24, format_func=ui.named(HORIZONS)
)
horizon = horizon or 24
actual, ahead = forecast[forecast.is_actual], forecast[~forecast.is_actual]
table = pd.concat([actual, ahead.head(horizon)], ignore_index=True)
shown_ahead = table[~table.is_actual]
now, last = actual.iloc[-1], shown_ahead.iloc[-1]
st.caption(
    f"Whole portfolio ({fmt.month(now.month)} actual, then "
    f"{len(shown_ahead)} months ahead) · contracted = signed lines, known expiries without "
    "renewal; adjusted adds scheduled price adjustments; trend = linear, 80 % band"
)
if scope.is_filtered:
    st.info(
        "The forecast is computed for the whole portfolio: the filters picked on the other "
        "dashboards do not apply here.",
        icon=":material/info:",
    )

with st.container(horizontal=True):
    at = f"in {fmt.month(last.month)}"
    st.metric("MRR now", fmt.tile(now.actual_mrr), border=True)
    st.metric(
        f"Contracted MRR {at}",
        fmt.tile(last.contracted_mrr),
        fmt.change(last.contracted_mrr - now.actual_mrr),
        delta_color="off",  # expiries without renewal lower it by definition
        border=True,
    )
    st.metric(
        f"With price adjustments {at}",
        fmt.tile(last.adjusted_mrr),
        fmt.change(last.adjusted_mrr - now.actual_mrr),
        delta_color="off",  # expiries without renewal lower it by definition
        border=True,
    )
    st.metric(f"Trend {at}", fmt.tile(last.trend_mrr), border=True)
    st.metric(
        f"Expected invoicing, next {len(shown_ahead)} months",
        fmt.tile(shown_ahead.expected_invoicing.sum()),
        border=True,
    )

st.subheader("MRR ahead")
mrr_columns = ["month", "is_actual", "actual_mrr", "contracted_mrr", "adjusted_mrr"]
mrr_columns += ["trend_mrr", "trend_low", "trend_high"]
charts.show(mrr_figure(table), table[mrr_columns], f"mrr-forecast-{horizon}m", "forecast_mrr")

st.subheader("Cash flow: invoiced, collected and expected")
st.caption(
    "Actual months: what the invoice register invoiced (net of VAT and credit notes) and the "
    "bank collected (VAT included), to date in the current month. Ahead: what the billing schedule of the "
    "signed contracts invoices, net of VAT. At the planning rates."
)
invoicing = table[["month", "is_actual", "invoiced", "collected", "expected_invoicing"]]
charts.show(
    invoicing_figure(invoicing), invoicing, f"expected-invoicing-{horizon}m", "forecast_invoicing"
)
