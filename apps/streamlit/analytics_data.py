"""The queries of the leadership analytics pages (SPEC IX M5-M10), on the published marts.

Same rules as data.py: plain, hashable arguments (the serving file, its version, the
sidebar filters as tuples, empty = everyone), named parameters, never formatted values,
no UI, sums and counts in DuckDB. A mart with its own ``owner`` and ``country`` columns
is filtered on those; the currency filter goes through ``customers.currency``. Marts
without those columns (``mrr_forecast``; ``cohort_retention`` has no currency) say so
on their page.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import streamlit as st
from data import SCOPED_CUSTOMERS, TTL, Filters, _filters, _query

from avtale.serving import connect_serving

Grain = Literal["month", "quarter", "year"]
Segment = Literal["country", "owner"]
Dimension = Literal["owner", "country", "product"]

METRIC_COLUMNS = """
    month, mrr, arr, customers, new_mrr, expansion_mrr, reactivation_mrr,
    contraction_mrr, churn_mrr, net_new_mrr, new_customers, churned_customers,
    reactivated_customers, logo_churn_rate, gross_revenue_churn_rate, arpa, nrr_12m,
    ltv, quick_ratio, non_recurring_revenue, is_future"""

METRICS = f"select {METRIC_COLUMNS} from monthly_metrics order by month"

# monthly_metrics' definitions (dbt/models/marts/monthly_metrics.sql) over the filtered
# customers only; with every customer in scope it gives the mart's numbers (tested).
SCOPED_METRICS = f"""
with {SCOPED_CUSTOMERS},

months as (
    select month, is_future from monthly_metrics
),

scoped_months as materialized (
    -- The 12-months-later self-join below is most of this query's time at 100k
    -- customers; on one integer per customer-month it is several times faster than on
    -- (customer_id text, month date).
    select
        -- customer and month in one integer: the self-join hashes a single number
        customer_keys.customer_key * 100000
            + year(customer_months.month) * 12 + month(customer_months.month) as row_key,
        customer_months.month,
        customer_months.mrr
    from customer_months
    inner join (
        select customer_id, row_number() over () as customer_key from scoped_customers
    ) as customer_keys on customer_months.customer_id = customer_keys.customer_id
),

totals as (
    select
        scoped_months.month,
        sum(scoped_months.mrr) as mrr,
        count(*) filter (where scoped_months.mrr > 0) as customers
    from scoped_months
    group by scoped_months.month
),

movements as (
    select
        mrr_movements.month,
        sum(amount) filter (where movement = 'new') as new_mrr,
        sum(amount) filter (where movement = 'expansion') as expansion_mrr,
        sum(amount) filter (where movement = 'reactivation') as reactivation_mrr,
        sum(amount) filter (where movement = 'contraction') as contraction_mrr,
        sum(amount) filter (where movement = 'churn') as churn_mrr,
        count(*) filter (where movement = 'new') as new_customers,
        count(*) filter (where movement = 'churn') as churned_customers,
        count(*) filter (where movement = 'reactivation') as reactivated_customers
    from mrr_movements
    inner join scoped_customers on mrr_movements.customer_id = scoped_customers.customer_id
    group by mrr_movements.month
),

retained as (
    select
        (base.month + interval 12 month)::date as month,
        sum(base.mrr) as base_mrr_12m,
        sum(coalesce(later.mrr, 0)) as retained_mrr_12m
    from scoped_months as base
    left join (
        -- a month without MRR adds nothing: leaving it out shrinks the hash table
        select scoped_months.row_key, scoped_months.mrr from scoped_months
        where scoped_months.mrr > 0
    ) as later on later.row_key = base.row_key + 12
    where base.mrr > 0
    group by base.month
),

non_recurring as (
    select
        date_trunc('month', contract_lines.start_date)::date as month,
        sum(contract_lines.non_recurring_amount) as non_recurring_revenue
    from contract_lines
    inner join scoped_customers on contract_lines.customer_id = scoped_customers.customer_id
    where not contract_lines.is_recurring
    group by 1
),

