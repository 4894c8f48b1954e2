-- HubSpot closed-won deals, generic contracts, Odoo's signed subscriptions and the app's contracts (their current
-- version) in one shape (SPEC II R2), with their status and MRR today. The contracts
-- mart publishes it; the deadline, pricing and health models read it here, so the
-- DAG runs from intermediate models to marts only.
with

hubspot_deals as (
    select * from {{ ref('stg_hubspot__deals') }}
),

hubspot_companies as (
    select * from {{ ref('stg_hubspot__companies') }}
),

generic_contracts as (
    select * from {{ ref('stg_generic__contracts') }}
),

generic_customers as (
    select * from {{ ref('stg_generic__customers') }}
),

app_contracts as (
    select * from {{ ref('stg_app__contracts') }}
),

app_versions as (
    select * from {{ ref('int_app_contract_versions_windowed') }}
    where is_current
),

app_customers as (
    select * from {{ ref('stg_app__customers') }}
),

odoo_subscriptions as (
    select * from {{ ref('int_odoo_subscriptions_dated') }}
),

lines as (
    select * from {{ ref('int_contract_lines_normalised') }}
),

line_months as (
    select * from {{ ref('int_line_months') }}
),

line_spans as (
    select
        lines.contract_id,
        min(lines.start_date) as first_start,
        -- Open-ended when any recurring line has no end.
        case when bool_or(lines.is_recurring and lines.end_date is null) then null
            else max(lines.end_date)
        end as last_end
    from lines
    group by lines.contract_id
),

current_mrr as (
    select
        line_months.contract_id,
        sum(line_months.mrr) as current_mrr
    from line_months
    where line_months.month = date_trunc('month', {{ as_of_date() }})
    group by line_months.contract_id
),

hubspot_contracts as (
    select
        'hubspot:' || hubspot_deals.deal_id as contract_id,
        'hubspot:' || hubspot_deals.company_id as customer_id,
        'hubspot' as source_system,
        hubspot_deals.deal_id as source_id,
        hubspot_deals.name,
        coalesce(hubspot_deals.owner, hubspot_companies.owner) as owner,
        hubspot_deals.deal_type,
        coalesce(hubspot_deals.currency, '{{ var("reporting_currency") }}') as currency,
        hubspot_deals.close_date as signed_date,
        coalesce(line_spans.first_start, hubspot_deals.close_date) as start_date,
        line_spans.last_end as end_date,
        null::integer as term_months,
        false as auto_renew,
        null::integer as renewal_term_months,
        null::integer as notice_months,
        null::date as terminated_date,
        null::string as termination_reason
    from hubspot_deals
    left join hubspot_companies
        on hubspot_deals.company_id = hubspot_companies.company_id
    left join line_spans
        on 'hubspot:' || hubspot_deals.deal_id = line_spans.contract_id
    where hubspot_deals.is_closed_won
),

generic as (
    select
        'generic:' || generic_contracts.contract_id as contract_id,
        'generic:' || generic_contracts.customer_id as customer_id,
        'generic' as source_system,
        generic_contracts.contract_id as source_id,
        generic_contracts.name,
        coalesce(generic_contracts.owner, generic_customers.owner) as owner,
        null::string as deal_type,
        coalesce(generic_contracts.currency, '{{ var("reporting_currency") }}') as currency,
        generic_contracts.signed_date,
        generic_contracts.start_date,
        generic_contracts.end_date,
        generic_contracts.term_months,
        generic_contracts.auto_renew,
        generic_contracts.renewal_term_months,
        generic_contracts.notice_months,
        generic_contracts.terminated_date,
        generic_contracts.termination_reason
    from generic_contracts
    left join generic_customers
        on generic_contracts.customer_id = generic_customers.customer_id
),

-- A churned subscription is terminated on its last active day, for its close reason;
-- a renewed one goes on as its renewal, so it merely ends.
odoo as (
    select
        'odoo:' || odoo_subscriptions.subscription_id as contract_id,
        'odoo:' || odoo_subscriptions.customer_name as customer_id,
        'odoo' as source_system,
        odoo_subscriptions.subscription_id as source_id,
        odoo_subscriptions.subscription_id as name,
        odoo_subscriptions.salesperson as owner,
        null::string as deal_type,
        coalesce(odoo_subscriptions.currency, '{{ var("reporting_currency") }}') as currency,
        null::date as signed_date,
        odoo_subscriptions.start_date,
        odoo_subscriptions.last_active_date as end_date,
        null::integer as term_months,
        false as auto_renew,
        null::integer as renewal_term_months,
        null::integer as notice_months,
        case
            when odoo_subscriptions.subscription_state = 'churned'
                then odoo_subscriptions.last_active_date
        end as terminated_date,
        case
            when odoo_subscriptions.subscription_state = 'churned'
                then odoo_subscriptions.close_reason
        end as termination_reason
    from odoo_subscriptions
),

app as (
    select
        'app:' || app_contracts.contract_number as contract_id,
        app_customers.customer_id,
        'app' as source_system,
        app_contracts.contract_number as source_id,
        app_versions.title as name,
        coalesce(app_versions.owner, app_customers.owner) as owner,
        app_contracts.origin as deal_type,
        app_versions.currency,
        app_versions.signed_date,
        app_versions.start_date,
        app_versions.end_date,
        app_versions.term_months,
        app_versions.auto_renew,
        app_versions.renewal_term_months,
        app_versions.notice_months,
        app_versions.terminated_date,
        app_versions.termination_reason
    from app_contracts
    inner join app_versions
        on app_contracts.app_contract_id = app_versions.app_contract_id
    inner join app_customers
        on app_contracts.app_customer_id = app_customers.app_customer_id
),

-- A CRM or accounting contract the app took over ends the day before the adoption and
-- renews no more; the app's copy (superseded_by) carries its terms and deadlines on.
adoptions as (
    select
        'app:' || app_contracts.contract_number as contract_id,
        app_contracts.source_ref,
        app_contracts.adopted_on
    from app_contracts
    where app_contracts.source_ref is not null
),

unioned as (
    select * from hubspot_contracts
    union all
    select * from generic
    union all
    select * from odoo
    union all
    select * from app
),

superseded as (
    select
        {{ star_replace('unioned', {
            'end_date': end_before_adoption('unioned.end_date', 'adoptions.adopted_on'),
            'auto_renew': 'unioned.auto_renew and adoptions.adopted_on is null'
        }) }},
        adoptions.contract_id as superseded_by
    from unioned
    left join adoptions
        on unioned.contract_id = adoptions.source_ref
),

statused as (
    select
        superseded.*,
        case
            when superseded.terminated_date is not null
                and superseded.terminated_date < {{ as_of_date() }} then 'terminated'
            when superseded.start_date > {{ as_of_date() }} then 'future'
            when superseded.end_date < {{ as_of_date() }}
                and not (superseded.auto_renew and superseded.terminated_date is null) then 'ended'
            else 'active'
        end as status,
        coalesce(current_mrr.current_mrr, 0) as current_mrr
    from superseded
    left join current_mrr
        on superseded.contract_id = current_mrr.contract_id
)

select * from statused
