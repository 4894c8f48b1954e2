"""Cohorts: customers grouped by the month (quarter, year) of their first MRR, and how
many of them, and how much of their MRR, is still there months later (SPEC IX M6)."""

from __future__ import annotations

from typing import Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from common import charts, fmt, marts_reads, ui
from common.scope import current_scope
from dashboards import analytics_reads

GRAINS: dict[analytics_reads.Grain, str] = {"month": "Month", "quarter": "Quarter", "year": "Year"}
# grain -> (every how many months since start a column is drawn, how many months at most):
# a column per month of four years would leave no room for the percentages.
COLUMNS = {"month": (1, 24), "quarter": (3, 60), "year": (12, 120)}
SEGMENTS: dict[analytics_reads.Segment | Literal["all"], str] = {
    "all": "All customers",
    "country": "Country",
    "owner": "Owner",
}
GRAIN_KEY, SEGMENT_KEY, VALUE_KEY = "cohort_grain", "cohort_segment", "cohort_value"
# measure -> (heading, the count or sum it divides, what it is divided by, colours)
MAX_REVENUE_COLOUR = 1.5  # expansion beyond 150 % shows in the darkest green
MEASURES = {
    "logo_retention": ("Logo retention", "active_customers", "cohort_customers", "Blues"),
    "revenue_retention": ("Revenue retention", "mrr", "cohort_start_mrr", "Greens"),
}


def cohort_label(cohort: pd.Timestamp, grain: str) -> str:
    if grain == "year":
        return f"{cohort:%Y}"
    if grain == "quarter":
        return f"{cohort:%Y} Q{(cohort.month - 1) // 3 + 1}"
    return fmt.month(cohort)


def heatmap(table: pd.DataFrame, measure: str, grain: str) -> go.Figure:
    grid = table.pivot(index="cohort", columns="months_since_start", values=measure)
    sizes = table[table.months_since_start == 0].set_index("cohort").cohort_customers
    rows = [f"{cohort_label(c, grain)} ({fmt.count(sizes.get(c, 0))})" for c in grid.index]
    figure = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=grid.columns.tolist(),
            y=rows,
            zmin=0,
            zmax=1.0 if measure == "logo_retention" else MAX_REVENUE_COLOUR,
            colorscale=MEASURES[measure][3],
            texttemplate="%{z:.0%}",
            textfont={"size": 9},
            hovertemplate="Cohort %{y}, month %{x}: %{z:.1%}<extra></extra>",
            colorbar={"tickformat": ".0%"},
        )
    )
    figure.update_layout(
        height=max(260, 60 + 22 * len(rows)),
        xaxis_title="Months since start",
        yaxis={"autorange": "reversed", "title": "Cohort (customers)"},
        **charts.LAYOUT,
    )
    return figure


scope = current_scope()
st.title("Cohorts")

grain_pick, segment_pick, value_pick = st.columns(3)
grain = grain_pick.segmented_control(
    "Cohort size", list(GRAINS), key=GRAIN_KEY, format_func=ui.named(GRAINS), default="quarter"
)
grain = grain or "quarter"  # clicking the selected option again clears it
segment = segment_pick.selectbox(
    "Segment", list(SEGMENTS), key=SEGMENT_KEY, format_func=ui.named(SEGMENTS)
)
value = None
if segment != "all":
    options = marts_reads.filter_options(scope.serving, scope.version)
    picked = {"owner": scope.owners, "country": scope.countries}[segment]
    values = sorted(v for v in options[segment].dropna().unique() if not picked or v in picked)
    if st.session_state.get(VALUE_KEY) not in values:
        st.session_state.pop(VALUE_KEY, None)
    value = value_pick.selectbox(SEGMENTS[segment], values, key=VALUE_KEY)

table = analytics_reads.cohorts(
    scope.serving,
    scope.version,
    grain,
    None if segment == "all" else segment,
    value,
    scope.owners,
    scope.countries,
)
step, horizon = COLUMNS[grain]
shown = scope.describe() + (f" · {SEGMENTS[segment]} {value}" if value else "")
st.caption(
    f"{shown} · cohorts by {GRAINS[grain].lower()} of first MRR (customers in brackets), "
    f"months since start 0, {step}, {2 * step} … {horizon} · logo "
    "retention = share still with MRR; revenue retention = their MRR then / at start"
)
if scope.currencies:
    st.info(
        "The cohorts are counted per country and owner, not per currency: the currency "
        "filter does not apply on this page.",
        icon=":material/info:",
    )
if table.empty:
    st.info("No customers with MRR in this selection.")
    st.stop()

table["cohort"] = pd.to_datetime(table.cohort)
table = table[(table.months_since_start % step == 0) & (table.months_since_start <= horizon)]
for measure, (heading, part, whole, _) in MEASURES.items():
    st.subheader(heading)
    frame = table[["cohort", "months_since_start", whole, part, measure]]
    charts.show(
        heatmap(frame.assign(cohort_customers=table.cohort_customers), measure, grain),
        frame,
        f"cohort-{measure.replace('_', '-')}-{grain}",
        f"cohort_{measure}",
    )
