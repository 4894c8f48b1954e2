with

customers as (
    {{ latest_per_key(source('generic', 'customers'), 'customer_id') }}
),

renamed as (
    select
        customer_id,
        name,
        org_number,
        country,
        owner,
        industry,
        created_date
    from customers
)

select * from renamed
