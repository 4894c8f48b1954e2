-- Where each document of the invoice register stands on as_of_date() (docs/billing.md,
-- "Status"), the twin of avtale.billing.status.status_of: what payments and credit
-- notes naming it took off its total, what is open, and its status. A credit note
-- is `issued` or `sent` and has nothing open. Money is DECIMAL(18, 2) throughout.
with

invoices as (
    select * from {{ ref('stg_app__invoices') }}
),

allocations as (
    select * from {{ ref('stg_app__payment_allocations') }}
),

customers as (
    select * from {{ ref('stg_app__customers') }}
),

contracts as (
    select * from {{ ref('stg_app__contracts') }}
),

paid as (
    select
        allocations.app_invoice_id,
        sum(allocations.amount) as paid_amount
    from allocations
    group by allocations.app_invoice_id
),

credited as (
    select
        invoices.corrects_app_invoice_id as app_invoice_id,
        sum(invoices.total_amount) as credited_amount
    from invoices
    where invoices.kind = 'credit_note'
    group by invoices.corrects_app_invoice_id
),

settled as (
    select
        invoices.*,
        customers.customer_id,
        customers.name as customer_name,
        'app:' || contracts.contract_number as contract_id,
        if(invoices.kind = 'invoice', coalesce(paid.paid_amount, 0), 0)::decimal(18, 2) as paid_amount,
        if(invoices.kind = 'invoice', coalesce(credited.credited_amount, 0), 0)::decimal(18, 2)
            as credited_amount,
        invoices.sent_at is not null as is_sent
    from invoices
    left join paid
        on invoices.app_invoice_id = paid.app_invoice_id
    left join credited
        on invoices.app_invoice_id = credited.app_invoice_id
    left join customers
        on invoices.app_customer_id = customers.app_customer_id
    left join contracts
        on invoices.app_contract_id = contracts.app_contract_id
),

statused as (
    select
        settled.*,
        case when settled.kind = 'invoice'
                then settled.total_amount - settled.paid_amount - settled.credited_amount
            else 0
        end::decimal(18, 2) as open_amount,
        case
            when settled.kind != 'invoice' then if(settled.is_sent, 'sent', 'issued')
            when settled.credited_amount > 0 and settled.credited_amount >= settled.total_amount
                then 'credited'
            when settled.total_amount - settled.paid_amount - settled.credited_amount <= 0 then 'paid'
            when settled.due_date < {{ as_of_date() }} then 'overdue'
            else if(settled.is_sent, 'sent', 'issued')
        end as status
    from settled
),

dated as (
    select
        statused.*,
        case when statused.status = 'overdue'
                then {{ date_diff('day', 'statused.due_date', as_of_date()) }}
        end::integer as days_overdue
    from statused
)

select * from dated
