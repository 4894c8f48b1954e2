-- Billed, credited, collected and contracted per month and currency, through the
-- current month: what the invoice register issued and the bank received, next to
-- the MRR that app contracts hold (the only contracts the register bills). Billing
-- is in advance per period, so a month's billed recurring revenue differs from its
-- MRR for any period longer than a month; over whole periods the two agree
-- (tests/assert_billed_recurring_equals_contracted_mrr.sql).
with

invoices as (
    select * from {{ ref('stg_app__invoices') }}
),

invoice_lines as (
    select * from {{ ref('stg_app__invoice_lines') }}
),

payments as (
    select * from {{ ref('stg_app__bank_payments') }}
),

unmatched as (
    select * from {{ ref('stg_app__unmatched_payments') }}
    where resolved_at is null
),

line_months as (
    select * from {{ ref('int_line_months') }}
),

lines as (
    select * from {{ ref('int_contract_lines_normalised') }}
    where source_system = 'app'
),

fx_rates as (
    select * from {{ ref('stg_planning__fx_rates') }}
),

billed as (
    select
        date_trunc('month', invoices.issue_date)::date as month,
        invoices.currency,
        coalesce(sum(invoice_lines.net_amount) filter (
            where invoices.kind = 'invoice' and coalesce(invoice_lines.billing_period, 'one_off') != 'one_off'
        ), 0) as billed_recurring,
        coalesce(sum(invoice_lines.net_amount) filter (
            where invoices.kind = 'invoice' and coalesce(invoice_lines.billing_period, 'one_off') = 'one_off'
        ), 0) as billed_one_off,
        coalesce(sum(invoice_lines.net_amount) filter (where invoices.kind = 'credit_note'), 0) as credited
    from invoices
    inner join invoice_lines
        on invoices.app_invoice_id = invoice_lines.app_invoice_id
    group by all
),

collected as (
    select
        date_trunc('month', payments.booking_date)::date as month,
        payments.currency,
        sum(payments.amount) as collected,
        coalesce(sum(unmatched.amount), 0) as collected_unmatched
    from payments
    left join unmatched
        on payments.app_payment_id = unmatched.app_payment_id
    group by all
),

contracted as (
    -- Back in the contract's own currency: line MRR is converted at the planning rate.
    select
        line_months.month,
        lines.currency,
        sum(line_months.mrr / lines.fx_rate) as contracted_mrr
    from line_months
    inner join lines
        on line_months.line_id = lines.line_id
    where line_months.month <= {{ as_of_date() }}
    group by all
),

keys as (
    select
        billed.month,
        billed.currency
    from billed
    union
    select
        collected.month,
        collected.currency
    from collected
    union
    select
        contracted.month,
        contracted.currency
    from contracted
),

totals as (
    select
        keys.month,
        keys.currency,
        coalesce(billed.billed_recurring, 0)::decimal(18, 2) as billed_recurring,
        coalesce(billed.billed_one_off, 0)::decimal(18, 2) as billed_one_off,
        coalesce(billed.credited, 0)::decimal(18, 2) as credited,
        coalesce(collected.collected, 0)::decimal(18, 2) as collected,
        coalesce(collected.collected_unmatched, 0)::decimal(18, 2) as collected_unmatched,
        coalesce(contracted.contracted_mrr, 0)::double as contracted_mrr,
        fx_rates.rate::double as fx_rate
    from keys
    left join billed
        on keys.month = billed.month and keys.currency = billed.currency
    left join collected
        on keys.month = collected.month and keys.currency = collected.currency
    left join contracted
        on keys.month = contracted.month and keys.currency = contracted.currency
    left join fx_rates
        on keys.currency = fx_rates.currency
    where keys.month <= {{ as_of_date() }}
),

netted as (
    select
        totals.*,
        (totals.billed_recurring + totals.billed_one_off - totals.credited)::decimal(18, 2) as billed_net
    from totals
),

published as (
    select
        netted.month,
        netted.currency,
        netted.billed_recurring,
        netted.billed_one_off,
        netted.credited,
        netted.billed_net,
        netted.collected,
        netted.collected_unmatched,
        netted.contracted_mrr,
        netted.fx_rate,
        netted.billed_net * netted.fx_rate as billed_net_reporting,
        netted.collected * netted.fx_rate as collected_reporting
    from netted
)

select * from published
