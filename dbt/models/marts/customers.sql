with

customers as (
    select * from {{ ref('int_customers_unioned') }}
),

-- Every line, valued or not: a customer whose only lines cannot be valued (in a
-- currency without a planning rate) still shows the currency it trades in.
lines as (
    select * from {{ ref('int_contract_lines_priced') }}
),

customer_months as (
    select * from {{ ref('customer_months') }}
),

main_currencies as (
    select
        lines.customer_id,
        max_by(
            lines.currency,
            -- NaN sorts above every number in DuckDB: an unvalued line weighs nothing.
            case
                when {{ isfinite('abs(lines.line_mrr) + abs(lines.non_recurring_amount)') }}
                    then abs(lines.line_mrr) + abs(lines.non_recurring_amount)
                else 0
            end
        ) as currency
    from lines
    group by lines.customer_id
),

mrr_summary as (
    select
        customer_months.customer_id,
        min(customer_months.month) as first_mrr_month,
        coalesce(
            max(customer_months.mrr) filter (
                where customer_months.month = date_trunc('month', {{ as_of_date() }})
            ),
            0
        ) as current_mrr
    from customer_months
    group by customer_months.customer_id
),

final as (
    select
        customers.customer_id,
        customers.source_system,
        customers.source_id,
        customers.name,
        customers.org_number,
        customers.country,
        customers.owner,
        customers.industry,
        customers.created_date,
        coalesce(main_currencies.currency, '{{ var("reporting_currency") }}') as currency,
        mrr_summary.first_mrr_month,
        coalesce(mrr_summary.current_mrr, 0) as current_mrr
    from customers
    left join main_currencies
        on customers.customer_id = main_currencies.customer_id
    left join mrr_summary
        on customers.customer_id = mrr_summary.customer_id
)

select * from final
