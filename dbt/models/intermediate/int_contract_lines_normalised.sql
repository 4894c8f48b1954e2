-- The contract lines every MRR model reads: those that can be valued. The others are in
-- int_contract_lines_unvalued, with the reasons; splitting here, once, keeps every
-- mart consistent with every other.
with

lines as (
    select * from {{ ref('int_contract_lines_priced') }}
),

unvalued as (
    select * from {{ ref('int_contract_lines_unvalued') }}
),

valued as (
    select lines.*
    from lines
    where lines.line_id not in (select unvalued.line_id from unvalued)
)

select * from valued
