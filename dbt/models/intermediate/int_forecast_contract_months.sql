-- Contracted MRR per contract for each month after the current one (SPEC IX
-- M8): signed lines only, by the month-end snapshot of int_line_months (M2), so
-- future-dated lines start, lines that end without auto-renewal drop out and
-- auto-renewing ones go on. Adjusted MRR adds the scheduled price adjustments:
-- the contract's percent on its next adjustment date and every 12 months after,
-- compounding, from the first month whose last day is on or after the date.
--
-- Incremental, as customer_months: a refresh after new loads or app writes deletes and
-- computes again only the customers whose int_forecast_inputs changed; a whole build
-- passes --full-refresh. On Spark a table built whole.
-- depends_on: {{ ref('int_forecast_inputs') }}
{{ config(
    materialized=incremental_or_table(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ computed_again('customer_id', 'int_forecast_inputs') }}{% endif %}",
    post_hook="{{ keep_built_from('int_forecast_inputs') }}",
) }}

with

lines as (
    select * from {{ ref('int_contract_lines_normalised') }}
    where is_recurring
    {%- if is_incremental() %}
        and {{ computed_again('customer_id', 'int_forecast_inputs') }}
    {%- endif %}
),

months as (
    select * from {{ ref('int_forecast_months') }}
    where not is_actual
),

pricing as (
    select * from {{ ref('int_contract_pricing_dated') }}
    where price_adjustment_rule <> 'none'
        and price_adjustment_pct is not null
        and next_price_adjustment_date is not null
),

line_months as (
    -- The month-end rule of int_line_months, on the forecast's own spine.
    select
        lines.contract_id,
        lines.customer_id,
        months.month,
        months.month_end,
        {{ mrr_at_month_end('lines', 'months.month_end') }} as mrr
    from lines
    inner join months
        on {{ counts_at_month_end('lines.start_date', 'lines.end_date', 'months.month_end') }}
),

contract_months as (
    select
        line_months.contract_id,
        line_months.customer_id,
        line_months.month,
        line_months.month_end,
        sum(line_months.mrr) as contracted_mrr
    from line_months
    group by line_months.contract_id, line_months.customer_id, line_months.month, line_months.month_end
),

adjustment_dates as (
    -- Anniversaries of the next adjustment date still ahead of today; three
    -- years past today cover the 24-month horizon.
    {% set years_past = date_diff('year', 'pricing.next_price_adjustment_date', as_of_date()) -%}
    select
        pricing.contract_id,
        pricing.price_adjustment_pct,
        (pricing.next_price_adjustment_date + {{ to_months('12 * years.n') }})::date as adjustment_date
    from pricing
    cross join {{ lateral() }} {{ series('0', '3 + greatest(0, ' ~ years_past ~ ')') }} as years (n)
    where pricing.next_price_adjustment_date + {{ to_months('12 * years.n') }} > {{ as_of_date() }}
),

adjustments_counted as (
    select
        contract_months.contract_id,
        contract_months.month,
        count(adjustment_dates.adjustment_date) as adjustments,
        any_value(adjustment_dates.price_adjustment_pct) as price_adjustment_pct
    from contract_months
    inner join adjustment_dates
        on contract_months.contract_id = adjustment_dates.contract_id
        and contract_months.month_end >= adjustment_dates.adjustment_date
    group by contract_months.contract_id, contract_months.month
),

adjusted as (
    select
        contract_months.contract_id,
        contract_months.customer_id,
        contract_months.month,
        contract_months.contracted_mrr,
        -- Powers of 1.03 and the like are noisy: denoised as customer_months.
        case
            when adjustments_counted.adjustments is null then contract_months.contracted_mrr
            else {{ mrr_denoised(
                'contract_months.contracted_mrr * power(
                    1 + adjustments_counted.price_adjustment_pct / 100,
                    adjustments_counted.adjustments
                )'
            ) }}
        end as adjusted_mrr
    from contract_months
    left join adjustments_counted
        on contract_months.contract_id = adjustments_counted.contract_id
        and contract_months.month = adjustments_counted.month
)

select * from adjusted
