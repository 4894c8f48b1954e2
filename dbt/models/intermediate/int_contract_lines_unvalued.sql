-- One row per contract line and reason it cannot be valued. One such line would make
-- every total it reaches NaN, infinite or absurd, and a currency without a planning
-- rate would count as nothing without a word; so these lines stay out of
-- int_contract_lines_normalised (every MRR model) and are published in
-- data_quality_findings instead of failing the refresh.
with

lines as (
    select * from {{ ref('int_contract_lines_priced') }}
),

fields_checked as (
    select
        lines.*,
        list_filter(
            [
                {
                    'field': 'currency',
                    'value': lines.currency,
                    'reason': case when lines.fx_rate is null
                            then 'no planning FX rate: load an FX rates file that has it'
                    end
                },
                {
                    'field': 'quantity',
                    'value': lines.quantity::varchar,
                    'reason': {{ number_problem('lines.quantity', 0) }}
                },
                {
                    'field': 'unit_price',
                    'value': lines.unit_price::varchar,
                    'reason': {{ number_problem('lines.unit_price', 0) }}
                },
                {
                    'field': 'discount_percent',
                    'value': lines.discount_percent::varchar,
                    'reason': {{ number_problem('lines.discount_percent', 0, 100) }}
                },
                {
                    'field': 'billing_period',
                    'value': lines.billing_period,
                    'reason': case
                        when lines.billing_period is null then 'missing'
                        when lines.billing_months is null
                            and lines.billing_period not in ('one_off', 'weekly', 'biweekly', 'every_n_months')
                            then 'unknown billing period'
                    end
                },
                {
                    'field': 'billing_interval_months',
                    'value': lines.billing_months::varchar,
                    'reason': case when lines.billing_period = 'every_n_months'
                            and coalesce(lines.billing_months, 0) < 1
                            then 'every_n_months needs an interval of at least 1 month'
                    end
                }
            ],
            lambda problem: problem.reason is not null
        ) as problems,
    from lines
),

-- The whole line only once its fields are sound, so a NaN price is one finding, not three.
checked as (
    select
        fields_checked.* exclude (fields_checked.problems),
        case
            when len(fields_checked.problems) > 0 then fields_checked.problems
            when abs(fields_checked.quantity * fields_checked.unit_price * fields_checked.fx_rate)
                > {{ var('max_period_amount') }}
                then [{
                        'field': 'amount',
                        'value': (
                            fields_checked.quantity * fields_checked.unit_price * fields_checked.fx_rate
                        )::varchar,
                        'reason': 'quantity x unit price is over {{ var("max_period_amount") }} '
                        || '{{ var("reporting_currency") }} a billing period'
                    }]
            -- A safety net: whatever else keeps MRR from being a finite number.
            when not coalesce(
                    isfinite(fields_checked.line_mrr)
                    and isfinite(fields_checked.line_mrr_undiscounted)
                    and isfinite(fields_checked.non_recurring_amount),
                    false
                )
                then [{
                        'field': 'line_mrr',
                        'value': fields_checked.line_mrr::varchar,
                        'reason': 'MRR is not a finite number'
                    }]
            else []
        end as problems,
    from fields_checked
),

unvalued as (
    select
        checked.* exclude (checked.problems),
        -- One column per field of the problem struct: field, value, reason.
        unnest(checked.problems, recursive := true),  -- noqa: AL03
    from checked
    where len(checked.problems) > 0
)

select * from unvalued
