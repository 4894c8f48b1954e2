-- One row per active contract with its health (SPEC IX M9-M10): healthy or at
-- risk, the conditions that hold, when to act, the MRR at risk of loss, the
-- upsell open and the margin that running discounts give away.
with

contracts as (
    select * from {{ ref('contracts') }}
    where status = 'active' and current_mrr > 0
),

customers as (
    select * from {{ ref('customers') }}
),

signals as (
    select * from {{ ref('contract_health_signals') }}
),

discounts as (
    select * from {{ ref('int_contract_discounts_running') }}
),

signals_summed as (
    select
        signals.contract_id,
        {{ ordered_string_agg('signals.label', "', '", 'signals.due_date, signals.label') }} as conditions,
        count(*) as signal_count,
        min(signals.due_date) as next_action_date,
        bool_or(signals.condition in ('mrr_drop', 'notice_deadline_soon', 'invoice_overdue')) as is_churn_risk,
        sum(signals.amount) filter (
            where signals.condition in ('discount_ending', 'price_not_adjusted')
        ) as upsell_mrr
    from signals
    group by signals.contract_id
),

discounts_summed as (
    select
        discounts.contract_id,
        sum(discounts.discount_mrr) as margin_potential
    from discounts
    group by discounts.contract_id
),

joined as (
    select
        contracts.contract_id,
        contracts.customer_id,
        customers.name as customer_name,
        contracts.owner,
        customers.country,
        contracts.current_mrr as contract_mrr,
        case when signals_summed.contract_id is null then 'healthy' else 'at_risk' end as status,
        coalesce(signals_summed.conditions, '') as conditions,
        coalesce(signals_summed.signal_count, 0)::integer as signal_count,
        signals_summed.next_action_date,
        case when signals_summed.is_churn_risk then contracts.current_mrr else 0 end as revenue_at_risk,
        coalesce(signals_summed.upsell_mrr, 0) as upsell_mrr,
        coalesce(discounts_summed.margin_potential, 0) as margin_potential
    from contracts
    left join customers
        on contracts.customer_id = customers.customer_id
    left join signals_summed
        on contracts.contract_id = signals_summed.contract_id
    left join discounts_summed
        on contracts.contract_id = discounts_summed.contract_id
)

select * from joined
