-- One row per incoming bank payment: the invoices it paid and how it was matched,
-- and what of it waits in the queue (no match, another currency, more than owed).
with

payments as (
    select * from {{ ref('stg_app__bank_payments') }}
),

allocations as (
    select * from {{ ref('stg_app__payment_allocations') }}
),

unmatched as (
    select * from {{ ref('stg_app__unmatched_payments') }}
),

settled as (
    select * from {{ ref('int_invoices_settled') }}
),

allocated as (
    select
        allocations.app_payment_id,
        sum(allocations.amount) as allocated_amount,
        {{ ordered_string_agg('settled.invoice_number', "', '", 'settled.invoice_number') }} as invoice_numbers,
        {{ ordered_string_agg(
            'allocations.matched_by', "', '", 'allocations.matched_by', distinct=true
        ) }} as matched_by,
        -- A payment for several customers' invoices names none of them.
        if(count(distinct settled.customer_id) = 1, min(settled.customer_id), null) as customer_id
    from allocations
    inner join settled
        on allocations.app_invoice_id = settled.app_invoice_id
    group by allocations.app_payment_id
),

published as (
    select
        payments.app_payment_id as payment_id,
        payments.booking_date,
        payments.value_date,
        payments.currency,
        payments.amount,
        payments.payer,
        payments.account,
        coalesce(allocated.allocated_amount, 0)::decimal(18, 2) as allocated_amount,
        if(unmatched.resolved_at is null, coalesce(unmatched.amount, 0), 0)::decimal(18, 2) as unmatched_amount,
        unmatched.app_payment_id is not null and unmatched.resolved_at is null as is_unmatched,
        unmatched.reason as unmatched_reason,
        allocated.invoice_numbers,
        allocated.matched_by,
        allocated.customer_id
    from payments
    left join allocated
        on payments.app_payment_id = allocated.app_payment_id
    left join unmatched
        on payments.app_payment_id = unmatched.app_payment_id
)

select * from published
