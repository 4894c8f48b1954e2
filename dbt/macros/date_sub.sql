-- Whole months from `start` to `end`, as DuckDB's date_sub counts them: a month is
-- complete on the same day of the month, or on the last day of a shorter month
-- (31 January to 29 February is one). Spark's months_between differs on such days.
{% macro date_sub(part, start, end) -%}
    {{ return(adapter.dispatch('date_sub')(part, start, end)) }}
{%- endmacro %}

{% macro default__date_sub(part, start, end) -%}
    date_sub('{{ part }}', {{ start }}, {{ end }})
{%- endmacro %}

{% macro spark__date_sub(part, start, end) -%}
    {%- if part != 'month' -%}
        {{ exceptions.raise_compiler_error("date_sub: no Spark form for '" ~ part ~ "'") }}
    {%- endif -%}
    ((year({{ end }}) - year({{ start }})) * 12 + month({{ end }}) - month({{ start }})
        - case when day({{ end }}) < day({{ start }}) and ({{ end }}) != last_day({{ end }}) then 1 else 0 end)
{%- endmacro %}
