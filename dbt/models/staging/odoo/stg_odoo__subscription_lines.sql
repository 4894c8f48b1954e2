-- A subscription's lines are those of the latest file that lists it: a line removed
-- in Odoo is gone from the next export, so lines are replaced per order, not kept
-- per line. Without an external id a line is known by its order and its place.
with

lines as (
    select * from {{ source('odoo', 'subscription_lines') }}
),

latest as (
    select
        lines.*,
        coalesce(
            lines.line_ref,
            lines.order_ref || '#' || row_number() over (
                partition by lines.order_ref, lines.load_id order by lines.row_number
            )
        ) as line_id
    from lines
    qualify lines.load_id = max(lines.load_id) over (partition by lines.order_ref)
),

renamed as (
    select
        line_id,
        order_ref as subscription_id,
        product,
        coalesce(quantity, 1) as quantity,
        unit_price,
        coalesce(discount_percent, 0) as discount_percent,
        load_id,
        source_file,
        row_number
    from latest
    -- The same line twice in one file: its last row.
    qualify row_number() over (partition by line_id order by row_number desc) = 1
)

select * from renamed
