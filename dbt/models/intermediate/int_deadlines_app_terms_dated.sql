-- Deadlines that only app contracts carry terms for (SPEC II R2, VI A1): the end
-- of the lock-in, and the price adjustment on the next adjustment date and every
-- 12 months after, while the contract runs and within contract_deadlines' window.
-- A later adjustment is worth more: its MRR at stake compounds the earlier ones
-- still ahead, as mrr_forecast does.
with

app_versions as (
    select * from {{ ref('int_app_contract_versions_windowed') }}
    where is_current
),

app_contracts as (
    select * from {{ ref('stg_app__contracts') }}
),

contracts as (
    select * from {{ ref('int_contracts_unioned') }}
),

terms as (
    select
        contracts.contract_id,
        contracts.start_date,
        contracts.current_mrr,
        app_versions.lock_in_months,
        app_versions.price_adjustment_rule,
        case app_versions.price_adjustment_rule
            when 'fixed_pct' then app_versions.price_adjustment_pct
            when 'cpi' then {{ var('forecast_cpi_percent') }}
        end::double as price_adjustment_pct,
        app_versions.next_price_adjustment_date,
        -- The last day the contract runs; empty = it goes on (auto-renewing or open-ended).
        case
            when contracts.terminated_date is not null
                then coalesce(least(contracts.terminated_date, contracts.end_date), contracts.terminated_date)
            when not contracts.auto_renew then contracts.end_date
        end as runs_until
    from app_versions
    inner join app_contracts
        on app_versions.app_contract_id = app_contracts.app_contract_id
    inner join contracts
        on 'app:' || app_contracts.contract_number = contracts.contract_id
),

lock_in_ends as (
    -- A lock-in binds as a term does (SPEC XI).
    select
        terms.contract_id,
        'lock_in_end' as deadline_type,
        {{ term_end_date('terms.start_date', 'terms.lock_in_months') }} as deadline_date,
        terms.current_mrr as mrr_at_stake,
        terms.lock_in_months || '-month lock-in ends' as detail,
        terms.runs_until
    from terms
    where terms.lock_in_months > 0
),

adjustments_repeated as (
    -- Anniversaries counted from the next adjustment date itself, so 29 February
    -- gives 28 February in common years and 29 February again in leap years.
    {% set horizon_end = as_of_date() ~ ' + ' ~ to_months(var('deadlines_horizon_months')) -%}
    {% set years_to_horizon = date_diff('year', 'terms.next_price_adjustment_date', horizon_end) -%}
    select
        terms.contract_id,
        terms.price_adjustment_rule,
        terms.price_adjustment_pct,
        terms.current_mrr,
        terms.runs_until,
        (terms.next_price_adjustment_date + {{ to_months('12 * years.n') }})::date as adjustment_date
    from terms
    cross join {{ lateral() }} {{ series('0', '1 + ' ~ years_to_horizon) }} as years (n)
    where terms.price_adjustment_rule <> 'none'
        and terms.next_price_adjustment_date is not null
),

adjustments_in_window as (
    -- contract_deadlines' window, so the repeats stop at the horizon.
    select adjustments_repeated.* from adjustments_repeated
    where adjustments_repeated.adjustment_date
        >= {{ as_of_date() }} - {{ to_days(var('deadlines_lookback_days')) }}
        and adjustments_repeated.adjustment_date
        <= {{ as_of_date() }} + {{ to_months(var('deadlines_horizon_months')) }}
),

adjustments_compounded as (
    select
        adjustments_in_window.*,
        -- How many adjustments after today come before this one.
        coalesce(count(*) filter (where adjustments_in_window.adjustment_date > {{ as_of_date() }}) over (
            partition by adjustments_in_window.contract_id
            order by adjustments_in_window.adjustment_date
            rows between unbounded preceding and 1 preceding
        ), 0) as earlier_adjustments
    from adjustments_in_window
),

price_adjustments as (
    select
        adjustments_compounded.contract_id,
        'price_adjustment' as deadline_type,
        adjustments_compounded.adjustment_date as deadline_date,
        -- Rounded far below a cent, as mrr_forecast, only to drop the noise of
        -- powers of 1.1 and the like (round when presenting).
        {{ mrr_denoised(
            'adjustments_compounded.current_mrr
                * power(1 + adjustments_compounded.price_adjustment_pct / 100, adjustments_compounded.earlier_adjustments)
                * adjustments_compounded.price_adjustment_pct / 100'
        ) }} as mrr_at_stake,
        case adjustments_compounded.price_adjustment_rule
            when 'cpi'
                then 'CPI adjustment, assumed '
                    || {{ number_text('adjustments_compounded.price_adjustment_pct', '{:g}') }} || ' %'
            {%- set percent = number_text('adjustments_compounded.price_adjustment_pct', '{:g}') %}
            else 'Price adjustment of '
                || coalesce({{ percent }} || ' %', 'an unset percent')
        end as detail,
        adjustments_compounded.runs_until
    from adjustments_compounded
),

unioned as (
    select * from lock_in_ends
    union all
    select * from price_adjustments
),

running as (
    select
        unioned.contract_id,
        unioned.deadline_type,
        unioned.deadline_date,
        unioned.mrr_at_stake::double as mrr_at_stake,
        unioned.detail
    from unioned
    where unioned.runs_until is null or unioned.deadline_date <= unioned.runs_until
)

select * from running
