-- Monthly recurring revenue of one billing-period amount (SPEC IX M1).
{% macro line_mrr(period_amount, period, months) -%}
    case
        when {{ period }} = 'weekly' then {{ period_amount }} * 52 / 12
        when {{ period }} = 'biweekly' then {{ period_amount }} * 26 / 12
        when {{ period }} = 'one_off' then 0
        else {{ period_amount }} / {{ months }}
    end
{%- endmacro %}
