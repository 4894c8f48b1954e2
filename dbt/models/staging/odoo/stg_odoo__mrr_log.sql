-- A subscription's MRR history is that of the latest file that lists it: each export
-- repeats the events before it, so events are replaced per order, not added up.
with

log as (
    select * from {{ source('odoo', 'mrr_log') }}
),

latest as (
    select
        log.*,
        log.load_id = max(log.load_id) over (partition by log.order_ref) as is_latest
    from log
),

ordered as (
    select
        latest.*,
        row_number() over (
            partition by latest.order_ref order by latest.event_date, latest.row_number
        ) as event_position
    from latest
    where latest.is_latest
),

renamed as (
    select
        order_ref || '@' || event_position as event_id,
        order_ref as subscription_id,
        event_position,
        event_date,
        event_type,
        amount_signed,
        currency,
        recurring_monthly,
        load_id,
        source_file,
        row_number
    from ordered
)

select * from renamed
