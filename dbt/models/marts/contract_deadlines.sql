-- The dates that matter per contract and across the portfolio (SPEC VI A1): one
-- row per contract, deadline type and date in int_deadlines_unioned's window, with
-- the contract and customer they belong to.
with

deadlines as (
    select * from {{ ref('int_deadlines_unioned') }}
),

contracts as (
    select * from {{ ref('contracts') }}
),

customers as (
    select * from {{ ref('customers') }}
),

described as (
    select
        deadlines.contract_id,
        contracts.customer_id,
        customers.name as customer_name,
        contracts.owner,
        contracts.source_system,
        deadlines.deadline_type,
        deadlines.deadline_date,
        contracts.auto_renew,
        contracts.current_mrr::double as contract_mrr,
        deadlines.mrr_at_stake::double as mrr_at_stake,
        deadlines.detail
    from deadlines
    inner join contracts
        on deadlines.contract_id = contracts.contract_id
    left join customers
        on contracts.customer_id = customers.customer_id
)

select * from described
