"""The monthly metrics of the sidebar's selection (SPEC IX M3-M5), for the MRR overview,
KPI, churn and sales team pages.

Unfiltered, a page reads ``monthly_metrics`` itself. Filtered, the components of the
additive mart ``monthly_segments`` are summed over the selected segments in DuckDB and
rated by ``avtale.metrics``, the one Python definition of the rates (tested equal to the
mart's dbt macro); no rate is written here.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from avtale import metrics as definitions
from common.marts_reads import TTL, Filters, filter_params, query, segment_filter

# What the MRR overview draws, per month.
MONTHLY_SERIES = [
    "month",
    "mrr",
    "arr",
    "customers",
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churn_mrr",
    "net_new_mrr",
    "is_future",
]
MONTHLY_METRICS = f"select {', '.join(MONTHLY_SERIES)} from monthly_metrics order by month"

# What the KPI, churn and sales team pages read of monthly_metrics, per month.
METRIC_COLUMNS = [
    "month",
    "mrr",
    "arr",
    "customers",
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churn_mrr",
    "net_new_mrr",
    "new_customers",
    "churned_customers",
    "reactivated_customers",
    "logo_churn_rate",
    "gross_revenue_churn_rate",
    "arpa",
    "nrr_12m",
    "ltv",
    "quick_ratio",
    "non_recurring_revenue",
    "is_future",
]
METRICS = f"select {', '.join(METRIC_COLUMNS)} from monthly_metrics order by month"


def _summed(component: str) -> str:
    kind = "bigint" if component in definitions.COUNTS else "double"
    return f"coalesce(sum(picked.{component}), 0)::{kind} as {component}"


# The components of monthly_metrics over the selected segments only, for every month of
# the mart (a month without them is 0: the next month's rates look back at it).
SEGMENT_COMPONENTS = f"""
with picked as (
    select * from monthly_segments
    where {segment_filter("monthly_segments")}
)

select
    monthly_metrics.month,
    monthly_metrics.is_future,
    {", ".join(_summed(component) for component in definitions.COMPONENTS)}
from monthly_metrics
left join picked on monthly_metrics.month = picked.month
group by monthly_metrics.month, monthly_metrics.is_future
order by monthly_metrics.month
"""

SCOPED_CUSTOMERS = f"""
scoped_customers as (
    select customers.customer_id, customers.name, customers.country, customers.owner
    from customers
    where {segment_filter("customers")}
)"""

MOVEMENT_CUSTOMERS = f"""
with {SCOPED_CUSTOMERS},

picked as (
    select
        scoped_customers.name as customer,
        scoped_customers.country,
        scoped_customers.owner,
        mrr_movements.movement,
        mrr_movements.previous_mrr::double as previous_mrr,
        mrr_movements.mrr::double as mrr,
        mrr_movements.amount::double as amount
    from mrr_movements
    inner join scoped_customers
        on mrr_movements.customer_id = scoped_customers.customer_id
    where mrr_movements.month = $month
        and ($movement::varchar is null or mrr_movements.movement = $movement)
)

select * from picked order by abs(amount) desc, customer
"""


def segment_metrics(
    serving: str, owners: Filters, countries: Filters, currencies: Filters
) -> pd.DataFrame:
    """monthly_metrics' columns for the selected segments: their components summed here,
    rated by ``avtale.metrics`` (the definitions of the mart's dbt macro)."""
    components = query(serving, SEGMENT_COMPONENTS, filter_params(owners, countries, currencies))
    return definitions.monthly_metrics(components)


@st.cache_data(ttl=TTL)
def monthly_series(
    serving: str, version: int, owners: Filters, countries: Filters, currencies: Filters
) -> pd.DataFrame:
    """One row per month: MRR, ARR, customers with MRR, each movement's sum, net new MRR.
    Filtered, from the selection's first month with MRR."""
    if not (owners or countries or currencies):
        return query(serving, MONTHLY_METRICS)
    series = segment_metrics(serving, owners, countries, currencies)
    started = series.customers.gt(0).cummax()
    return series.loc[started, MONTHLY_SERIES].reset_index(drop=True)


@st.cache_data(ttl=TTL)
def metrics(
    serving: str, version: int, owners: Filters, countries: Filters, currencies: Filters
) -> pd.DataFrame:
    """One row per month with every monthly_metrics KPI (SPEC IX M5), for the filtered
    customers' segments; unfiltered, the mart's own row."""
    if not (owners or countries or currencies):
        return query(serving, METRICS)
    return segment_metrics(serving, owners, countries, currencies)[METRIC_COLUMNS]


@st.cache_data(ttl=TTL)
def movement_customers(
    serving: str,
    version: int,
    month: date,
    movement: str | None,
    owners: Filters,
    countries: Filters,
    currencies: Filters,
) -> pd.DataFrame:
    """The customers behind one month's movement (``None`` = every movement), largest first."""
    params = filter_params(owners, countries, currencies) | {"month": month, "movement": movement}
    return query(serving, MOVEMENT_CUSTOMERS, params)
