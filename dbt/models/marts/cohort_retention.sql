-- Cohorts by month of first MRR (SPEC IX M6), per country and owner, up to the
-- current month. Counts and sums only, so quarter and year cohorts and wider
-- segments are sums of these rows; a customer who comes back is active again
-- in its first cohort.
with

customer_months as (
    select * from {{ ref('customer_months') }}
    where not is_future
),

customers as (
    select * from {{ ref('customers') }}
),

cohorts as (
    select
        customer_months.customer_id,
        customer_months.month as cohort_month,
        customer_months.mrr as cohort_start_mrr
    from customer_months
    where customer_months.is_first_month
),

aged as (
    -- customer_months has a row for every month from the first, so each
    -- customer is in every month of its cohort up to the current one.
    select
        cohorts.cohort_month,
        {{ date_diff('month', 'cohorts.cohort_month', 'customer_months.month') }}::integer
            as months_since_start,
        customers.country,
        customers.owner,
        cohorts.cohort_start_mrr,
        customer_months.mrr
    from customer_months
    inner join cohorts
        on customer_months.customer_id = cohorts.customer_id
    left join customers
        on customer_months.customer_id = customers.customer_id
),

aggregated as (
    select
        aged.cohort_month,
        aged.months_since_start,
        aged.country,
        aged.owner,
        count(*) as cohort_customers,
        sum(aged.cohort_start_mrr) as cohort_start_mrr,
        count(*) filter (where aged.mrr > 0) as active_customers,
        sum(aged.mrr) as mrr
    from aged
    group by aged.cohort_month, aged.months_since_start, aged.country, aged.owner
)

select * from aggregated
