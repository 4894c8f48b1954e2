-- Portfolio totals, movements, rates and non-recurring revenue per month (SPEC IX
-- M3-M5): every segment of monthly_segments summed, rated by monthly_rates, the one
-- definition of the rates in dbt.
with

months as (
    select * from {{ ref('int_months') }}
),

monthly_segments as (
    select * from {{ ref('monthly_segments') }}
),

summed as (
    select
        monthly_segments.month,
        sum(monthly_segments.mrr) as mrr,
        sum(monthly_segments.customers) as customers,
        sum(monthly_segments.new_mrr) as new_mrr,
        sum(monthly_segments.expansion_mrr) as expansion_mrr,
        sum(monthly_segments.contraction_mrr) as contraction_mrr,
        sum(monthly_segments.churn_mrr) as churn_mrr,
        sum(monthly_segments.reactivation_mrr) as reactivation_mrr,
        sum(monthly_segments.net_new_mrr) as net_new_mrr,
        sum(monthly_segments.new_customers) as new_customers,
        sum(monthly_segments.churned_customers) as churned_customers,
        sum(monthly_segments.reactivated_customers) as reactivated_customers,
        sum(monthly_segments.base_mrr_12m) as base_mrr_12m,
        sum(monthly_segments.retained_mrr_12m) as retained_mrr_12m,
        sum(monthly_segments.non_recurring_revenue) as non_recurring_revenue
    from monthly_segments
    group by monthly_segments.month
),

components as (
    -- Every month of the spine, also one no segment has a row for.
    select
        months.month,
        months.is_future,
        coalesce(summed.mrr, 0)::double as mrr,
        coalesce(summed.customers, 0)::bigint as customers,
        coalesce(summed.new_mrr, 0)::double as new_mrr,
        coalesce(summed.expansion_mrr, 0)::double as expansion_mrr,
        coalesce(summed.contraction_mrr, 0)::double as contraction_mrr,
        coalesce(summed.churn_mrr, 0)::double as churn_mrr,
        coalesce(summed.reactivation_mrr, 0)::double as reactivation_mrr,
        coalesce(summed.net_new_mrr, 0)::double as net_new_mrr,
        coalesce(summed.new_customers, 0)::bigint as new_customers,
        coalesce(summed.churned_customers, 0)::bigint as churned_customers,
        coalesce(summed.reactivated_customers, 0)::bigint as reactivated_customers,
        coalesce(summed.base_mrr_12m, 0)::double as base_mrr_12m,
        coalesce(summed.retained_mrr_12m, 0)::double as retained_mrr_12m,
        coalesce(summed.non_recurring_revenue, 0)::double as non_recurring_revenue
    from months
    left join summed
        on months.month = summed.month
),

rated as (
    {{ monthly_rates('components') }}
)

select * from rated