joined as (
    select
        months.month,
        months.is_future,
        coalesce(totals.mrr, 0)::double as mrr,
        coalesce(totals.customers, 0) as customers,
        coalesce(movements.new_mrr, 0)::double as new_mrr,
        coalesce(movements.expansion_mrr, 0)::double as expansion_mrr,
        coalesce(movements.reactivation_mrr, 0)::double as reactivation_mrr,
        coalesce(movements.contraction_mrr, 0)::double as contraction_mrr,
        coalesce(movements.churn_mrr, 0)::double as churn_mrr,
        coalesce(movements.new_customers, 0) as new_customers,
        coalesce(movements.churned_customers, 0) as churned_customers,
        coalesce(movements.reactivated_customers, 0) as reactivated_customers,
        retained.base_mrr_12m,
        retained.retained_mrr_12m,
        coalesce(non_recurring.non_recurring_revenue, 0)::double as non_recurring_revenue,
        coalesce(lag(totals.mrr) over (order by months.month), 0) as previous_mrr,
        coalesce(lag(totals.customers) over (order by months.month), 0) as previous_customers
    from months
    left join totals on months.month = totals.month
    left join movements on months.month = movements.month
    left join retained on months.month = retained.month
    left join non_recurring on months.month = non_recurring.month
),

rated as (
    select
        *,
        12 * mrr as arr,
        new_mrr + expansion_mrr + reactivation_mrr + contraction_mrr + churn_mrr
            as net_new_mrr,
        churned_customers / nullif(previous_customers, 0) as logo_churn_rate,
        -(churn_mrr + contraction_mrr) / nullif(previous_mrr, 0) as gross_revenue_churn_rate,
        mrr / nullif(customers, 0) as arpa,
        retained_mrr_12m / nullif(base_mrr_12m, 0) as nrr_12m,
        (mrr / nullif(customers, 0)) / nullif(avg(churned_customers / nullif(previous_customers, 0))
            over (order by month rows between 2 preceding and current row), 0) as ltv,
        (new_mrr + expansion_mrr + reactivation_mrr)
            / nullif(abs(churn_mrr + contraction_mrr), 0) as quick_ratio
    from joined
)

select {METRIC_COLUMNS} from rated order by month
"""


EVERYONE_IN_SCOPE = f"""
with {SCOPED_CUSTOMERS}
select (select count(*) from scoped_customers) = (select count(*) from customers)
"""


def in_scope(table: str) -> str:
    """The sidebar filters on a mart with owner, country and customer_id columns.
    ``table`` is an alias written in this module, never user input."""
    return f"""(len($owners::varchar[]) = 0 or list_contains($owners::varchar[], {table}.owner))
    and (len($countries::varchar[]) = 0 or list_contains($countries::varchar[], {table}.country))
    and (len($currencies::varchar[]) = 0 or {table}.customer_id in (
        select customers.customer_id from customers
        where list_contains($currencies::varchar[], customers.currency)))"""


CHURN_REASONS = f"""
select
    churn_events.reason,
    count(*) as customers,
    -sum(churn_events.amount)::double as mrr_lost
from churn_events
where not churn_events.is_future
    and churn_events.month between $start and $end
    and {in_scope("churn_events")}
group by churn_events.reason
order by mrr_lost desc, churn_events.reason
"""

CHURNED_CUSTOMERS = f"""
select
    customers.name as customer,
    churn_events.month,
    churn_events.owner,
    churn_events.country,
    churn_events.industry,
    churn_events.reason,
    churn_events.reason_source,
    churn_events.amount::double as amount
from churn_events
left join customers on churn_events.customer_id = customers.customer_id
where not churn_events.is_future
    and churn_events.month between $start and $end
    and ($reason::varchar is null or churn_events.reason = $reason)
    and {in_scope("churn_events")}
order by churn_events.amount, customers.name
"""

COHORTS = """
select
    date_trunc($grain, cohort_month)::date as cohort,
    months_since_start,
    sum(cohort_customers)::bigint as cohort_customers,
    sum(cohort_start_mrr)::double as cohort_start_mrr,
    sum(active_customers)::bigint as active_customers,
    sum(mrr)::double as mrr,
    sum(active_customers) / sum(cohort_customers) as logo_retention,
    sum(mrr) / nullif(sum(cohort_start_mrr), 0) as revenue_retention
