with

assets as (
    {{ latest_per_key(source('generic', 'assets'), 'serial_number') }}
),

renamed as (
    select
        serial_number,
        model,
        location,
        -- As written in the file: any source's id, resolved in int_installed_assets_resolved.
        customer_id as customer_ref,
        contract_id as contract_ref,
        line_id as line_ref,
        install_date,
        load_id,
        source_file,
        row_number
    from assets
)

select * from renamed
