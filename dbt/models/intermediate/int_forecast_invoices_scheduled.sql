-- Invoices by the billing schedule of signed lines (SPEC VII B1, IX M8), within
-- the forecast's months: a recurring line bills quantity x unit price x (1 -
-- discount % / 100) for each billing period, on the day each period starts,
-- counted from the line's start (weekly every 7 days, biweekly every 14); a
-- one-off line bills once, on its start. A time-limited discount applies to the
-- periods that start while it runs. Converted at the planning rate.
--
-- Incremental as int_forecast_contract_months (by int_forecast_inputs).
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
    where start_date is not null
    {%- if is_incremental() %}
        and {{ computed_again('customer_id', 'int_forecast_inputs') }}
    {%- endif %}
),

months as (
    select * from {{ ref('int_forecast_months') }}
),

app_lines as (
    select * from {{ ref('stg_app__contract_lines') }}
),

bounds as (
    select
        min(months.month) as window_start,
        max(months.month_end) as window_end
    from months
),

lines_anchored as (
    -- An app line is cut per contract version; its periods still count from
    -- the start of its first version (line_no is its identity across versions).
    select
        lines.*,
        case
            when lines.source_system = 'app'
                then min(lines.start_date) over (
                        partition by lines.contract_id, app_lines.line_no
                    )
            else lines.start_date
        end as anchor_date
    from lines
    left join app_lines
        on lines.source_system = 'app'
        and lines.source_id = app_lines.app_line_id::string
),

anchored as (
    select
        lines_anchored.line_id,
        lines_anchored.contract_id,
        lines_anchored.customer_id,
        lines_anchored.quantity * lines_anchored.unit_price * lines_anchored.fx_rate as period_amount,
        lines_anchored.discount_percent,
        lines_anchored.discount_end_date,
        lines_anchored.anchor_date,
        case lines_anchored.billing_period when 'weekly' then 7 when 'biweekly' then 14 end as period_days,
        lines_anchored.billing_months,
        greatest(lines_anchored.start_date, bounds.window_start) as bill_from,
        least(coalesce(lines_anchored.end_date, bounds.window_end), bounds.window_end) as bill_to
    from lines_anchored
    cross join bounds
    where lines_anchored.is_recurring
        and (lines_anchored.billing_months > 0 or lines_anchored.billing_period in ('weekly', 'biweekly'))
),

periods_numbered as (
    -- Period k starts k periods after the anchor; only the k that can start
    -- between bill_from and bill_to are generated (one either side, then filtered).
    select
        anchored.*,
        {{ series(
            'greatest(0, coalesce('
            ~ int_div(date_diff('day', 'anchored.anchor_date', 'anchored.bill_from'), 'anchored.period_days') ~ ', '
            ~ int_div(date_diff('month', 'anchored.anchor_date', 'anchored.bill_from'), 'anchored.billing_months')
            ~ ') - 1)',
            'coalesce('
            ~ int_div(date_diff('day', 'anchored.anchor_date', 'anchored.bill_to'), 'anchored.period_days') ~ ', '
            ~ int_div(date_diff('month', 'anchored.anchor_date', 'anchored.bill_to'), 'anchored.billing_months')
            ~ ') + 1'
        ) }} as period_no
    from anchored
    where anchored.bill_from <= anchored.bill_to
),

periods_dated as (
    select
        periods_numbered.*,
        {% set days_on = 'periods_numbered.period_no * periods_numbered.period_days' -%}
        {% set months_on = 'periods_numbered.period_no * periods_numbered.billing_months' -%}
        case
            when periods_numbered.period_days is not null
                then periods_numbered.anchor_date + {{ to_days(days_on) }}
            else periods_numbered.anchor_date + {{ to_months(months_on) }}
        end::date as invoice_date
    from periods_numbered
),

recurring_invoices as (
    select
        periods_dated.line_id,
        periods_dated.contract_id,
        periods_dated.customer_id,
        periods_dated.invoice_date,
        case
            when periods_dated.discount_end_date is null
                or periods_dated.invoice_date <= periods_dated.discount_end_date
                then periods_dated.period_amount * (1 - periods_dated.discount_percent / 100)
            else periods_dated.period_amount
        end as amount
    from periods_dated
    where periods_dated.invoice_date between periods_dated.bill_from and periods_dated.bill_to
),

one_off_invoices as (
    select
        lines.line_id,
        lines.contract_id,
        lines.customer_id,
        lines.start_date as invoice_date,
        lines.non_recurring_amount as amount
    from lines
    cross join bounds
    where not lines.is_recurring
        and lines.start_date between bounds.window_start and bounds.window_end
),

unioned as (
    select * from recurring_invoices
    union all
    select * from one_off_invoices
),

monthed as (
    select
        unioned.*,
        date_trunc('month', unioned.invoice_date)::date as month
    from unioned
)

select * from monthed
