with

hubspot_companies as (
    select * from {{ ref('stg_hubspot__companies') }}
),

generic_customers as (
    select * from {{ ref('stg_generic__customers') }}
),

app_customers as (
    select * from {{ ref('stg_app__customers') }}
),

odoo_subscriptions as (
    select * from {{ ref('stg_odoo__subscriptions') }}
),

-- Odoo exports name the customer (partner) of each subscription, not its record:
-- a customer is its name, owned by the salesperson of its latest subscription.
odoo_customers as (
    select
        odoo_subscriptions.customer_name,
        max_by(
            odoo_subscriptions.salesperson,
            odoo_subscriptions.start_date
        ) filter (where odoo_subscriptions.salesperson is not null) as owner,
        min(odoo_subscriptions.start_date) as created_date
    from odoo_subscriptions
    where odoo_subscriptions.customer_name is not null
    group by odoo_subscriptions.customer_name
),

country_codes as (
    select * from {{ ref('country_codes') }}
),

unioned as (
    select
        'hubspot:' || hubspot_companies.company_id as customer_id,
        'hubspot' as source_system,
        hubspot_companies.company_id as source_id,
        hubspot_companies.name,
        null::string as org_number,
        hubspot_companies.country as country_as_written,
        hubspot_companies.owner,
        hubspot_companies.industry,
        hubspot_companies.created_date
    from hubspot_companies
    union all
    select
        'generic:' || generic_customers.customer_id as customer_id,
        'generic' as source_system,
        generic_customers.customer_id as source_id,
        generic_customers.name,
        generic_customers.org_number,
        generic_customers.country as country_as_written,
        generic_customers.owner,
        generic_customers.industry,
        generic_customers.created_date
    from generic_customers
    union all
    select
        'app:' || app_customers.customer_number as customer_id,
        'app' as source_system,
        app_customers.customer_number as source_id,
        app_customers.name,
        app_customers.org_number,
        app_customers.country as country_as_written,
        app_customers.owner,
        app_customers.industry,
        app_customers.created_date
    from app_customers
    -- A customer that took over a CRM customer is that customer (the export's row).
    where app_customers.source_ref is null
    union all
    select
        'odoo:' || odoo_customers.customer_name as customer_id,
        'odoo' as source_system,
        odoo_customers.customer_name as source_id,
        odoo_customers.customer_name as name,
        null::string as org_number,
        null::string as country_as_written,
        odoo_customers.owner,
        null::string as industry,
        odoo_customers.created_date
    from odoo_customers
),

country_coded as (
    select
        unioned.*,
        coalesce(
            country_codes.country_code,
            unioned.country_as_written
        ) as country
    from unioned
    left join country_codes
        on lower(trim(unioned.country_as_written)) = country_codes.country_name
)

select * from country_coded
