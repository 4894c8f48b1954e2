select
    id as app_contract_id,
    contract_number,
    customer_id as app_customer_id,
    status,
    origin
from {{ source('app', 'contracts') }}
