-- What each health condition measures on each active contract (SPEC IX M9),
-- before any threshold: one row per active contract, condition and item (a
-- discounted line; one item for the other conditions). contract_health_signals
-- compares `measure` with the configured threshold, in the seed's unit. An overdue
-- invoice (the invoice register) is measured in the days it is overdue.
with

contracts as (
    select * from {{ ref('int_contracts_unioned') }}
    where status = 'active' and current_mrr > 0
),

line_months as (
    -- Only the current month and the one three months back: both sides of the
    -- comparison below, not every customer month.
    select * from {{ ref('int_line_months') }}
    where month in (
            date_trunc('month', {{ as_of_date() }})::date,
            (date_trunc('month', {{ as_of_date() }}) - interval 3 month)::date
        )
),

deadlines as (
    select * from {{ ref('int_deadlines_unioned') }}
),

discounts as (
    select * from {{ ref('int_contract_discounts_running') }}
),

pricing as (
    select * from {{ ref('int_contract_pricing_dated') }}
),

invoices as (
    select * from {{ ref('int_invoices_settled') }}
    where status = 'overdue'
),

customer_mrr as (
    -- The customer's MRR in the month, as customer_months values it.
    select
        line_months.customer_id,
        line_months.month,
        {{ mrr_denoised('sum(line_months.mrr)') }} as mrr
    from line_months
    group by line_months.customer_id, line_months.month
),

mrr_compared as (
    -- Percent of the customer's MRR lost since the month 3 months back, for the
    -- customers with MRR then (0 now when no line runs any more).
    select
        earlier_months.customer_id,
        earlier_months.month as since_month,
        100 * (earlier_months.mrr - coalesce(current_months.mrr, 0)) / earlier_months.mrr
            as drop_percent
    from customer_mrr as earlier_months
    left join customer_mrr as current_months
        on earlier_months.customer_id = current_months.customer_id
        and current_months.month = date_trunc('month', {{ as_of_date() }})::date
    where earlier_months.month = (date_trunc('month', {{ as_of_date() }}) - interval 3 month)::date
        and earlier_months.mrr > 0
),

mrr_drops as (
    select
        contracts.contract_id,
        contracts.customer_id,
        'mrr_drop' as condition,
        mrr_compared.drop_percent::double as measure,
        {{ as_of_date() }}::date as due_date,
        'MRR fell ' || round(mrr_compared.drop_percent)::integer || ' % since '
        || {{ format_date('mrr_compared.since_month', '%Y-%m') }} as detail,
        contracts.current_mrr as amount
    from contracts
    inner join mrr_compared
        on contracts.customer_id = mrr_compared.customer_id
),

discounts_ending as (
    select
        contracts.contract_id,
        contracts.customer_id,
        'discount_ending' as condition,
        {{ date_diff('day', as_of_date(), 'discounts.discount_end_date') }}::double as measure,
        discounts.discount_end_date as due_date,
        'Discount of ' || {{ number_text('discounts.discount_percent', '{:g}') }} || ' % on ' || discounts.product
        || ' ends ' || {{ format_date('discounts.discount_end_date', '%Y-%m-%d') }} as detail,
        discounts.discount_mrr as amount
    from contracts
    inner join discounts
        on contracts.contract_id = discounts.contract_id
    where discounts.discount_end_date is not null
),

prices_unchanged as (
    -- Only contracts without an adjustment ahead: no rule, or its date passed.
    select
        contracts.contract_id,
        contracts.customer_id,
        'price_not_adjusted' as condition,
        {{ date_sub('month', 'pricing.last_price_change_date', as_of_date()) }}::double as measure,
        -- The next anniversary of the last change, today or later.
        {%- set whole_years = int_div(
            date_diff('month', 'pricing.last_price_change_date', as_of_date()), 12
        ) %}
        case
            when pricing.last_price_change_date + {{ to_months('12 * (' ~ whole_years ~ ')') }}
                >= {{ as_of_date() }}
                then pricing.last_price_change_date + {{ to_months('12 * (' ~ whole_years ~ ')') }}
            else pricing.last_price_change_date + {{ to_months('12 * (' ~ whole_years ~ ' + 1)') }}
        end::date as due_date,
        'Price unchanged since ' || {{ format_date('pricing.last_price_change_date', '%Y-%m-%d') }} as detail,
        contracts.current_mrr * {{ var('forecast_cpi_percent') }} / 100 as amount
    from contracts
    inner join pricing
        on contracts.contract_id = pricing.contract_id
    where pricing.last_price_change_date <= {{ as_of_date() }}
        and (
            pricing.price_adjustment_rule = 'none'
            or pricing.next_price_adjustment_date is null
            or pricing.next_price_adjustment_date < {{ as_of_date() }}
        )
),

notices_due as (
    select
        contracts.contract_id,
        contracts.customer_id,
        'notice_deadline_soon' as condition,
        {{ date_diff('day', as_of_date(), 'notices.deadline_date') }}::double as measure,
        notices.deadline_date as due_date,
        'Notice deadline ' || {{ format_date('notices.deadline_date', '%Y-%m-%d') }} || ', else it renews on '
        || {{ format_date('expiries.deadline_date + interval 1 day', '%Y-%m-%d') }} as detail,
        contracts.current_mrr as amount
    from contracts
    inner join deadlines as notices
        on contracts.contract_id = notices.contract_id
        and notices.deadline_type = 'notice'
    inner join deadlines as expiries
        on contracts.contract_id = expiries.contract_id
        and expiries.deadline_type = 'expiry'
    where contracts.auto_renew
        and contracts.terminated_date is null
        and notices.deadline_date >= {{ as_of_date() }}
),

customers_overdue as (
    -- The customer's most overdue invoice, and every overdue one named.
    select
        invoices.customer_id,
        max(invoices.days_overdue) as days_overdue,
        {{ ordered_string_agg(
            "invoices.invoice_number || ' overdue ' || invoices.days_overdue || ' days, '
            || invoices.currency || ' ' || " ~ number_text('invoices.open_amount', '{:.2f}') ~ " || ' open'",
            "'; '", 'invoices.days_overdue desc, invoices.invoice_number asc'
        ) }} as detail
    from invoices
    group by invoices.customer_id
),

invoices_overdue as (
    select
        contracts.contract_id,
        contracts.customer_id,
        'invoice_overdue' as condition,
        customers_overdue.days_overdue::double as measure,
        {{ as_of_date() }}::date as due_date,
        customers_overdue.detail,
        contracts.current_mrr as amount
    from contracts
    inner join customers_overdue
        on contracts.customer_id = customers_overdue.customer_id
),

unioned as (
    select * from mrr_drops
    union all
    select * from discounts_ending
    union all
    select * from prices_unchanged
    union all
    select * from notices_due
    union all
    select * from invoices_overdue
)

select * from unioned
