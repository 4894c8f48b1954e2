-- One row per installed asset (SPEC I1, R2): the asset registers' rows and the assets
-- added by hand on an app contract, with the customer, contract and line they belong to
-- in the warehouse's ids (int_installed_assets_resolved).
with

assets as (
    select * from {{ ref('int_installed_assets_resolved') }}
),

final as (
    select
        assets.asset_key,
        assets.source_system,
        assets.serial_number,
        assets.model,
        assets.location,
        assets.install_date,
        assets.customer_id,
        assets.contract_id,
        assets.line_id,
        assets.covering_contract_id,
        assets.contract_ref as contract_as_written,
        assets.load_id,
        assets.source_file,
        assets.row_number
    from assets
)

select * from final
