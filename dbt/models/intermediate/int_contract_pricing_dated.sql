-- Price terms per contract (SPEC II R2, IX M8-M9): the indexation rule and its
-- percent (a `cpi` rule at the assumed CPI), the next adjustment date, and the
-- last day the contract's prices changed. Only app contracts carry a rule; for
-- CRM lines a line's start is the only price change known.
with

contracts as (
    select * from {{ ref('int_contracts_unioned') }}
),

lines as (
    select * from {{ ref('int_contract_lines_normalised') }}
    where is_recurring and start_date <= {{ as_of_date() }}
),

app_lines as (
    select * from {{ ref('stg_app__contract_lines') }}
),

app_versions as (
    select * from {{ ref('int_app_contract_versions_windowed') }}
),

app_contracts as (
    select * from {{ ref('stg_app__contracts') }}
),

app_rules as (
    select
        'app:' || app_contracts.contract_number as contract_id,
        app_versions.price_adjustment_rule,
        case app_versions.price_adjustment_rule
            when 'fixed_pct' then app_versions.price_adjustment_pct
            when 'cpi' then {{ var('forecast_cpi_percent') }}
        end::double as price_adjustment_pct,
        app_versions.next_price_adjustment_date
    from app_versions
    inner join app_contracts
        on app_versions.app_contract_id = app_contracts.app_contract_id
    where app_versions.is_current
),

lines_priced as (
    -- An app line is one row per version; its price changed where the version
    -- gave the line a new unit price, or added it. A CRM line changes at its start.
    select
        lines.contract_id,
        lines.start_date,
        lines.unit_price,
        case when lines.source_system = 'app' then
                lag(lines.unit_price) over (
                    partition by lines.contract_id, app_lines.line_no order by app_versions.version_no
                )
        end as previous_unit_price
    from lines
    left join app_lines
        on lines.source_system = 'app'
        and lines.source_id = app_lines.app_line_id::string
    left join app_versions
        on app_lines.version_id = app_versions.version_id
),

last_changes as (
    select
        lines_priced.contract_id,
        max(lines_priced.start_date) filter (
            where lines_priced.previous_unit_price is null
            or lines_priced.unit_price <> lines_priced.previous_unit_price
        ) as last_line_price_date
    from lines_priced
    group by lines_priced.contract_id
),

joined as (
    select
        contracts.contract_id,
        coalesce(app_rules.price_adjustment_rule, 'none') as price_adjustment_rule,
        app_rules.price_adjustment_pct,
        app_rules.next_price_adjustment_date,
        greatest(contracts.start_date, last_changes.last_line_price_date) as last_price_change_date
    from contracts
    left join app_rules
        on contracts.contract_id = app_rules.contract_id
    left join last_changes
        on contracts.contract_id = last_changes.contract_id
)

select * from joined
