"""Churn: logo and gross revenue churn, net revenue retention, and why customers left
(SPEC IX M5, M7)."""

from __future__ import annotations

from datetime import date
from typing import Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from common import charts, fmt, ui
from common.scope import Scope, current_scope
from dashboards import analytics_reads, metrics_reads

ALL = "all"  # every reason, or the last 12 months instead of one month
PERIOD_KEY = "churn_month"
REASON_KEY = "churn_reason"
RATES_KEY = "churn_rates_chart"
REASONS_KEY = "churn_reasons_chart"
LOGO_COLOUR, REVENUE_COLOUR, NRR_COLOUR = "#e53935", "#fb8c00", "#1565c0"
RATE_LAYOUT = {**charts.LAYOUT, "yaxis_tickformat": ".1%", "hovermode": "x unified"}
COLUMNS = {
    "customer": "Customer",
    "month": "Month",
    "owner": "Owner",
    "country": "Country",
    "industry": "Industry",
    "reason": "Reason",
    "reason_source": "Reason from",
    "amount": "MRR lost",
}


def render_tiles(complete: pd.DataFrame) -> None:
    latest = complete.iloc[-1]
    previous = complete.iloc[-2] if len(complete) > 1 else None
    since = f"vs {fmt.month(previous.month)}" if previous is not None else None
    tiles: list[tuple[str, str, Literal["normal", "inverse"]]] = [
        ("Logo churn", "logo_churn_rate", "inverse"),
        ("Gross revenue churn", "gross_revenue_churn_rate", "inverse"),
        ("NRR 12 months", "nrr_12m", "normal"),
    ]
    with st.container(horizontal=True):
        for label, column, colour in tiles:
            change = None
            if previous is not None and not pd.isna(latest[column] - previous[column]):
                change = f"{(latest[column] - previous[column]) * 100:+.1f} pp"
            st.metric(
                label,
                fmt.rate(latest[column]),
                change,
                delta_color=colour,
                delta_description=since,
                help=charts.DEFINITIONS[column],
                border=True,
            )
    churned = latest.churned_customers
    customers = "1 customer" if churned == 1 else f"{fmt.count(churned)} customers"
    st.caption(
        f"{fmt.month(latest.month)}: {customers} churned, MRR lost "
        f"{fmt.tile(-latest.churn_mrr)}, contraction {fmt.tile(-latest.contraction_mrr)}"
    )


