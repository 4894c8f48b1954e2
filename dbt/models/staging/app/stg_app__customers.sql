select
    id as app_customer_id,
    customer_number,
    -- The warehouse's id: a customer that took over a CRM customer (by adopting one of
    -- its contracts) counts as that customer, so its MRR neither churns nor starts anew.
    coalesce(source_ref, 'app:' || customer_number) as customer_id,
    source_ref,
    name,
    org_number,
    country,
    owner,
    industry,
    status,
    termination_reason,
    created_at::date as created_date
from {{ source('app', 'customers') }}
