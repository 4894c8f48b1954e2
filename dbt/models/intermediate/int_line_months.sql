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
        {{ mrr_at_month_end('lines', 'months.month_end') }} as mrr
    from lines
    inner join months
        on {{ counts_at_month_end('lines.start_date', 'lines.end_date', 'months.month_end') }}
)

select * from active
