with

subscriptions as (
    {{ latest_per_key(source('odoo', 'subscriptions'), 'order_ref') }}
),

renamed as (
    select
        order_ref as subscription_id,
        customer as customer_name,
        plan,
        billing_period,
        billing_interval_months,
        status,
        subscription_state,
        -- Signed: a quotation, a renewal quotation or an upsell (whose lines Odoo adds
        -- to the subscription it upsells) is not a subscription of its own.
        subscription_state in ('in_progress', 'paused', 'renewed', 'churned') as is_confirmed,
        subscription_state in ('renewed', 'churned') as is_closed,
        start_date,
        end_date,
        next_invoice_date,
        close_reason,
        recurring_monthly,
        salesperson,
        currency,
        load_id,
        source_file,
        row_number
    from subscriptions
)

select * from renamed
