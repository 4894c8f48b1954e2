-- What the warehouse received but could not use, one row per finding: the contract
-- lines it cannot value (left out of every MRR figure instead of stopping the refresh),
-- and the installed assets whose contract, line or customer is unknown (kept in
-- installed_assets without it). The warning check data_quality_findings_is_empty says so.
with

unvalued as (
    select * from {{ ref('int_contract_lines_unvalued') }}
),

assets as (
    select * from {{ ref('int_installed_assets_resolved') }}
),

asset_problems as (
    select
        assets.*,
        {{ unnest_list(list_of([
            struct_of({'field': "'contract_id'", 'value': 'assets.contract_ref', 'reason': 'assets.contract_problem'}),
            struct_of({'field': "'customer_id'", 'value': 'assets.customer_ref', 'reason': 'assets.customer_problem'}),
            struct_of({'field': "'line_id'", 'value': 'assets.line_ref', 'reason': 'assets.line_problem'})
        ])) }} as problem
    from assets
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
        null::string as asset_key
    from unvalued
    union all
    select
        asset_problems.source_system,
        asset_problems.serial_number as source_id,
        null::string as line_id,
        asset_problems.contract_id,
        asset_problems.customer_id,
        asset_problems.model as product,
        asset_problems.problem.field,
        asset_problems.problem.value,
        asset_problems.problem.reason,
        asset_problems.load_id,
        asset_problems.source_file,
        asset_problems.row_number,
        asset_problems.asset_key
    from asset_problems
    where asset_problems.problem.reason is not null
)

select * from findings
