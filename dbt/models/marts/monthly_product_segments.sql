-- Product movements (SPEC IX M4 per product, M7) summed per month, product and
-- segment (the customer's owner, country and currency, as in monthly_segments), so
-- the sales team's product view sums the segments a user picks, as every other
-- dashboard does. Summed over products, a segment month's net new MRR is
-- monthly_segments'.
with

product_mrr_movements as (
    select * from {{ ref('product_mrr_movements') }}
),

customers as (
    select * from {{ ref('customers') }}
),

summed as (
    select
        product_mrr_movements.month,
        product_mrr_movements.is_future,
        product_mrr_movements.product,
        customers.owner,
        customers.country,
        customers.currency,
        {{ movement_sums('product_mrr_movements.movement', 'product_mrr_movements.amount') }}
    from product_mrr_movements
    left join customers
        on product_mrr_movements.customer_id = customers.customer_id
    group by all
)

select * from summed
