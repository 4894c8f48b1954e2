-- MRR ahead (SPEC IX M8): one row per month, the last 12 actual months and the
-- 24 after the current one, with contracted MRR (signed terms only), the same
-- with scheduled price adjustments, the linear trend and its 80 % band, and the
-- invoicing the billing schedule expects. Actual months show actual MRR as
-- contracted and adjusted MRR, so the lines join up.
with

trend as (
    select * from {{ ref('int_forecast_trend_projected') }}
),

contract_months as (
    select * from {{ ref('int_forecast_contract_months') }}
),

invoices as (
    select * from {{ ref('int_forecast_invoices_scheduled') }}
),

contracted as (
    select
        contract_months.month,
        sum(contract_months.contracted_mrr) as contracted_mrr,
        sum(contract_months.adjusted_mrr) as adjusted_mrr
    from contract_months
    group by contract_months.month
),

invoiced as (
    select
        invoices.month,
        sum(invoices.amount) as expected_invoicing
    from invoices
    group by invoices.month
),

joined as (
    select
        trend.month,
        trend.is_actual,
        trend.actual_mrr,
        case when trend.is_actual then trend.actual_mrr
            else coalesce(contracted.contracted_mrr, 0)
        end as contracted_mrr,
        case when trend.is_actual then trend.actual_mrr
            else coalesce(contracted.adjusted_mrr, 0)
        end as adjusted_mrr,
        trend.trend_mrr,
        trend.trend_low,
        trend.trend_high,
        coalesce(invoiced.expected_invoicing, 0) as expected_invoicing
    from trend
    left join contracted
        on trend.month = contracted.month
    left join invoiced
        on trend.month = invoiced.month
)

select * from joined