from cohort_retention
where (len($owners::varchar[]) = 0 or list_contains($owners::varchar[], owner))
    and (len($countries::varchar[]) = 0 or list_contains($countries::varchar[], country))
    and ($segment::varchar is null
        or (case $segment when 'country' then country else owner end) = $value)
group by all
order by cohort, months_since_start
"""

MOVEMENT_SUMS = """
    coalesce(sum(amount) filter (where movement = 'new'), 0)::double as new,
    coalesce(sum(amount) filter (where movement = 'expansion'), 0)::double as expansion,
    coalesce(sum(amount) filter (where movement = 'reactivation'), 0)::double as reactivation,
    coalesce(sum(amount) filter (where movement = 'contraction'), 0)::double as contraction,
    coalesce(sum(amount) filter (where movement = 'churn'), 0)::double as churn,
    sum(amount)::double as net_new"""

# Customer movements (SPEC IX M4) by the customer's owner or country.
MOVEMENTS_BY_CUSTOMER = f"""
with {SCOPED_CUSTOMERS}

select
    coalesce(case $dimension when 'owner' then scoped_customers.owner
        else scoped_customers.country end, '(none)') as segment,
    {MOVEMENT_SUMS}
from mrr_movements
inner join scoped_customers on mrr_movements.customer_id = scoped_customers.customer_id
where not mrr_movements.is_future and mrr_movements.month between $start and $end
group by all
order by net_new desc, segment
"""

MOVEMENTS_BY_PRODUCT = f"""
select
    coalesce(product_mrr_movements.product, '(none)') as segment,
    {MOVEMENT_SUMS}
from product_mrr_movements
where not product_mrr_movements.is_future
    and product_mrr_movements.month between $start and $end
    and {in_scope("product_mrr_movements")}
group by all
order by net_new desc, segment
"""

FORECAST = """
select
    month, is_actual, actual_mrr, contracted_mrr, adjusted_mrr, trend_mrr, trend_low,
    trend_high, expected_invoicing
from mrr_forecast
order by month
"""

HEALTH_SUMMARY = f"""
select
    count(*) as contracts,
    count(*) filter (where status = 'healthy') as healthy,
    count(*) filter (where status = 'at_risk') as at_risk,
    coalesce(sum(contract_mrr) filter (where status = 'at_risk'), 0)::double as at_risk_mrr,
    coalesce(sum(revenue_at_risk), 0)::double as revenue_at_risk,
    coalesce(sum(upsell_mrr), 0)::double as upsell_mrr,
    coalesce(sum(margin_potential), 0)::double as margin_potential
from contract_health
where {in_scope("contract_health")}
"""

AT_RISK = f"""
select
    contract_id, customer_name, owner, country, next_action_date, conditions, signal_count,
    contract_mrr::double as contract_mrr, revenue_at_risk::double as revenue_at_risk,
    upsell_mrr::double as upsell_mrr, margin_potential::double as margin_potential
from contract_health
where status = 'at_risk' and {in_scope("contract_health")}
order by next_action_date, revenue_at_risk desc, contract_mrr desc, contract_id
"""

# At-risk contracts by the week (Monday) of their next action: contract MRR where the
# contract may be lost (revenue_at_risk) apart from the rest (upsell, price, discounts).
ACTION_WEEKS = f"""
select
    date_trunc('week', next_action_date)::date as week,
    count(*) as contracts,
    sum(revenue_at_risk)::double as churn_risk_mrr,
    sum(contract_mrr - revenue_at_risk)::double as other_mrr,
    sum(upsell_mrr)::double as upsell_mrr
from contract_health
where status = 'at_risk' and next_action_date is not null and {in_scope("contract_health")}
group by all
order by week
"""

SIGNALS = """
select label, due_date, detail, amount::double as amount, condition
from contract_health_signals
where contract_id = $contract_id
order by due_date, label
"""


def _scoped(owners: Filters, countries: Filters, currencies: Filters, **params: Any) -> dict:
    return _filters(owners, countries, currencies) | params


@st.cache_data(ttl=TTL)
def metrics(
    serving: str, version: int, owners: Filters, countries: Filters, currencies: Filters
) -> pd.DataFrame:
    """One row per month with every monthly_metrics KPI (SPEC IX M5), for the filtered
    customers; unfiltered, the mart's own row."""
    if not (owners or countries or currencies):
        return _query(serving, METRICS)
    params = _filters(owners, countries, currencies)
    con = connect_serving(Path(serving))
    try:
        # Every value ticked is no filter at all: the mart has it ready, while summing it
        # afresh costs ~350 ms at 100k customers (the NRR self-join).
        row = con.execute(EVERYONE_IN_SCOPE, params).fetchone()
        if row and row[0]:
            return con.execute(METRICS).df()
        return con.execute(SCOPED_METRICS, params).df()
    finally:
        con.close()


