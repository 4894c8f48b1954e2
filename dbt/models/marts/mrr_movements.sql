-- Movements per customer, month M against M-1 (SPEC IX M4).
with

customer_months as (
    select * from {{ ref('customer_months') }}
),

changed as (
    select * from customer_months
    where customer_months.mrr <> customer_months.previous_mrr
),

classified as (
    select
        changed.customer_id,
        changed.month,
        case
            when changed.previous_mrr = 0 and changed.is_first_month then 'new'
            when changed.previous_mrr = 0 then 'reactivation'
            when changed.mrr = 0 then 'churn'
            when changed.mrr > changed.previous_mrr then 'expansion'
            else 'contraction'
        end as movement,
        changed.mrr - changed.previous_mrr as amount,
        changed.previous_mrr,
        changed.mrr,
        changed.is_future,
    from changed
)

select * from classified
