-- Loaded rates replace the built-in ones per currency; the latest load wins.
with

loaded as (
    {{ latest_per_key(source('planning', 'fx_rates'), 'currency') }}
),

defaults as (
    select * from {{ ref('fx_rates_default') }}
),

merged as (
    select
        loaded.currency,
        loaded.rate,
        'loaded' as rate_source
    from loaded
    union all
    select
        defaults.currency,
        defaults.rate,
        'default' as rate_source
    from defaults
    where defaults.currency not in (select loaded.currency from loaded)
)

select * from merged
