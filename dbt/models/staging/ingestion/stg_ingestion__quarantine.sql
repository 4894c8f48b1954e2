select
    load_id,
    source_file,
    row_number,
    field,
    reason,
    raw_record
from {{ source('ingestion', 'quarantine') }}
