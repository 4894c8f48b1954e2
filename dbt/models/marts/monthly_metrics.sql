-- Portfolio totals, movements and rates per month (SPEC IX M3-M5).
with

months as (
    select * from {{ ref('int_months') }}
),

customer_months as (
    select * from {{ ref('customer_months') }}
),

mrr_movements as (
    select * from {{ ref('mrr_movements') }}
),

totals as (
    select
        customer_months.month,
        sum(customer_months.mrr) as mrr,
        count(*) filter (where customer_months.mrr > 0) as customers,
    from customer_months
    group by customer_months.month
),

movements as (
    select
        mrr_movements.month,
        coalesce(sum(mrr_movements.amount) filter (where mrr_movements.movement = 'new'), 0) as new_mrr,
        coalesce(sum(mrr_movements.amount) filter (where mrr_movements.movement = 'expansion'), 0) as expansion_mrr,
        coalesce(sum(mrr_movements.amount) filter (where mrr_movements.movement = 'contraction'), 0) as contraction_mrr,
        coalesce(sum(mrr_movements.amount) filter (where mrr_movements.movement = 'churn'), 0) as churn_mrr,
        coalesce(sum(mrr_movements.amount) filter (where mrr_movements.movement = 'reactivation'), 0) as reactivation_mrr,
        count(*) filter (where mrr_movements.movement = 'new') as new_customers,
        count(*) filter (where mrr_movements.movement = 'churn') as churned_customers,
        count(*) filter (where mrr_movements.movement = 'reactivation') as reactivated_customers,
    from mrr_movements
    group by mrr_movements.month
),

joined as (
    select
        months.month,
        coalesce(totals.mrr, 0) as mrr,
        coalesce(totals.customers, 0) as customers,
        coalesce(movements.new_mrr, 0) as new_mrr,
        coalesce(movements.expansion_mrr, 0) as expansion_mrr,
        coalesce(movements.contraction_mrr, 0) as contraction_mrr,
        coalesce(movements.churn_mrr, 0) as churn_mrr,
        coalesce(movements.reactivation_mrr, 0) as reactivation_mrr,
        coalesce(movements.new_customers, 0) as new_customers,
        coalesce(movements.churned_customers, 0) as churned_customers,
        coalesce(movements.reactivated_customers, 0) as reactivated_customers,
        months.is_future,
    from months
    left join totals
        on months.month = totals.month
    left join movements
        on months.month = movements.month
),

with_previous as (
    select
        joined.*,
        coalesce(lag(joined.mrr) over (order by joined.month), 0) as previous_mrr,
        coalesce(lag(joined.customers) over (order by joined.month), 0) as previous_customers,
    from joined
),

rated as (
    select
        with_previous.month,
        with_previous.mrr,
        12 * with_previous.mrr as arr,
        with_previous.customers,
        with_previous.new_mrr,
        with_previous.expansion_mrr,
        with_previous.contraction_mrr,
        with_previous.churn_mrr,
        with_previous.reactivation_mrr,
        with_previous.new_mrr + with_previous.expansion_mrr + with_previous.contraction_mrr
            + with_previous.churn_mrr + with_previous.reactivation_mrr as net_new_mrr,
        with_previous.new_customers,
        with_previous.churned_customers,
        with_previous.reactivated_customers,
        with_previous.previous_mrr,
        with_previous.previous_customers,
        with_previous.churned_customers / nullif(with_previous.previous_customers, 0)
            as logo_churn_rate,
        -(with_previous.churn_mrr + with_previous.contraction_mrr)
            / nullif(with_previous.previous_mrr, 0) as gross_revenue_churn_rate,
        with_previous.mrr / nullif(with_previous.customers, 0) as arpa,
        with_previous.is_future,
    from with_previous
)

select * from rated
