select * from {{ ref('stg_ingestion__quarantine') }}
