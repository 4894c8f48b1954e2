select
    id as app_allocation_id,
    payment_id as app_payment_id,
    invoice_id as app_invoice_id,
    amount::decimal(18, 2) as amount,
    matched_by
from {{ source('app', 'payment_allocations') }}
