-- Product movements split the customer's movement and nothing else: per customer
-- and month, their amounts add up to the MRR movement (the change in the
-- customer's MRR), so per month they add up to net new MRR. Rows returned are
-- customer months where the two differ by more than float noise (macro float_noise).
with

mrr_movements as (
    select * from {{ ref('mrr_movements') }}
),

product_mrr_movements as (
    select * from {{ ref('product_mrr_movements') }}
),

product_totals as (
    select
        product_mrr_movements.customer_id,
        product_mrr_movements.month,
        sum(product_mrr_movements.amount) as product_amount,
        sum(abs(product_mrr_movements.mrr) + abs(product_mrr_movements.previous_mrr)) as product_magnitude
    from product_mrr_movements
    group by product_mrr_movements.customer_id, product_mrr_movements.month
),

compared as (
    select
        coalesce(mrr_movements.customer_id, product_totals.customer_id) as customer_id,
        coalesce(mrr_movements.month, product_totals.month) as month,
        coalesce(mrr_movements.amount, 0) as amount,
        coalesce(product_totals.product_amount, 0) as product_amount,
        coalesce(abs(mrr_movements.mrr) + abs(mrr_movements.previous_mrr), 0)
        + coalesce(product_totals.product_magnitude, 0) as magnitude
    from mrr_movements
    full outer join product_totals
        on mrr_movements.customer_id = product_totals.customer_id
        and mrr_movements.month = product_totals.month
),

mismatched as (
    select compared.* from compared
    where abs(compared.amount - compared.product_amount) >= {{ float_noise('compared.magnitude') }}
)

select * from mismatched
