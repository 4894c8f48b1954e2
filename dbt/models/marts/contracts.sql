-- One row per contract, every source in one shape (int_contracts_unioned).
with

contracts as (
    select * from {{ ref('int_contracts_unioned') }}
),

final as (
    select
        contracts.contract_id,
        contracts.customer_id,
        contracts.source_system,
        contracts.source_id,
        contracts.name,
        contracts.owner,
        contracts.deal_type,
        contracts.currency,
        contracts.signed_date,
        contracts.start_date,
        contracts.end_date,
        contracts.term_months,
        contracts.auto_renew,
        contracts.renewal_term_months,
        contracts.notice_months,
        contracts.terminated_date,
        contracts.termination_reason,
        contracts.superseded_by,
        contracts.status,
        contracts.current_mrr
    from contracts
)

select * from final
