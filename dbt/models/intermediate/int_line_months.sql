{{ config(materialized="view") }}

-- Month-end snapshot (SPEC IX M2): a line counts in month M when it is active on
-- M's last day. A time-limited discount counts while it runs on that day.
with

lines as (
    select * from {{ ref('int_contract_lines_normalised') }}
    where is_recurring
),

months as (
    select * from {{ ref('int_months') }}
),

active as (
    select
        lines.line_id,
        lines.contract_id,
        lines.customer_id,
        months.month,
        case
            when lines.discount_end_date is null or lines.discount_end_date >= months.month_end
                then lines.line_mrr
            else lines.line_mrr_undiscounted
        end as mrr,
    from lines
    inner join months
        on lines.start_date <= months.month_end
        and (lines.end_date is null or lines.end_date >= months.month_end)
)

select * from active
