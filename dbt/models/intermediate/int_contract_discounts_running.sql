-- Discounts still running today (SPEC II R2, IX M10): one row per recurring
-- line active today whose discount has not ended, with the MRR it gives away.
with

lines as (
    select * from {{ ref('int_contract_lines_normalised') }}
    where is_recurring
),

running as (
    select
        lines.line_id,
        lines.contract_id,
        lines.customer_id,
        lines.product,
        lines.discount_percent,
        lines.discount_end_date,
        lines.line_mrr as discounted_mrr,
        lines.line_mrr_undiscounted as undiscounted_mrr,
        lines.line_mrr_undiscounted - lines.line_mrr as discount_mrr
    from lines
    where lines.start_date <= {{ as_of_date() }}
        and (lines.end_date is null or lines.end_date >= {{ as_of_date() }})
        and lines.discount_percent > 0
        and (lines.discount_end_date is null or lines.discount_end_date >= {{ as_of_date() }})
)

select * from running
