select
    load_id,
    source_file,
    file_hash,
    kind,
    encoding,
    delimiter,
    loaded_at,
    rows_read,
    rows_loaded,
    rows_quarantined
from {{ source('ingestion', 'loads') }}
