with

line_items as (
    {{ latest_per_key(source('hubspot', 'line_items'), 'record_id') }}
),

renamed as (
    select
        record_id as line_item_id,
        deal_id,
        name as product,
        coalesce(quantity, 1) as quantity,
        coalesce(unit_price, 0) as unit_price,
        coalesce(discount_percent, 0) as discount_percent,
        billing_period,
        term_months,
        term_days,
        billing_start_date,
        currency,
        load_id,
        source_file,
        row_number
    from line_items
)

select * from renamed
