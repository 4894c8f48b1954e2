-- Actual MRR of the forecast's months and its linear trend (SPEC IX M8): least
-- squares over the last 12 actual months, projected forward with an 80 % band
-- of 1.28 residual standard deviations x sqrt(months ahead), so it widens.
with

months as (
    select * from {{ ref('int_forecast_months') }}
),

line_months as (
    -- The actual months of int_forecast_months, as constants so that the filter
    -- reaches the month spine inside the view instead of following all its rows.
    select * from {{ ref('int_line_months') }}
    where month between (date_trunc('month', {{ as_of_date() }}) - interval 11 month)::date
        and date_trunc('month', {{ as_of_date() }})::date
),

customer_mrr as (
    -- Valued as customer_months values a customer's month, so the actual MRR is
    -- monthly_metrics.mrr (a test of mrr_forecast holds them equal).
    select
        line_months.customer_id,
        line_months.month,
        {{ mrr_denoised('sum(line_months.mrr)') }} as mrr
    from line_months
    group by line_months.customer_id, line_months.month
),

monthly_mrr as (
    select
        customer_mrr.month,
        sum(customer_mrr.mrr) as mrr
    from customer_mrr
    group by customer_mrr.month
),

actuals as (
    -- A month before the first line has no MRR: 0.
    select
        months.month,
        months.months_ahead,
        months.is_actual,
        case when months.is_actual then coalesce(monthly_mrr.mrr, 0) end as actual_mrr
    from months
    left join monthly_mrr
        on months.month = monthly_mrr.month
),

trend_sums as (
    -- Least squares on x = months from the current month (-11 .. 0).
    select
        count(*) as n,
        sum(actuals.months_ahead) as sum_x,
        sum(actuals.actual_mrr) as sum_y,
        sum(actuals.months_ahead * actuals.months_ahead) as sum_xx,
        sum(actuals.months_ahead * actuals.actual_mrr) as sum_xy
    from actuals
    where actuals.is_actual
),

trend_fitted as (
    select
        trend_sums.n,
        (trend_sums.n * trend_sums.sum_xy - trend_sums.sum_x * trend_sums.sum_y)
        / nullif(trend_sums.n * trend_sums.sum_xx - trend_sums.sum_x * trend_sums.sum_x, 0)
            as slope,
        trend_sums.sum_x,
        trend_sums.sum_y
    from trend_sums
),

trend_line as (
    select
        trend_fitted.slope,
        (trend_fitted.sum_y - trend_fitted.slope * trend_fitted.sum_x) / trend_fitted.n as intercept,
        trend_fitted.n
    from trend_fitted
),

trend_spread as (
    -- Residual standard deviation with n - 2 degrees of freedom (two fitted parameters).
    select
        trend_line.slope,
        trend_line.intercept,
        sqrt(
            sum(power(actuals.actual_mrr - (trend_line.intercept + trend_line.slope * actuals.months_ahead), 2))
            / nullif(trend_line.n - 2, 0)
        ) as residual_sd
    from trend_line
    cross join actuals
    where actuals.is_actual
    group by trend_line.slope, trend_line.intercept, trend_line.n
),

projected as (
    select
        actuals.month,
        actuals.months_ahead,
        actuals.is_actual,
        actuals.actual_mrr,
        trend_spread.intercept + trend_spread.slope * actuals.months_ahead as trend_mrr,
        case when not actuals.is_actual
                then 1.28 * trend_spread.residual_sd * sqrt(actuals.months_ahead)
        end as band_half_width
    from actuals
    cross join trend_spread
),

banded as (
    select
        projected.month,
        projected.months_ahead,
        projected.is_actual,
        projected.actual_mrr,
        projected.trend_mrr,
        projected.trend_mrr - projected.band_half_width as trend_low,
        projected.trend_mrr + projected.band_half_width as trend_high
    from projected
)

select * from banded
