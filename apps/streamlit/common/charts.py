"""What the analytics pages share: how a chart is shown and downloaded, and how values read.

Every chart goes through ``show``: Plotly draws it with its own camera button set to save
a PNG (no kaleido, which would fetch a browser), and exactly the table the chart was drawn
from sits under it as two CSV downloads (``downloads``): plain CSV, unrounded, for other
tools, and one that opens in Excel with Nordic settings. Both are safe to open (formula
injection, ``avtale.csv_export``) and their names carry the sidebar filters. Pages build
the figure and that table; nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from avtale.csv_export import excel_csv, file_name, neutralise
from common import fmt
from common.scope import current_scope

# movement -> (label, colour); gains first so a stack reads upwards from zero
MOVEMENTS = {
    "new": ("New", "#2e7d32"),
    "expansion": ("Expansion", "#66bb6a"),
    "reactivation": ("Reactivation", "#26a69a"),
    "contraction": ("Contraction", "#fb8c00"),
    "churn": ("Churn", "#e53935"),
}
NET_COLOUR = "#263238"
MRR_COLOUR = "#1565c0"
# Streamlit draws the headings, so the figures need no room for a title.
LAYOUT: dict[str, Any] = {
    "margin": {"t": 10, "b": 10},
    "legend": {"orientation": "h", "y": -0.15},
}
# The amounts (NOK) among the columns the app offers for download: the Excel file rounds
# them to øre. Every other number (counts, rates, ratios, retention) keeps its digits, so
# a column missing here is shown unrounded, never rounded wrong.
MONEY_COLUMNS = frozenset(
    {
        "mrr", "arr", "arpa", "ltv", "non_recurring_revenue", "net_new_mrr", "mrr_lost",
        "cohort_start_mrr", "new", "expansion", "reactivation", "contraction", "churn",
        "net_new", "actual_mrr", "contracted_mrr", "adjusted_mrr", "trend_mrr", "trend_low",
        "trend_high", "expected_invoicing", "churn_risk_mrr", "other_mrr", "upsell_mrr",
        "mrr_at_stake", "contract_mrr",
    }
)  # fmt: skip


def config(name: str) -> dict[str, Any]:
    """Plotly's options: the camera button saves ``<name>.png``; no Plotly logo."""
    return {"toImageButtonOptions": {"format": "png", "filename": name}, "displaylogo": False}


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The table as plain CSV: dates as ISO days, numbers unrounded (SPEC IX M3), text
    neutralised against formula injection."""
    text = [
        column
        for column in frame.columns
        if not pd.api.types.is_numeric_dtype(frame[column])
        and not pd.api.types.is_datetime64_any_dtype(frame[column])
    ]
    safe = frame.assign(**{str(column): frame[column].map(neutralise) for column in text})
    return safe.to_csv(index=False, date_format="%Y-%m-%d").encode("utf-8")


def excel_bytes(frame: pd.DataFrame) -> bytes:
    """The table as CSV for Excel with Nordic settings (``avtale.csv_export.excel_csv``):
    the amounts in ``MONEY_COLUMNS`` rounded to øre."""
    values = frame.astype(object).where(frame.notna(), None)
    rows = values.itertuples(index=False, name=None)
    return excel_csv([str(column) for column in frame.columns], rows, MONEY_COLUMNS)


def scope_filters() -> dict[str, tuple[str, ...]]:
    """The sidebar's filters, for a download's file name."""
    scope = current_scope()
    return {"owner": scope.owners, "country": scope.countries, "currency": scope.currencies}


def downloads(
    frame: pd.DataFrame,
    name: str,
    key: str,
    filters: Mapping[str, Sequence[str]],
    **button: Any,
) -> None:
    """Two download buttons for ``frame``: plain CSV (key ``<key>_csv``) and CSV for Excel
    (``<key>_excel``), named ``name`` with ``filters`` appended."""
    common: dict[str, Any] = {
        "mime": "text/csv",
        "icon": ":material/download:",
        "on_click": "ignore",
    } | button
    with st.container(horizontal=True):
        st.download_button(
            "Download CSV",
            csv_bytes(frame),
            file_name=file_name(name, filters),
            key=f"{key}_csv",
            help="Comma-separated, decimal point, numbers unrounded: for scripts and tools.",
            **common,
        )
        st.download_button(
            "CSV for Excel",
            excel_bytes(frame),
            file_name=file_name(name, filters, suffix="_excel.csv"),
            key=f"{key}_excel",
            help="Semicolon-separated, decimal comma, amounts rounded to øre: opens as a "
            "table in Excel with Norwegian, Swedish or Danish settings.",
            **common,
        )


def show(figure: go.Figure, frame: pd.DataFrame, name: str, key: str, **plotly: Any) -> Any:
    """Draw ``figure`` (widget key ``key``) and the downloads of ``frame`` under it (keys
    ``<key>_csv`` and ``<key>_excel``); returns what ``st.plotly_chart`` returns (the
    selection)."""
    # The axes and hover texts use the user's locale's decimal and group separators.
    figure.update_layout(**fmt.plotly_layout())
    shown = st.plotly_chart(figure, key=key, config=config(name), **plotly)
    downloads(frame, name, key, scope_filters(), type="tertiary")
    return shown


def iso(month: date | pd.Timestamp) -> str:
    return f"{month:%Y-%m-%d}"


# SPEC IX wording, one click away from every tile that shows the metric.
DEFINITIONS = {
    "mrr": "Monthly recurring revenue, a month-end snapshot (SPEC IX M1-M3): each customer's "
    "recurring lines active on the month's last day, quantity x unit price x (1 - discount % "
    "/ 100) / months per billing period, net of VAT, in NOK at the constant planning rate. "
    "One-off lines and setup fees are not MRR.",
    "arr": "ARR = 12 x MRR (SPEC IX M5).",
    "arpa": "ARPA = MRR / customers with MRR (SPEC IX M5).",
    "ltv": "LTV = ARPA / average logo churn of the last 3 months (SPEC IX M5); logo churn = "
    "customers churned in M / customers with MRR at end of M-1.",
    "customers": "Customers with MRR at the end of the month (SPEC IX M2-M3).",
    "non_recurring_revenue": "One-off lines and setup fees are not MRR; they are non-recurring "
    "revenue (SPEC IX M1), counted in the month the line starts.",
    "net_new_mrr": "Net new MRR = the sum of movements (new, reactivation, expansion, "
    "contraction, churn) = total MRR(M) - total MRR(M-1), exactly (SPEC IX M4).",
    "quick_ratio": "Quick ratio = (new + expansion + reactivation MRR) / |contraction + churn "
    "MRR| in the month; above 1 the month gained more than it lost. Not defined in SPEC IX: "
    "the usual SaaS quick ratio, on the movements of M4.",
    "logo_churn_rate": "Logo churn = customers churned in M / customers with MRR at end of M-1 "
    "(SPEC IX M5).",
    "gross_revenue_churn_rate": "Gross revenue churn = -(churn + contraction) / MRR(M-1) "
    "(SPEC IX M5).",
    "nrr_12m": "NRR over 12 months = MRR now of customers with MRR 12 months ago / their MRR "
    "then (SPEC IX M5).",
}


def complete_months(series: pd.DataFrame) -> pd.DataFrame:
    """The actual months that have ended. The last actual month is the running one (its
    month-end snapshot is what signed contracts say it will be), so it is left out unless
    it is the only one."""
    actual = series[~series.is_future]
    return actual.iloc[:-1] if len(actual) > 1 else actual


def now_label(series: pd.DataFrame) -> str:
    """Every dashboard's one "now", in words: its headline numbers are of the latest
    complete month, and the running month is named as such (charts mark it partial)."""
    latest = complete_months(series).month.iloc[-1]
    running = series[~series.is_future].month.iloc[-1]
    text = f"{fmt.month(latest)}, the latest complete month"
    return text + (f" ({fmt.month(running)} is still running)" if running != latest else "")


def mark_running(figure: go.Figure, series: pd.DataFrame) -> go.Figure:
    """Shade the running month on a monthly chart and say it is partial."""
    actual = series[~series.is_future]
    if len(actual) > 1:
        running = pd.Timestamp(actual.month.iloc[-1])
        figure.add_vrect(
            x0=running - pd.Timedelta(days=14),
            x1=running + pd.Timedelta(days=14),
            fillcolor="#9e9e9e",
            opacity=0.12,
            line_width=0,
            annotation_text="running",
            annotation_position="top left",
        )
    return figure
