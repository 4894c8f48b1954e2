-- Customer MRR split by product (SPEC IX M7): one row per customer, product and
-- month from the first month the customer has MRR on that product to the
-- horizon, zero-filled, so a product dropped or taken up again is a row too.
-- Summed over products it is customer_months.mrr (to rounding noise).
with

line_months as (
    select * from {{ ref('int_line_months') }}
),

lines as (
    select * from {{ ref('int_contract_lines_normalised') }}
),

months as (
    select * from {{ ref('int_months') }}
),

line_products as (
    -- A line without a product name (HubSpot does not require one) still
    -- counts, under 'Unknown', so products add up to the customer's MRR.
    select
        line_months.customer_id,
        coalesce(nullif(trim(lines.product), ''), 'Unknown') as product,
        line_months.month,
        line_months.mrr,
    from line_months
    inner join lines
        on line_months.line_id = lines.line_id
),

product_mrr as (
    -- Rounded far below a cent, as customer_months is, so an unchanged
    -- product MRR compares equal from month to month.
    select
        line_products.customer_id,
        line_products.product,
        line_products.month,
        round(sum(line_products.mrr), 6) as mrr,
    from line_products
    group by line_products.customer_id, line_products.product, line_products.month
),

first_months as (
    select
        product_mrr.customer_id,
        product_mrr.product,
        min(product_mrr.month) as first_month,
    from product_mrr
    where product_mrr.mrr > 0
    group by product_mrr.customer_id, product_mrr.product
),

spined as (
    select
        first_months.customer_id,
        first_months.product,
        months.month,
        months.is_future,
        months.month = first_months.first_month as is_first_month,
    from first_months
    inner join months
        on months.month >= first_months.first_month
),

filled as (
    select
        spined.customer_id,
        spined.product,
        spined.month,
        coalesce(product_mrr.mrr, 0) as mrr,
        coalesce(
            lag(coalesce(product_mrr.mrr, 0)) over (
                partition by spined.customer_id, spined.product order by spined.month
            ),
            0
        ) as previous_mrr,
        spined.is_first_month,
        spined.is_future,
    from spined
    left join product_mrr
        on spined.customer_id = product_mrr.customer_id
        and spined.product = product_mrr.product
        and spined.month = product_mrr.month
)

select * from filled
