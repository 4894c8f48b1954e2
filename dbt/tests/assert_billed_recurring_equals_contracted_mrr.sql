-- Billing reconciles with MRR: for an app contract without changes (one version,
-- no time-limited discount), what the invoice register billed for a recurring line
-- for each whole billing period equals the line's MRR x the months the period
-- covers, in the contract's currency, so over any run of whole periods billed
-- recurring revenue is MRR x months. Billing is in advance per period (a quarter is
-- billed whole in the month it starts), so the identity holds per period, not per
-- calendar month. An invoice line is rounded to the cent: half a cent is the whole
-- allowance. Rows returned are billed periods that differ by more.
with

contract_lines as (
    select * from {{ ref('contract_lines') }}
    where source_system = 'app' and is_recurring and discount_end_date is null
),

app_lines as (
    select * from {{ ref('stg_app__contract_lines') }}
),

versions as (
    select * from {{ ref('stg_app__contract_versions') }}
),

invoices as (
    select * from {{ ref('stg_app__invoices') }}
    where kind = 'invoice'
),

invoice_lines as (
    select * from {{ ref('stg_app__invoice_lines') }}
),

unchanged as (
    -- Contracts with one version: nothing revised, renewed, adjusted or terminated.
    select versions.app_contract_id
    from versions
    group by versions.app_contract_id
    having count(*) = 1 and bool_and(versions.terminated_date is null)
),

lines_valued as (
    select
        versions.app_contract_id,
        app_lines.line_no,
        contract_lines.line_id,
        contract_lines.line_mrr / contract_lines.fx_rate as line_mrr
    from contract_lines
    inner join app_lines
        on contract_lines.source_id = app_lines.app_line_id::string
    inner join versions
        on app_lines.version_id = versions.version_id
    inner join unchanged
        on versions.app_contract_id = unchanged.app_contract_id
),

whole_periods_billed as (
    select
        invoices.app_contract_id,
        invoices.invoice_number,
        invoice_lines.contract_line_no as line_no,
        invoice_lines.period_key,
        {{ billing_months('invoice_lines.billing_period', 'invoice_lines.billing_interval_months') }} as months,
        invoice_lines.net_amount::double as billed
    from invoices
    inner join invoice_lines
        on invoices.app_invoice_id = invoice_lines.app_invoice_id
    where invoice_lines.billing_period not in ('one_off', 'weekly', 'biweekly')
        and invoice_lines.period_start = invoice_lines.period_key
        and invoice_lines.period_end = invoice_lines.billing_period_end
),

compared as (
    select
        lines_valued.line_id,
        whole_periods_billed.invoice_number,
        whole_periods_billed.period_key,
        whole_periods_billed.months,
        whole_periods_billed.billed,
        lines_valued.line_mrr * whole_periods_billed.months as contracted
    from lines_valued
    inner join whole_periods_billed
        on lines_valued.app_contract_id = whole_periods_billed.app_contract_id
        and lines_valued.line_no = whole_periods_billed.line_no
),

mismatched as (
    select compared.* from compared
    where abs(compared.billed - compared.contracted)
        > 0.005 + {{ float_noise('abs(compared.contracted)') }}
)

select * from mismatched
