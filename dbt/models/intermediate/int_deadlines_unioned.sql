-- Every dated deadline of every contract (SPEC VI A1) in contract_deadlines' window:
-- from `deadlines_lookback_days` ago (recent misses still show) to
-- `deadlines_horizon_months` ahead. Each source of dates is its own model: the
-- current term (expiry, notice, renegotiation window, next renewal), the app's terms
-- (lock-in end, price adjustments) and discounts that end. The health checks read the
-- notice deadlines here, the contract_deadlines mart publishes them all.
with

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
    select unioned.* from unioned
    where unioned.deadline_date >= {{ as_of_date() }} - {{ to_days(var('deadlines_lookback_days')) }}
        and unioned.deadline_date <= {{ as_of_date() }} + {{ to_months(var('deadlines_horizon_months')) }}
)

select * from windowed
