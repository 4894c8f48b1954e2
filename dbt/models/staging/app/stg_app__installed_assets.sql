select
    id as app_asset_id,
    contract_id as app_contract_id,
    serial_number,
    model,
    location
from {{ source('app', 'installed_assets') }}
