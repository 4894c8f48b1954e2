with

companies as (
    {{ latest_per_key(source('hubspot', 'companies'), 'record_id') }}
),

renamed as (
    select
        record_id as company_id,
        name,
        owner,
        created_date,
        country,
        industry,
        load_id,
        source_file,
        row_number
    from companies
)

select * from renamed
