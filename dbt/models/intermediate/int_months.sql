-- The month spine: from the first month any recurring line starts to the
-- horizon (the current month, or later when signed terms start or end later).
with

lines as (
    select * from {{ ref('int_contract_lines_normalised') }}
    where is_recurring and start_date is not null
),

bounds as (
    select
        min(date_trunc('month', lines.start_date))::date as first_month,
        least(
            greatest(
                date_trunc('month', {{ as_of_date() }}),
                max(date_trunc('month', lines.start_date)),
                max(date_trunc('month', lines.end_date) + interval 1 month)
            ),
            date_trunc('month', {{ as_of_date() }}) + {{ to_months(var('horizon_max_months')) }}
        )::date as last_month
    from lines
),

months as (
    select
        {{ series('bounds.first_month', 'bounds.last_month', 'interval 1 month', cast='date') }}
            as month
    from bounds
    where bounds.first_month is not null
),

described as (
    select
        months.month,
        last_day(months.month) as month_end,
        months.month > date_trunc('month', {{ as_of_date() }}) as is_future
    from months
)

select * from described
