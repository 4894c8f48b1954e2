-- Odoo's signed subscriptions with the last day they are active (SPEC IX M2). An open
-- one (in progress, paused) runs to its end date, or goes on. A closed one (churned,
-- renewed) ends at its end date; without one, the day before it was closed (the date
-- its MRR went to 0 in Odoo's MRR log, as Odoo counts it), else the day before its
-- next invoice (the last day invoiced).
with

subscriptions as (
    select * from {{ ref('stg_odoo__subscriptions') }}
    where is_confirmed
),

mrr_log as (
    select * from {{ ref('stg_odoo__mrr_log') }}
),

closings as (
    select
        mrr_log.subscription_id,
        max(mrr_log.event_date) as closed_date
    from mrr_log
    where mrr_log.event_type in ('churn', 'transfer')
        and coalesce(mrr_log.recurring_monthly, 0) = 0
    group by mrr_log.subscription_id
),

dated as (
    select
        subscriptions.*,
        closings.closed_date,
        case
            when not subscriptions.is_closed then subscriptions.end_date
            else coalesce(
                    subscriptions.end_date,
                    closings.closed_date - interval 1 day,
                    subscriptions.next_invoice_date - interval 1 day
                )
        end::date as last_active_date
    from subscriptions
    left join closings
        on subscriptions.subscription_id = closings.subscription_id
)

select * from dated
