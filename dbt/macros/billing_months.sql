-- Months per billing period (SPEC IX M1). Weekly and biweekly are handled apart
-- in line_mrr (x 52 / 12, x 26 / 12) so that no rounded 12/52 enters the arithmetic.
{% macro billing_months(period, interval_months) -%}
    case {{ period }}
        when 'monthly' then 1
        when 'quarterly' then 3
        when 'half_yearly' then 6
        when 'yearly' then 12
        when 'two_yearly' then 24
        when 'three_yearly' then 36
        when 'four_yearly' then 48
        when 'five_yearly' then 60
        when 'every_n_months' then {{ interval_months }}
    end
{%- endmacro %}
