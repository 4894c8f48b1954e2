with

contract_lines as (
    {{ latest_per_key(source('generic', 'contract_lines'), 'line_id') }}
),

renamed as (
    select
        line_id,
        contract_id,
        product,
        quantity,
        unit_price,
        coalesce(discount_percent, 0) as discount_percent,
        discount_end_date,
        billing_period,
        billing_interval_months,
        start_date,
        end_date,
        currency,
        load_id,
        source_file,
        row_number
    from contract_lines
)

select * from renamed