@st.cache_data(ttl=TTL)
def churn_reasons(
    serving: str,
    version: int,
    start: date,
    end: date,
    owners: Filters,
    countries: Filters,
    currencies: Filters,
) -> pd.DataFrame:
    """Churned customers and MRR lost (positive) per reason, months ``start``..``end``."""
    params = _scoped(owners, countries, currencies, start=start, end=end)
    return _query(serving, CHURN_REASONS, params)


@st.cache_data(ttl=TTL)
def churned_customers(
    serving: str,
    version: int,
    start: date,
    end: date,
    reason: str | None,
    owners: Filters,
    countries: Filters,
    currencies: Filters,
) -> pd.DataFrame:
    """The churn events behind a period and reason (``None`` = every reason), largest first."""
    params = _scoped(owners, countries, currencies, start=start, end=end, reason=reason)
    return _query(serving, CHURNED_CUSTOMERS, params)


@st.cache_data(ttl=TTL)
def cohorts(
    serving: str,
    version: int,
    grain: Grain,
    segment: Segment | None,
    value: str | None,
    owners: Filters,
    countries: Filters,
) -> pd.DataFrame:
    """Cohorts of ``grain`` by months since start, with logo and revenue retention
    (SPEC IX M6); ``segment``/``value`` keep one country or owner (None = all)."""
    params = {
        "grain": grain,
        "segment": segment,
        "value": value,
        "owners": list(owners),
        "countries": list(countries),
    }
    return _query(serving, COHORTS, params)


@st.cache_data(ttl=TTL)
def movements_by(
    serving: str,
    version: int,
    dimension: Dimension,
    start: date,
    end: date,
    owners: Filters,
    countries: Filters,
    currencies: Filters,
) -> pd.DataFrame:
    """MRR movements of months ``start``..``end`` summed per owner, country or product."""
    params = _scoped(owners, countries, currencies, start=start, end=end)
    if dimension == "product":
        return _query(serving, MOVEMENTS_BY_PRODUCT, params)
    return _query(serving, MOVEMENTS_BY_CUSTOMER, params | {"dimension": dimension})


@st.cache_data(ttl=TTL)
def forecast(serving: str, version: int) -> pd.DataFrame:
    """The last 12 actual months and 24 ahead: contracted, adjusted, trend and band,
    expected invoicing (SPEC IX M8). The whole portfolio: the mart has no segments."""
    return _query(serving, FORECAST)


@st.cache_data(ttl=TTL)
def health_summary(
    serving: str, version: int, owners: Filters, countries: Filters, currencies: Filters
) -> dict[str, Any]:
    """Active contracts healthy and at risk, and the money behind them (SPEC IX M9-M10)."""
    rows = _query(serving, HEALTH_SUMMARY, _filters(owners, countries, currencies))
    return rows.to_dict("records")[0]  # records keep each column's type: counts stay ints


@st.cache_data(ttl=TTL)
def at_risk_contracts(
    serving: str, version: int, owners: Filters, countries: Filters, currencies: Filters
) -> pd.DataFrame:
    """Contracts at risk, the next action first."""
    return _query(serving, AT_RISK, _filters(owners, countries, currencies))


@st.cache_data(ttl=TTL)
def action_weeks(
    serving: str, version: int, owners: Filters, countries: Filters, currencies: Filters
) -> pd.DataFrame:
    """At-risk contracts and their MRR per week of the next action date."""
    return _query(serving, ACTION_WEEKS, _filters(owners, countries, currencies))


@st.cache_data(ttl=TTL)
def contract_signals(serving: str, version: int, contract_id: str) -> pd.DataFrame:
    """The health conditions that hold for one contract, the soonest first."""
    return _query(serving, SIGNALS, {"contract_id": contract_id})
