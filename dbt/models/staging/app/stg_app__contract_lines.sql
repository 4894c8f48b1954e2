select
    id as app_line_id,
    version_id,
    line_no,
    product,
    quantity,
    unit_price,
    coalesce(discount_percent, 0) as discount_percent,
    discount_end_date,
    billing_period,
    billing_interval_months::integer as billing_interval_months,
    start_date,
    end_date
from {{ source('app', 'contract_lines') }}