def rates_figure(rates: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    months = [charts.iso(month) for month in rates.month]
    for column, label, colour in [
        ("logo_churn_rate", "Logo churn", LOGO_COLOUR),
        ("gross_revenue_churn_rate", "Gross revenue churn", REVENUE_COLOUR),
    ]:
        figure.add_scatter(
            x=rates.month,
            y=rates[column],
            name=label,
            mode="lines+markers",
            line_color=colour,
            customdata=months,  # a click picks the month below
            hovertemplate="%{y:.2%}",
        )
    figure.update_layout(height=320, **RATE_LAYOUT)
    return figure


def nrr_figure(nrr: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    figure.add_scatter(
        x=nrr.month, y=nrr.nrr_12m, name="NRR 12 months", mode="lines", line_color=NRR_COLOUR
    )
    figure.add_hline(y=1, line_dash="dot", line_color="#90a4ae")
    figure.update_traces(hovertemplate="%{x|%b %Y}: %{y:.1%}")
    figure.update_layout(height=260, **RATE_LAYOUT)
    return figure


def reasons_figure(reasons: pd.DataFrame) -> go.Figure:
    ordered = reasons.sort_values("mrr_lost")  # largest at the top of a horizontal bar chart
    figure = go.Figure()
    figure.add_bar(
        x=ordered.mrr_lost,
        y=ordered.reason,
        orientation="h",
        marker_color=LOGO_COLOUR,
        customdata=ordered.reason,
        text=ordered.customers.map(lambda n: f"{fmt.count(n)} customer" + ("" if n == 1 else "s")),
        hovertemplate="%{y}: NOK %{x:,.2f} (%{text})<extra></extra>",
    )
    height = 120 + 28 * len(ordered)
    figure.update_layout(height=height, xaxis_title="MRR lost (NOK)", **charts.LAYOUT)
    return figure


def pick_month() -> None:
    points = st.session_state[RATES_KEY].selection.points
    if points and points[0].get("customdata"):
        st.session_state[PERIOD_KEY] = date.fromisoformat(points[0]["customdata"])


def pick_reason() -> None:
    points = st.session_state[REASONS_KEY].selection.points
    if points and points[0].get("customdata"):
        st.session_state[REASON_KEY] = points[0]["customdata"]


def period_label(period: date | str, shown: fmt.Shown | None = None) -> str:
    return "Last 12 months" if period == ALL else (shown or fmt.current()).month(period)


def render_customers(scope: Scope, start: date, end: date, reason: str, heading: str) -> None:
    picked = None if reason == ALL else reason
    rows = analytics_reads.churned_customers(
        scope.serving, scope.version, start, end, picked, *scope.filters
    )
    st.subheader(f"Customers who left · {heading}" + ("" if picked is None else f" · {picked}"))
    if rows.empty:
        st.caption("No customer churned for this reason in this period.")
        return
    st.caption(f"{fmt.count(len(rows))} churned, MRR lost {fmt.tile(-rows.amount.sum())}")
    rows["month"] = rows.month.map(fmt.month)
    ui.dataframe(
        rows.rename(columns=COLUMNS),
        hide_index=True,
        column_config={"MRR lost": st.column_config.NumberColumn(format="NOK %,.2f")},
    )


scope = current_scope()
series = metrics_reads.metrics(scope.serving, scope.version, *scope.filters)
actual = series[~series.is_future]
complete = charts.complete_months(series)

st.title("Churn")
if complete.empty:
    st.info("No MRR yet for the selected customers.")
    st.stop()
st.caption(
    f"{scope.describe()} · {charts.now_label(series)} · churn reasons from the terminated "
    "contracts and customers"
)
render_tiles(complete)

st.subheader("Churn rates by month")
# A month without customers before it has no rate: nothing could churn.
rates = actual[["month", "logo_churn_rate", "gross_revenue_churn_rate"]].dropna(
    subset=["logo_churn_rate", "gross_revenue_churn_rate"], how="all"
)
charts.show(
    rates_figure(rates),
    rates,
    "churn-rates",
    RATES_KEY,
    on_select=pick_month,
    selection_mode="points",
)

st.subheader("Net revenue retention, 12 months")
nrr = actual[["month", "nrr_12m"]].dropna()
charts.show(nrr_figure(nrr), nrr, "net-revenue-retention", "churn_nrr_chart")

months = actual.month.dt.date.tolist()[::-1]  # newest first
if st.session_state.get(PERIOD_KEY) not in [ALL, *months]:
    st.session_state.pop(PERIOD_KEY, None)
period = st.selectbox(
    "Period",
    [ALL, *months],
    key=PERIOD_KEY,
    format_func=fmt.bound(lambda shown, p: period_label(p, shown)),
)
end = months[0] if period == ALL else period
start = (pd.Timestamp(end) - pd.DateOffset(months=11)).date() if period == ALL else period
reasons = analytics_reads.churn_reasons(scope.serving, scope.version, start, end, *scope.filters)

st.subheader(f"Churn reasons · {period_label(period)}")
if reasons.empty:
    st.caption("No customer churned in this period.")
    st.stop()
charts.show(
    reasons_figure(reasons),
    reasons,
    f"churn-reasons-{start:%Y-%m}-{end:%Y-%m}",
    REASONS_KEY,
    on_select=pick_reason,
    selection_mode="points",
)
choices = [ALL, *reasons.reason]
if st.session_state.get(REASON_KEY) not in choices:
    st.session_state.pop(REASON_KEY, None)
reason = st.selectbox(
    "Reason",
    choices,
    key=REASON_KEY,
    format_func=lambda r: "All reasons" if r == ALL else r,
)
render_customers(scope, start, end, reason, period_label(period))
