select
    id as app_contract_id,
    contract_number,
    customer_id as app_customer_id,
    status,
    origin,
    -- An adopted CRM or accounting contract: its id in the marts, the load its terms came
    -- from, and the day from which this contract counts instead of the export's rows.
    source_ref,
    source_load_id,
    adopted_on
from {{ source('app', 'contracts') }}
