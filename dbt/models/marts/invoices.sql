-- One row per invoice and credit note of the register: its amounts, what was paid
-- and credited, what is open and its status on as_of_date() (docs/billing.md).
with

settled as (
    select * from {{ ref('int_invoices_settled') }}
),

published as (
    select
        settled.invoice_number,
        settled.kind,
        settled.customer_id,
        settled.customer_name,
        settled.contract_id,
        corrected.invoice_number as corrects_number,
        settled.issue_date,
        settled.due_date,
        settled.period_start,
        settled.period_end,
        settled.currency,
        settled.net_amount,
        settled.vat_amount,
        settled.total_amount,
        settled.paid_amount,
        settled.credited_amount,
        settled.open_amount,
        settled.is_sent,
        settled.status,
        settled.days_overdue
    from settled
    left join settled as corrected
        on settled.corrects_app_invoice_id = corrected.app_invoice_id
)

select * from published
