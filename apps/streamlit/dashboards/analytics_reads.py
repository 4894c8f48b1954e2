"""The reads of the leadership analytics pages beyond the monthly metrics (SPEC IX M6-M10):
churn events, cohorts, movements by segment, forecast and portfolio health.

Same rules as common.marts_reads: plain, hashable arguments (the serving file, its version,
the sidebar filters as tuples, empty = everyone), named parameters, never formatted values,
no UI, sums and counts in DuckDB, rates from ``avtale.metrics``. The additive marts
(``monthly_segments``, ``monthly_product_segments``) carry the customer's owner, country
and currency; another mart with its own ``owner`` and ``country`` columns is filtered on
those, and on currency through ``customers.currency``. Marts without those columns
(``mrr_forecast``; ``cohort_retention`` has no currency) say so on their page.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import pandas as pd
import streamlit as st

from avtale import metrics as definitions
from common.marts_reads import TTL, Filters, filter_params, query, segment_filter

Grain = Literal["month", "quarter", "year"]
Segment = Literal["country", "owner"]
Dimension = Literal["owner", "country", "product"]


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
    sum(mrr)::double as mrr
from cohort_retention
where (len($owners::varchar[]) = 0 or list_contains($owners::varchar[], owner))
    and (len($countries::varchar[]) = 0 or list_contains($countries::varchar[], country))
    and ($segment::varchar is null
        or (case $segment when 'country' then country else owner end) = $value)
group by all
order by cohort, months_since_start
"""

# The movement columns of the additive marts, summed, as the sales team's charts name them.
MOVEMENT_SUMS = """
    sum(new_mrr)::double as new,
    sum(expansion_mrr)::double as expansion,
    sum(reactivation_mrr)::double as reactivation,
    sum(contraction_mrr)::double as contraction,
    sum(churn_mrr)::double as churn,
    sum(net_new_mrr)::double as net_new"""

# Customer movements (SPEC IX M4) by the customer's owner or country, segments that moved.
MOVEMENTS_BY_CUSTOMER = f"""
select
    coalesce(case $dimension when 'owner' then monthly_segments.owner
        else monthly_segments.country end, '(none)') as segment,
    {MOVEMENT_SUMS}
from monthly_segments
where not monthly_segments.is_future
    and monthly_segments.month between $start and $end
    and {segment_filter("monthly_segments")}
group by all
having sum(monthly_segments.moved_customers) > 0
order by net_new desc, segment
"""

MOVEMENTS_BY_PRODUCT = f"""
select
    coalesce(monthly_product_segments.product, '(none)') as segment,
    {MOVEMENT_SUMS}
from monthly_product_segments
where not monthly_product_segments.is_future
    and monthly_product_segments.month between $start and $end
    and {segment_filter("monthly_product_segments")}
group by all
having sum(monthly_product_segments.moved_customers) > 0
order by net_new desc, segment
"""

# Cash flow: the invoice register for the actual months (billed and collected to date,
# in the reporting currency at the planning rate), the billing schedule after them.
FORECAST = """
with register as (
    select
        monthly_billing.month,
        sum(monthly_billing.billed_net_reporting) as invoiced,
        sum(monthly_billing.collected_reporting) as collected
    from monthly_billing
    group by monthly_billing.month
)
select
    mrr_forecast.month, mrr_forecast.is_actual, mrr_forecast.actual_mrr,
    mrr_forecast.contracted_mrr, mrr_forecast.adjusted_mrr, mrr_forecast.trend_mrr,
    mrr_forecast.trend_low, mrr_forecast.trend_high, mrr_forecast.expected_invoicing,
    case when mrr_forecast.is_actual then coalesce(register.invoiced, 0) end::double as invoiced,
    case when mrr_forecast.is_actual then coalesce(register.collected, 0) end::double as collected
from mrr_forecast
left join register on mrr_forecast.month = register.month
order by mrr_forecast.month
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
    -- revenue_at_risk is the contract's MRR or 0 (a test of contract_health)
    coalesce(sum(contract_mrr) filter (where revenue_at_risk = 0), 0)::double as other_mrr,
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
    return filter_params(owners, countries, currencies) | params


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
    return query(serving, CHURN_REASONS, params)


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
    return query(serving, CHURNED_CUSTOMERS, params)


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
    return definitions.cohort_retention(query(serving, COHORTS, params))


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
        return query(serving, MOVEMENTS_BY_PRODUCT, params)
    return query(serving, MOVEMENTS_BY_CUSTOMER, params | {"dimension": dimension})


@st.cache_data(ttl=TTL)
def forecast(serving: str, version: int) -> pd.DataFrame:
    """The last 12 actual months and 24 ahead: contracted, adjusted, trend and band,
    expected invoicing (SPEC IX M8); for the actual months what the invoice register
    invoiced (net) and the bank collected. The whole portfolio: the marts have no segments."""
    return query(serving, FORECAST)


@st.cache_data(ttl=TTL)
def health_summary(
    serving: str, version: int, owners: Filters, countries: Filters, currencies: Filters
) -> dict[str, Any]:
    """Active contracts healthy and at risk, and the money behind them (SPEC IX M9-M10)."""
    rows = query(serving, HEALTH_SUMMARY, filter_params(owners, countries, currencies))
    return rows.to_dict("records")[0]  # records keep each column's type: counts stay ints


@st.cache_data(ttl=TTL)
def at_risk_contracts(
    serving: str, version: int, owners: Filters, countries: Filters, currencies: Filters
) -> pd.DataFrame:
    """Contracts at risk, the next action first."""
    return query(serving, AT_RISK, filter_params(owners, countries, currencies))


@st.cache_data(ttl=TTL)
def action_weeks(
    serving: str, version: int, owners: Filters, countries: Filters, currencies: Filters
) -> pd.DataFrame:
    """At-risk contracts and their MRR per week of the next action date."""
    return query(serving, ACTION_WEEKS, filter_params(owners, countries, currencies))


@st.cache_data(ttl=TTL)
def contract_signals(serving: str, version: int, contract_id: str) -> pd.DataFrame:
    """The health conditions that hold for one contract, the soonest first."""
    return query(serving, SIGNALS, {"contract_id": contract_id})
