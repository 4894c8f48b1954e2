-- What the warehouse received but could not use, one row per finding: today the
-- contract lines it cannot value. They are left out of every MRR figure instead of
-- stopping the refresh; the warning check data_quality_findings_is_empty says so.
with

unvalued as (
    select * from {{ ref('int_contract_lines_unvalued') }}
),

findings as (
    select
        unvalued.source_system,
        unvalued.source_id,
        unvalued.line_id,
        unvalued.contract_id,
        unvalued.customer_id,
        unvalued.product,
        unvalued.field,
        unvalued.value,
        unvalued.reason,
        unvalued.load_id,
        unvalued.source_file,
        unvalued.row_number,
    from unvalued
)

select * from findings
