-- One row per contract line and reason it cannot be valued. One such line would make
-- every total it reaches NaN, infinite or absurd, and a currency without a planning
-- rate would count as nothing without a word; so these lines stay out of
-- int_contract_lines_normalised (every MRR model) and are published in
-- data_quality_findings instead of failing the refresh.
{% set billing_period_reason -%}
    case
        when lines.billing_period is null then 'missing'
        when lines.billing_months is null
            and lines.billing_period not in ('one_off', 'weekly', 'biweekly', 'every_n_months')
            then 'unknown billing period'
    end
{%- endset %}

{% set amount = 'fields_checked.quantity * fields_checked.unit_price * fields_checked.fx_rate' %}

with

lines as (
    select * from {{ ref('int_contract_lines_priced') }}
),

fields_checked as (
    select
        lines.*,
        {{ list_filter(list_of([
            struct_of({
                'field': "'currency'",
                'value': 'lines.currency',
                'reason': "case when lines.fx_rate is null
                    then 'no planning FX rate: load an FX rates file that has it' end"
            }),
            struct_of({
                'field': "'quantity'",
                'value': number_as_text('lines.quantity'),
                'reason': number_problem('lines.quantity', 0)
            }),
            struct_of({
                'field': "'unit_price'",
                'value': number_as_text('lines.unit_price'),
                'reason': number_problem('lines.unit_price', 0)
            }),
            struct_of({
                'field': "'discount_percent'",
                'value': number_as_text('lines.discount_percent'),
                'reason': number_problem('lines.discount_percent', 0, 100)
            }),
            struct_of({
                'field': "'billing_period'",
                'value': 'lines.billing_period',
                'reason': billing_period_reason
            }),
            struct_of({
                'field': "'billing_interval_months'",
                'value': 'lines.billing_months::string',
                'reason': "case when lines.billing_period = 'every_n_months'
                    and coalesce(lines.billing_months, 0) < 1
                    then 'every_n_months needs an interval of at least 1 month' end"
            })
        ]), 'problem', 'problem.reason is not null') }} as problems
    from lines
),

-- The whole line only once its fields are sound, so a NaN price is one finding, not three.
checked as (
    select
        fields_checked.* {{ exclude() }} (fields_checked.problems),
        case
            when {{ list_len('fields_checked.problems') }} > 0 then fields_checked.problems
            when abs({{ amount }}) > {{ var('max_period_amount') }}
                then {{ list_of([struct_of({
                    'field': "'amount'",
                    'value': number_as_text('(' ~ amount ~ ')'),
                    'reason': "'quantity x unit price is over " ~ var('max_period_amount') ~ " '
                        || '" ~ var('reporting_currency') ~ " a billing period'"
                })]) }}
            -- A safety net: whatever else keeps MRR from being a finite number.
            when not coalesce(
                    {{ isfinite('fields_checked.line_mrr') }}
                    and {{ isfinite('fields_checked.line_mrr_undiscounted') }}
                    and {{ isfinite('fields_checked.non_recurring_amount') }},
                    false
                )
                then {{ list_of([struct_of({
                    'field': "'line_mrr'",
                    'value': number_as_text('fields_checked.line_mrr'),
                    'reason': "'MRR is not a finite number'"
                })]) }}
            else {{ list_of([]) }}
        end as problems
    from fields_checked
),

unvalued as (
    select
        checked.* {{ exclude() }} (checked.problems),
        -- One column per field of the problem struct: field, value, reason.
        {{ unnest_list('checked.problems', structs=true) }}  -- noqa: AL03
    from checked
    where {{ list_len('checked.problems') }} > 0
)

select * from unvalued
