select
    id as app_unmatched_id,
    payment_id as app_payment_id,
    amount::decimal(18, 2) as amount,
    reason,
    resolved_at
from {{ source('app', 'unmatched_payments') }}
