-- Odoo's own MRR against Avtale's, per Odoo subscription and month-end, so a
-- difference shows where the two disagree and why can be looked for: Odoo keeps the
-- history of each change (sale.order.log), an export gives the lines as they are today.
-- Odoo's MRR at a month's end is the recurring monthly after the last event on or
-- before that day (the running sum of the MRR changes where the export has no
-- recurring monthly); Avtale's is the subscription's lines at the month-end snapshot
-- (SPEC IX M2), as in customer_months. Past and current months only.
with

subscriptions as (
    select * from {{ ref('stg_odoo__subscriptions') }}
),

mrr_log as (
    select * from {{ ref('stg_odoo__mrr_log') }}
),

line_months as (
    select * from {{ ref('int_line_months') }}
),

months as (
    select * from {{ ref('int_months') }}
    where not is_future
),

fx_rates as (
    select * from {{ ref('stg_planning__fx_rates') }}
),

events as (
    select
        mrr_log.subscription_id,
        mrr_log.event_position,
        mrr_log.event_date,
        coalesce(
            mrr_log.recurring_monthly,
            sum(coalesce(mrr_log.amount_signed, 0)) over (
                partition by mrr_log.subscription_id
                order by mrr_log.event_position
                rows between unbounded preceding and current row
            )
        ) as mrr_after
    from mrr_log
),

odoo_months as (
    select
        events.subscription_id,
        months.month,
        max_by(events.mrr_after, events.event_position) as odoo_mrr_in_currency
    from events
    inner join months
        on events.event_date <= months.month_end
    group by events.subscription_id, months.month
),

avtale_months as (
    select
        subscriptions.subscription_id,
        line_months.month,
        sum(line_months.mrr) as avtale_mrr
    from line_months
    inner join subscriptions
        on line_months.contract_id = 'odoo:' || subscriptions.subscription_id
    inner join months
        on line_months.month = months.month
    group by subscriptions.subscription_id, line_months.month
),

subscription_months as (
    select
        odoo_months.subscription_id,
        odoo_months.month
    from odoo_months
    union
    select
        avtale_months.subscription_id,
        avtale_months.month
    from avtale_months
),

compared as (
    select
        subscriptions.subscription_id,
        'odoo:' || subscriptions.subscription_id as contract_id,
        'odoo:' || subscriptions.customer_name as customer_id,
        subscription_months.month,
        coalesce(subscriptions.currency, '{{ var("reporting_currency") }}') as currency,
        fx_rates.rate as fx_rate,
        coalesce(odoo_months.odoo_mrr_in_currency, 0) as odoo_mrr_in_currency,
        coalesce(odoo_months.odoo_mrr_in_currency, 0) * fx_rates.rate as odoo_mrr,
        coalesce(avtale_months.avtale_mrr, 0) as avtale_mrr
    from subscription_months
    inner join subscriptions
        on subscription_months.subscription_id = subscriptions.subscription_id
    left join odoo_months
        on subscription_months.subscription_id = odoo_months.subscription_id
        and subscription_months.month = odoo_months.month
    left join avtale_months
        on subscription_months.subscription_id = avtale_months.subscription_id
        and subscription_months.month = avtale_months.month
    left join fx_rates
        on coalesce(subscriptions.currency, '{{ var("reporting_currency") }}') = fx_rates.currency
),

reconciled as (
    select
        compared.subscription_id,
        compared.contract_id,
        compared.customer_id,
        compared.month,
        compared.currency,
        compared.fx_rate,
        compared.odoo_mrr_in_currency,
        compared.avtale_mrr / compared.fx_rate as avtale_mrr_in_currency,
        compared.odoo_mrr,
        compared.avtale_mrr,
        compared.avtale_mrr - compared.odoo_mrr as difference,
        -- Odoo rounds each amount to the cent of its currency; so the two agree when
        -- they are the same to the cent there.
        coalesce(
            abs(compared.avtale_mrr / compared.fx_rate - compared.odoo_mrr_in_currency) < 0.005,
            false
        ) as is_reconciled
    from compared
    -- Once both say 0 (before the start, after a churn) there is nothing to compare.
    where compared.odoo_mrr_in_currency <> 0 or compared.avtale_mrr <> 0
)

select * from reconciled
