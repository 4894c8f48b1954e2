-- Churn movements with the customer's segment and why it left (SPEC IX M7, R6).
-- The reason is the termination reason of the customer's contract that ended
-- (terminated, else expired) in the churn month or the month before, the
-- largest by MRR if several; failing that, for the customer's latest churn,
-- the reason given when the customer was terminated in the app.
with

mrr_movements as (
    select * from {{ ref('mrr_movements') }}
    where movement = 'churn'
),

customers as (
    select * from {{ ref('customers') }}
),

contracts as (
    select * from {{ ref('contracts') }}
),

line_months as (
    select * from {{ ref('int_line_months') }}
),

app_customers as (
    select * from {{ ref('stg_app__customers') }}
),

ended_contracts as (
    select
        contracts.contract_id,
        contracts.customer_id,
        contracts.source_system,
        coalesce(contracts.terminated_date, contracts.end_date) as ended_date,
        trim(contracts.termination_reason) as reason
    from contracts
    where nullif(trim(contracts.termination_reason), '') is not null
        and coalesce(contracts.terminated_date, contracts.end_date) is not null
),

churn_contracts as (
    -- The ended contracts that may explain a churn, with the churn's month
    -- before (its last month with MRR).
    select
        mrr_movements.customer_id,
        mrr_movements.month,
        (mrr_movements.month - interval 1 month)::date as last_month,
        ended_contracts.contract_id,
        ended_contracts.ended_date,
        ended_contracts.reason,
        ended_contracts.source_system
    from mrr_movements
    inner join ended_contracts
        on mrr_movements.customer_id = ended_contracts.customer_id
        and date_trunc('month', ended_contracts.ended_date)::date
        between (mrr_movements.month - interval 1 month)::date and mrr_movements.month
),

contract_mrr as (
    -- Only the contract months weighed below: summing every line month of
    -- every contract cost more than all the rest of this model.
    select
        line_months.contract_id,
        line_months.month,
        sum(line_months.mrr) as mrr
    from line_months
    semi join churn_contracts
        on line_months.contract_id = churn_contracts.contract_id
        and line_months.month = churn_contracts.last_month
    group by line_months.contract_id, line_months.month
),

contract_reasons as (
    -- Weighed by the contract's MRR in the month before the churn month, its
    -- last month with MRR.
    select
        churn_contracts.customer_id,
        churn_contracts.month,
        churn_contracts.reason,
        case when churn_contracts.source_system = 'app' then 'app' else 'crm' end as reason_source
    from churn_contracts
    left join contract_mrr
        on churn_contracts.contract_id = contract_mrr.contract_id
        and churn_contracts.last_month = contract_mrr.month
    qualify row_number() over (
            partition by churn_contracts.customer_id, churn_contracts.month
            order by
                coalesce(contract_mrr.mrr, 0) desc, churn_contracts.ended_date desc,
                churn_contracts.contract_id asc
        ) = 1
),

customer_reasons as (
    -- A customer terminated in the app carries one reason, for its latest churn.
    select
        app_customers.customer_id,
        max(mrr_movements.month) as month,
        any_value(trim(app_customers.termination_reason)) as reason,
        'app' as reason_source
    from app_customers
    inner join mrr_movements
        on app_customers.customer_id = mrr_movements.customer_id
    where app_customers.status = 'terminated'
        and nullif(trim(app_customers.termination_reason), '') is not null
    group by app_customers.customer_id
),

explained as (
    select
        mrr_movements.customer_id,
        mrr_movements.month,
        mrr_movements.amount,
        customers.owner,
        customers.country,
        customers.industry,
        coalesce(contract_reasons.reason, customer_reasons.reason, 'Unknown') as reason,
        coalesce(contract_reasons.reason_source, customer_reasons.reason_source, 'unknown')
            as reason_source,
        mrr_movements.is_future
    from mrr_movements
    left join customers
        on mrr_movements.customer_id = customers.customer_id
    left join contract_reasons
        on mrr_movements.customer_id = contract_reasons.customer_id
        and mrr_movements.month = contract_reasons.month
    left join customer_reasons
        on mrr_movements.customer_id = customer_reasons.customer_id
        and mrr_movements.month = customer_reasons.month
)

select * from explained
