-- Money as DECIMAL(18, 2): the register's amounts are whole cents, and sums of them
-- must stay whole cents (the copy carries them as DOUBLE, like every app number).
select
    id as app_invoice_id,
    kind,
    number as invoice_number,
    issue_date,
    due_date,
    currency,
    customer_id as app_customer_id,
    contract_id as app_contract_id,
    corrects_id as corrects_app_invoice_id,
    period_start,
    period_end,
    net_total::decimal(18, 2) as net_amount,
    vat_total::decimal(18, 2) as vat_amount,
    total::decimal(18, 2) as total_amount,
    sent_at,
    sent_via
from {{ source('app', 'invoices') }}
