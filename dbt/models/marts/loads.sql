select * from {{ ref('stg_ingestion__loads') }}
