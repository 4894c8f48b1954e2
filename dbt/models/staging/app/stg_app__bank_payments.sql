select
    id as app_payment_id,
    booking_date,
    value_date,
    amount::decimal(18, 2) as amount,
    currency,
    payer,
    account
from {{ source('app', 'bank_payments') }}
