with

deals as (
    {{ latest_per_key(source('hubspot', 'deals'), 'record_id') }}
),

renamed as (
    select
        record_id as deal_id,
        company_id,
        name,
        stage,
        is_closed_won,
        pipeline,
        close_date,
        amount,
        owner,
        created_date,
        deal_type,
        currency,
        load_id,
        source_file,
        row_number
    from deals
)

select * from renamed
