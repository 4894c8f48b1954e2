-- Why a number cannot be used in a valuation, or null when it can: missing, NaN or
-- infinite (DuckDB orders NaN above every number, so it must be caught first), or
-- outside [minimum, maximum].
{% macro number_problem(value, minimum, maximum=none) -%}
    case
        when {{ value }} is null then 'missing'
        when not {{ isfinite(value) }} then 'not a finite number'
        when {{ value }} < {{ minimum }} then 'must be at least {{ minimum }}'
        {%- if maximum is not none %}
        when {{ value }} > {{ maximum }} then 'must be at most {{ maximum }}'
        {%- endif %}
    end
{%- endmacro %}
