-- Portfolio totals, movements, rates and non-recurring revenue per month
-- (SPEC IX M3-M5).
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

contract_lines as (
    select * from {{ ref('contract_lines') }}
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

paying_months as (
    -- Months a customer has MRR: the NRR base, and all that a later month
    -- adds to it (a month without MRR adds 0).
    select
        customer_months.customer_id,
        customer_months.month,
        customer_months.mrr,
    from customer_months
    where customer_months.mrr > 0
),

retained as (
    -- NRR base (M5): the customers with MRR 12 months before a month, their
    -- MRR then and their MRR in that month (0 when gone). The later month is
    -- a date, not a timestamp, so the self-join is a plain hash join.
    select
        (base_months.month + interval 12 month)::date as month,
        sum(base_months.mrr) as base_mrr_12m,
        sum(coalesce(later_months.mrr, 0)) as retained_mrr_12m,
    from paying_months as base_months
    left join paying_months as later_months
        on base_months.customer_id = later_months.customer_id
        and (base_months.month + interval 12 month)::date = later_months.month
    group by base_months.month
),

non_recurring as (
    -- One-off lines and setup fees count in the month their line starts (M1).
    select
        date_trunc('month', contract_lines.start_date)::date as month,
        sum(contract_lines.non_recurring_amount) as non_recurring_revenue,
    from contract_lines
    where not contract_lines.is_recurring
    group by date_trunc('month', contract_lines.start_date)
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
        retained.base_mrr_12m,
        retained.retained_mrr_12m,
        coalesce(non_recurring.non_recurring_revenue, 0) as non_recurring_revenue,
    from months
    left join totals
        on months.month = totals.month
    left join movements
        on months.month = movements.month
    left join retained
        on months.month = retained.month
    left join non_recurring
        on months.month = non_recurring.month
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
        with_previous.retained_mrr_12m / nullif(with_previous.base_mrr_12m, 0) as nrr_12m,
        -- ARPA over the average logo churn rate of this month and the two before.
        (with_previous.mrr / nullif(with_previous.customers, 0))
            / nullif(
                avg(with_previous.churned_customers / nullif(with_previous.previous_customers, 0)) over (
                    order by with_previous.month rows between 2 preceding and current row
                ),
                0
            ) as ltv,
        (with_previous.new_mrr + with_previous.expansion_mrr + with_previous.reactivation_mrr)
            / nullif(abs(with_previous.churn_mrr + with_previous.contraction_mrr), 0) as quick_ratio,
        with_previous.non_recurring_revenue,
    from with_previous
)

select * from rated
