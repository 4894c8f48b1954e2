-- The forecast's own month spine (SPEC IX M8): the last 12 months up to the
-- current one and the 24 after it, whatever horizon customer_months reaches.
with

bounds as (
    select
        date_trunc('month', {{ as_of_date() }})::date as current_month
),

months as (
    select
        {{ series(
            'bounds.current_month - interval 11 month',
            'bounds.current_month + interval 24 month',
            'interval 1 month',
            cast='date'
        ) }} as month,
        bounds.current_month
    from bounds
),

described as (
    select
        months.month,
        last_day(months.month) as month_end,
        {{ date_diff('month', 'months.current_month', 'months.month') }}::integer as months_ahead,
        months.month <= months.current_month as is_actual
    from months
)

select * from described
