-- Movements per customer, month M against M-1 (SPEC IX M4).
with

customer_months as (
    select * from {{ ref('customer_months') }}
),

changed as (
    select customer_months.* from customer_months
    where customer_months.mrr <> customer_months.previous_mrr
),

classified as (
    select
        changed.customer_id,
        changed.month,
        {{ movement_type('changed.mrr', 'changed.previous_mrr', 'changed.is_first_month') }}
            as movement,
        changed.mrr - changed.previous_mrr as amount,
        changed.previous_mrr,
        changed.mrr,
        changed.is_future
    from changed
)

select * from classified
