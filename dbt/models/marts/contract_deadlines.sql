-- The dates that matter per contract and across the portfolio (SPEC VI A1): one
-- row per contract, deadline type and date, from `deadlines_lookback_days` ago
-- (recent misses still show) to `deadlines_horizon_months` ahead. Each source of
-- dates is its own intermediate model: the current term (expiry, notice,
-- renegotiation window, next renewal), the app's terms (lock-in end, price
-- adjustments) and discounts that end.
with

contracts as (
    select * from {{ ref('contracts') }}
),

customers as (
    select * from {{ ref('customers') }}
),

terms_dated as (
    select * from {{ ref('int_deadlines_terms_dated') }}
),

app_terms_dated as (
    select * from {{ ref('int_deadlines_app_terms_dated') }}
),

discounts_ending as (
    select * from {{ ref('int_deadlines_discounts_ending') }}
),

unioned as (
    select * from terms_dated
    union all
    select * from app_terms_dated
    union all
    select * from discounts_ending
),

windowed as (
    select
        unioned.contract_id,
        contracts.customer_id,
        customers.name as customer_name,
        contracts.owner,
        contracts.source_system,
        unioned.deadline_type,
        unioned.deadline_date,
        contracts.auto_renew,
        contracts.current_mrr::double as contract_mrr,
        unioned.mrr_at_stake::double as mrr_at_stake,
        unioned.detail,
    from unioned
    inner join contracts
        on unioned.contract_id = contracts.contract_id
    left join customers
        on contracts.customer_id = customers.customer_id
    where unioned.deadline_date >= {{ as_of_date() }} - to_days({{ var('deadlines_lookback_days') }})
        and unioned.deadline_date <= {{ as_of_date() }} + to_months({{ var('deadlines_horizon_months') }})
)

select * from windowed
