select
    id as app_invoice_line_id,
    invoice_id as app_invoice_id,
    position::integer as line_position,
    product,
    quantity,
    unit_price,
    discount_percent,
    vat_category,
    vat_rate,
    net_amount::decimal(18, 2) as net_amount,
    contract_line_no::integer as contract_line_no,
    period_key,
    period_start,
    period_end,
    billing_period_end,
    billing_period,
    billing_interval_months::integer as billing_interval_months
from {{ source('app', 'invoice_lines') }}
