-- Lines of every source (HubSpot, generic, Odoo, the app) in one shape, with their active period and MRR (SPEC IX M1).
-- Every line, also one that cannot be valued (a currency without a planning rate, a
-- price that is not a finite number): int_contract_lines_unvalued finds those, and
-- int_contract_lines_normalised, which every MRR model reads, leaves them out.
with

hubspot_line_items as (
    select * from {{ ref('stg_hubspot__line_items') }}
),

hubspot_deals as (
    select * from {{ ref('stg_hubspot__deals') }}
),

generic_lines as (
    select * from {{ ref('stg_generic__contract_lines') }}
),

generic_contracts as (
    select * from {{ ref('stg_generic__contracts') }}
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

app_customers as (
    select * from {{ ref('stg_app__customers') }}
),

-- CRM and accounting contracts the app took over (issue 14): the export's rows count
-- until the day before the adoption, the app's copy from that day on.
adoptions as (
    select
        app_contracts.source_ref,
        app_contracts.adopted_on
    from app_contracts
    where app_contracts.source_ref is not null
),

odoo_lines as (
    select * from {{ ref('stg_odoo__subscription_lines') }}
),

odoo_subscriptions as (
    select * from {{ ref('int_odoo_subscriptions_dated') }}
),

fx_rates as (
    select * from {{ ref('stg_planning__fx_rates') }}
),

hubspot_lines as (
    select
        'hubspot:' || hubspot_line_items.line_item_id as line_id,
        'hubspot:' || hubspot_deals.deal_id as contract_id,
        'hubspot:' || hubspot_deals.company_id as customer_id,
        'hubspot' as source_system,
        hubspot_line_items.line_item_id as source_id,
        hubspot_line_items.product,
        hubspot_line_items.quantity,
        hubspot_line_items.unit_price,
        hubspot_line_items.discount_percent,
        null::date as discount_end_date,
        hubspot_line_items.billing_period,
        {{ billing_months('hubspot_line_items.billing_period', 'null') }} as billing_months,
        coalesce(
            hubspot_line_items.currency,
            hubspot_deals.currency,
            '{{ var("reporting_currency") }}'
        ) as currency,
        coalesce(hubspot_line_items.billing_start_date, hubspot_deals.close_date) as start_date,
        {{ term_end_date(
            'coalesce(hubspot_line_items.billing_start_date, hubspot_deals.close_date)',
            'hubspot_line_items.term_months',
            'hubspot_line_items.term_days'
        ) }} as end_date,
        hubspot_line_items.load_id,
        hubspot_line_items.source_file,
        hubspot_line_items.row_number
    from hubspot_line_items
    inner join hubspot_deals
        on hubspot_line_items.deal_id = hubspot_deals.deal_id
    where hubspot_deals.is_closed_won
),

generic_lines_dated as (
    select
        'generic:' || generic_lines.line_id as line_id,
        'generic:' || generic_contracts.contract_id as contract_id,
        'generic:' || generic_contracts.customer_id as customer_id,
        'generic' as source_system,
        generic_lines.line_id as source_id,
        generic_lines.product,
        generic_lines.quantity,
        generic_lines.unit_price,
        generic_lines.discount_percent,
        generic_lines.discount_end_date,
        generic_lines.billing_period,
        {{ billing_months('generic_lines.billing_period', 'generic_lines.billing_interval_months') }}
            as billing_months,
        coalesce(
            generic_lines.currency,
            generic_contracts.currency,
            '{{ var("reporting_currency") }}'
        ) as currency,
        coalesce(generic_lines.start_date, generic_contracts.start_date) as start_date,
        {{ line_end_date(
            'generic_lines.end_date',
            'generic_contracts.end_date',
            'generic_contracts.terminated_date',
            'generic_contracts.auto_renew'
        ) }} as end_date,
        generic_lines.load_id,
        generic_lines.source_file,
        generic_lines.row_number
    from generic_lines
    inner join generic_contracts
        on generic_lines.contract_id = generic_contracts.contract_id
),

-- Every line of a subscription recurs by its plan, over the subscription's life.
odoo_lines_dated as (
    select
        'odoo:' || odoo_lines.line_id as line_id,
        'odoo:' || odoo_subscriptions.subscription_id as contract_id,
        'odoo:' || odoo_subscriptions.customer_name as customer_id,
        'odoo' as source_system,
        odoo_lines.line_id as source_id,
        odoo_lines.product,
        odoo_lines.quantity,
        odoo_lines.unit_price,
        odoo_lines.discount_percent,
        null::date as discount_end_date,
        odoo_subscriptions.billing_period,
        {{ billing_months('odoo_subscriptions.billing_period', 'odoo_subscriptions.billing_interval_months') }}
            as billing_months,
        coalesce(odoo_subscriptions.currency, '{{ var("reporting_currency") }}') as currency,
        odoo_subscriptions.start_date,
        odoo_subscriptions.last_active_date as end_date,
        odoo_lines.load_id,
        odoo_lines.source_file,
        odoo_lines.row_number
    from odoo_lines
    inner join odoo_subscriptions
        on odoo_lines.subscription_id = odoo_subscriptions.subscription_id
),

app_lines_ended as (
    select
        'app:' || app_contracts.contract_number || '#' || app_versions.version_no
        || '.' || app_lines.line_no as line_id,
        'app:' || app_contracts.contract_number as contract_id,
        app_customers.customer_id,
        'app' as source_system,
        app_lines.app_line_id::string as source_id,
        app_lines.product,
        app_lines.quantity,
        app_lines.unit_price,
        app_lines.discount_percent,
        app_lines.discount_end_date,
        app_lines.billing_period,
        {{ billing_months('app_lines.billing_period', 'app_lines.billing_interval_months') }}
            as billing_months,
        app_versions.currency,
        -- Version 1 holds from the contract's start; later ones from their effective date.
        case
            -- An adopted contract's first version keeps its lines' own start dates as
            -- terms, and counts from the adoption (greatest skips a missing one).
            when app_versions.version_no = 1
                then greatest(coalesce(app_lines.start_date, app_versions.start_date), app_contracts.adopted_on)
            else greatest(coalesce(app_lines.start_date, app_versions.start_date), app_versions.effective_date)
        end as start_date,
        {{ line_end_date(
            'app_lines.end_date',
            'app_versions.end_date',
            'app_versions.terminated_date',
            'app_versions.auto_renew'
        ) }} as end_before_next_version,
        app_versions.applies_until
    from app_lines
    inner join app_versions
        on app_lines.version_id = app_versions.version_id
    inner join app_contracts
        on app_versions.app_contract_id = app_contracts.app_contract_id
    inner join app_customers
        on app_contracts.app_customer_id = app_customers.app_customer_id
),

app_lines_dated as (
    select
        app_lines_ended.* {{ exclude() }} (app_lines_ended.end_before_next_version, app_lines_ended.applies_until),
        case
            when app_lines_ended.applies_until is null then app_lines_ended.end_before_next_version
            else least(
                    coalesce(app_lines_ended.end_before_next_version, app_lines_ended.applies_until),
                    app_lines_ended.applies_until
                )
        end::date as end_date,
        -- The app's rows come with the export, not with a file.
        null::integer as load_id,
        null::string as source_file,
        null::integer as row_number
    from app_lines_ended
),

unioned as (
    select * from hubspot_lines
    union all
    select * from generic_lines_dated
    union all
    select * from odoo_lines_dated
    union all
    select * from app_lines_dated
),

superseded as (
    select
        {{ star_replace('unioned', {
            'end_date': end_before_adoption('unioned.end_date', 'adoptions.adopted_on')
        }) }}
    from unioned
    left join adoptions
        on unioned.contract_id = adoptions.source_ref
    where adoptions.adopted_on is null or unioned.start_date < adoptions.adopted_on
),

priced as (
    select
        superseded.*,
        superseded.billing_period <> 'one_off' as is_recurring,
        fx_rates.rate as fx_rate,
        {{ line_mrr(
            'superseded.quantity * superseded.unit_price * (1 - superseded.discount_percent / 100) * fx_rates.rate',
            'superseded.billing_period',
            'superseded.billing_months'
        ) }} as line_mrr,
        {{ line_mrr(
            'superseded.quantity * superseded.unit_price * fx_rates.rate',
            'superseded.billing_period',
            'superseded.billing_months'
        ) }} as line_mrr_undiscounted,
        case
            when superseded.billing_period = 'one_off'
                then superseded.quantity * superseded.unit_price
                    * (1 - superseded.discount_percent / 100) * fx_rates.rate
            else 0
        end as non_recurring_amount
    from superseded
    left join fx_rates
        on superseded.currency = fx_rates.currency
)

select * from priced
