-- Issue 14: a CRM or accounting contract taken over by the app is no longer read from its
-- exports; a later export of the same record is compared with the app's current version
-- instead, per product, and what differs is listed here for sales ops to resolve (in the
-- source system, or in Avtale) rather than applied silently. Only records exported again
-- after the adoption are compared: the adoption's own load is what the copy was made from.
-- Recurring lines only: a one-off fee billed before the adoption is not copied, and one
-- agreed after it (free onboarding in a renegotiation) is not the export's business.
with

adoptions as (
    select * from {{ ref('stg_app__contracts') }}
    where source_ref is not null
),

app_versions as (
    select * from {{ ref('int_app_contract_versions_windowed') }}
    where is_current
),

app_lines as (
    select * from {{ ref('stg_app__contract_lines') }}
),

hubspot_lines as (
    select * from {{ ref('stg_hubspot__line_items') }}
),

generic_lines as (
    select * from {{ ref('stg_generic__contract_lines') }}
),

odoo_lines as (
    select * from {{ ref('stg_odoo__subscription_lines') }}
),

exported as (
    select
        'hubspot:' || hubspot_lines.deal_id as source_ref,
        hubspot_lines.product,
        hubspot_lines.quantity,
        hubspot_lines.unit_price,
        hubspot_lines.discount_percent,
        hubspot_lines.load_id
    from hubspot_lines
    where hubspot_lines.billing_period <> 'one_off'
    union all
    select
        'generic:' || generic_lines.contract_id as source_ref,
        generic_lines.product,
        generic_lines.quantity,
        generic_lines.unit_price,
        generic_lines.discount_percent,
        generic_lines.load_id
    from generic_lines
    where generic_lines.billing_period <> 'one_off'
    union all
    select
        'odoo:' || odoo_lines.subscription_id as source_ref,
        odoo_lines.product,
        odoo_lines.quantity,
        odoo_lines.unit_price,
        odoo_lines.discount_percent,
        odoo_lines.load_id
    from odoo_lines
),

export_products as (
    select
        exported.source_ref,
        lower(trim(coalesce(exported.product, ''))) as product_key,
        any_value(exported.product) as product,
        sum(exported.quantity) as quantity,
        max(exported.unit_price) as unit_price,
        max(exported.discount_percent) as discount_percent,
        max(exported.load_id) as load_id
    from exported
    where exported.source_ref in (select adoptions.source_ref from adoptions)
    group by all
),

app_products as (
    select
        adoptions.source_ref,
        lower(trim(app_lines.product)) as product_key,
        any_value(app_lines.product) as product,
        sum(app_lines.quantity) as quantity,
        max(app_lines.unit_price) as unit_price,
        max(app_lines.discount_percent) as discount_percent
    from adoptions
    inner join app_versions
        on adoptions.app_contract_id = app_versions.app_contract_id
    inner join app_lines
        on app_versions.version_id = app_lines.version_id
    where app_lines.billing_period <> 'one_off'
    group by all
),

exported_again as (
    -- Records whose newest export came after the one the adoption copied.
    select
        adoptions.source_ref,
        'app:' || adoptions.contract_number as contract_id,
        adoptions.adopted_on,
        adoptions.source_load_id,
        max(export_products.load_id) as latest_load_id
    from adoptions
    inner join export_products
        on adoptions.source_ref = export_products.source_ref
    group by all
    having max(export_products.load_id) > coalesce(adoptions.source_load_id, -1)
),

products as (
    select
        export_products.source_ref,
        export_products.product_key
    from export_products
    union
    select
        app_products.source_ref,
        app_products.product_key
    from app_products
),

compared as (
    select
        exported_again.contract_id,
        exported_again.source_ref,
        exported_again.adopted_on,
        exported_again.latest_load_id as load_id,
        coalesce(export_products.product, app_products.product) as product,
        export_products.quantity::double as export_quantity,
        app_products.quantity::double as app_quantity,
        export_products.unit_price::double as export_unit_price,
        app_products.unit_price::double as app_unit_price,
        export_products.discount_percent::double as export_discount_percent,
        app_products.discount_percent::double as app_discount_percent,
        case
            when app_products.product_key is null then 'only in the export'
            when export_products.product_key is null then 'only in Avtale'
            when export_products.quantity <> app_products.quantity then 'quantity differs'
            when export_products.unit_price <> app_products.unit_price then 'price differs'
            when export_products.discount_percent <> app_products.discount_percent
                then 'discount differs'
        end as difference
    from exported_again
    inner join products
        on exported_again.source_ref = products.source_ref
    left join export_products
        on products.source_ref = export_products.source_ref
        and products.product_key = export_products.product_key
    left join app_products
        on products.source_ref = app_products.source_ref
        and products.product_key = app_products.product_key
)

select compared.* from compared
where compared.difference is not null
