-- Movements per customer and product, month M against M-1 (SPEC IX M4 per
-- product, M7). Summed over products they are the customer's movement amount.
with

product_months as (
    select * from {{ ref('int_customer_product_months') }}
),

customers as (
    select * from {{ ref('customers') }}
),

changed as (
    select product_months.* from product_months
    where product_months.mrr <> product_months.previous_mrr
),

classified as (
    select
        changed.customer_id,
        changed.product,
        changed.month,
        {{ movement_type('changed.mrr', 'changed.previous_mrr', 'changed.is_first_month') }}
            as movement,
        changed.mrr - changed.previous_mrr as amount,
        changed.previous_mrr,
        changed.mrr,
        customers.owner,
        customers.country,
        changed.is_future
    from changed
    left join customers
        on changed.customer_id = customers.customer_id
)

select * from classified
