-- What customer_months is computed from: one fingerprint per customer (the customer's
-- lines as normalised: dates, quantities, prices, discounts, FX) and one for the month
-- spine under the empty customer_id (the day, the horizon). customer_months rebuilds
-- only the customers whose fingerprint changed since it was last built, and every
-- customer when the spine did.
with

lines as (
    select * from {{ ref('int_contract_lines_normalised') }}
),

months as (
    select * from {{ ref('int_months') }}
),

customers as (
    select
        lines.customer_id,
        bit_xor({{ row_hash('lines') }}) as fingerprint
    from lines
    group by lines.customer_id
),

spine as (
    select
        '' as customer_id,
        bit_xor({{ row_hash('months') }}) as fingerprint
    from months
)

select * from customers
union all
select * from spine
