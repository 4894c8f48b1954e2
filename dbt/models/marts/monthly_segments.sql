-- The additive components of the monthly metrics (SPEC IX M3-M5) per month and
-- segment: the customer's owner, country and currency as `customers` holds them
-- now. Every column is a sum or a count, so any set of segments adds up to its own
-- totals; monthly_metrics is all segments summed, then rated by the macro
-- monthly_rates, and the app's filtered dashboards sum the segments a user picks.
-- Only segment months with something in them have a row.
with

months as (
    select * from {{ ref('int_months') }}
),

customers as (
    select * from {{ ref('customers') }}
),

customer_months as (
    select * from {{ ref('customer_months') }}
),

mrr_movements as (
    select * from {{ ref('mrr_movements') }}
),

contract_lines as (
    select * from {{ ref('contract_lines') }}
    where not is_recurring
),

customer_segments as (
    -- A customer is in one segment in every month, so its movements and its NRR
    -- never split across segments.
    select
        customers.customer_id,
        customers.owner,
        customers.country,
        customers.currency
    from customers
),

totals as (
    select
        customer_months.month,
        customer_segments.owner,
        customer_segments.country,
        customer_segments.currency,
        sum(customer_months.mrr) as mrr,
        count(*) filter (where customer_months.mrr > 0) as customers,
        -- NRR (M5): the customers with MRR 12 months before a month, their MRR then
        -- and their MRR in that month (0 when gone). customer_months runs to the
        -- horizon from a customer's first month with MRR, so every such customer has
        -- a row in the month twelve months on, wherever that month is in the spine.
        sum(customer_months.mrr_12m_before) filter (where customer_months.mrr_12m_before > 0) as base_mrr_12m,
        sum(greatest(customer_months.mrr, 0)) filter (where customer_months.mrr_12m_before > 0) as retained_mrr_12m
    from customer_months
    left join customer_segments
        on customer_months.customer_id = customer_segments.customer_id
    group by all
),

movements as (
    select
        mrr_movements.month,
        customer_segments.owner,
        customer_segments.country,
        customer_segments.currency,
        {{ movement_sums('mrr_movements.movement', 'mrr_movements.amount') }}
    from mrr_movements
    left join customer_segments
        on mrr_movements.customer_id = customer_segments.customer_id
    group by all
),

non_recurring as (
    -- One-off lines and setup fees count in the month their line starts (M1).
    select
        date_trunc('month', contract_lines.start_date)::date as month,
        customer_segments.owner,
        customer_segments.country,
        customer_segments.currency,
        sum(contract_lines.non_recurring_amount) as non_recurring_revenue
    from contract_lines
    left join customer_segments
        on contract_lines.customer_id = customer_segments.customer_id
    group by all
),

-- Each part has the columns it counts; by name, the others are empty.
unioned as (
    {{ union_all_by_name({
        'totals': ['month', 'owner', 'country', 'currency', 'mrr', 'customers',
            'base_mrr_12m', 'retained_mrr_12m'],
        'movements': ['month', 'owner', 'country', 'currency', 'new_mrr', 'expansion_mrr',
            'contraction_mrr', 'churn_mrr', 'reactivation_mrr', 'net_new_mrr', 'new_customers',
            'churned_customers', 'reactivated_customers', 'moved_customers'],
        'non_recurring': ['month', 'owner', 'country', 'currency', 'non_recurring_revenue']
    }) }}
),

summed as (
    select
        unioned.month,
        unioned.owner,
        unioned.country,
        unioned.currency,
        coalesce(sum(unioned.mrr), 0)::double as mrr,
        coalesce(sum(unioned.customers), 0)::bigint as customers,
        coalesce(sum(unioned.new_mrr), 0)::double as new_mrr,
        coalesce(sum(unioned.expansion_mrr), 0)::double as expansion_mrr,
        coalesce(sum(unioned.contraction_mrr), 0)::double as contraction_mrr,
        coalesce(sum(unioned.churn_mrr), 0)::double as churn_mrr,
        coalesce(sum(unioned.reactivation_mrr), 0)::double as reactivation_mrr,
        coalesce(sum(unioned.net_new_mrr), 0)::double as net_new_mrr,
        coalesce(sum(unioned.new_customers), 0)::bigint as new_customers,
        coalesce(sum(unioned.churned_customers), 0)::bigint as churned_customers,
        coalesce(sum(unioned.reactivated_customers), 0)::bigint as reactivated_customers,
        coalesce(sum(unioned.moved_customers), 0)::bigint as moved_customers,
        coalesce(sum(unioned.base_mrr_12m), 0)::double as base_mrr_12m,
        coalesce(sum(unioned.retained_mrr_12m), 0)::double as retained_mrr_12m,
        coalesce(sum(unioned.non_recurring_revenue), 0)::double as non_recurring_revenue
    from unioned
    group by all
),

in_spine as (
    -- Months outside the spine (a setup fee before the first recurring line, an NRR
    -- month past the horizon) are in no month of monthly_metrics either.
    select
        summed.month,
        months.is_future,
        summed.* {{ exclude() }} (summed.month)
    from summed
    inner join months
        on summed.month = months.month
)

select * from in_spine
