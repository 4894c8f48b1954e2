select
    id as app_customer_id,
    customer_number,
    name,
    org_number,
    country,
    owner,
    industry,
    status,
    termination_reason,
    created_at::date as created_date
from {{ source('app', 'customers') }}
