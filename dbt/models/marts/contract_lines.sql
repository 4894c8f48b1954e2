with

lines as (
    select * from {{ ref('int_contract_lines_normalised') }}
),

final as (
    select
        lines.line_id,
        lines.contract_id,
        lines.customer_id,
        lines.source_system,
        lines.source_id,
        lines.product,
        lines.quantity,
        lines.unit_price,
        lines.discount_percent,
        lines.discount_end_date,
        lines.billing_period,
        lines.billing_months::integer as billing_interval_months,
        lines.is_recurring,
        lines.currency,
        lines.fx_rate,
        lines.start_date,
        lines.end_date,
        lines.line_mrr,
        lines.line_mrr_undiscounted,
        lines.non_recurring_amount,
        lines.load_id
    from lines
)

select * from final
