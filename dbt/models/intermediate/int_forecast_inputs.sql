-- What the forecast's per-contract models (int_forecast_contract_months,
-- int_forecast_invoices_scheduled) are computed from: one fingerprint per customer (its
-- lines as normalised, its contracts' price terms, the numbers of its app lines across
-- versions) and one for the forecast's month spine and today under the empty customer_id.
-- Both models are incremental: a refresh computes again only the customers whose
-- fingerprint changed since the model was last built, every customer when the spine did.
with

lines as (
    select * from {{ ref('int_contract_lines_normalised') }}
),

contracts as (
    select * from {{ ref('int_contracts_unioned') }}
),

pricing as (
    select * from {{ ref('int_contract_pricing_dated') }}
),

app_lines as (
    select * from {{ ref('stg_app__contract_lines') }}
),

months as (
    select * from {{ ref('int_forecast_months') }}
),

rows_hashed as (
    select
        lines.customer_id,
        {{ row_hash('lines') }} as row_hash
    from lines
    union all
    select
        contracts.customer_id,
        {{ row_hash('pricing') }} as row_hash
    from pricing
    inner join contracts
        on pricing.contract_id = contracts.contract_id
    union all
    select
        lines.customer_id,
        {{ row_hash('app_lines') }} as row_hash
    from app_lines
    inner join lines
        on lines.source_system = 'app'
        and lines.source_id = app_lines.app_line_id::string
),

customers as (
    select
        rows_hashed.customer_id,
        bit_xor(rows_hashed.row_hash) as fingerprint
    from rows_hashed
    group by rows_hashed.customer_id
),

spine_dated as (
    -- Adjustment dates count from today itself, not only from its month.
    select
        months.*,
        {{ as_of_date() }} as as_of_date
    from months
),

spine as (
    select
        '' as customer_id,
        bit_xor({{ row_hash('spine_dated') }}) as fingerprint
    from spine_dated
)

select * from customers
union all
select * from spine
