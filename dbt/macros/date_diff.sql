-- Day, month or year boundaries crossed from `start` to `end`, as DuckDB's
-- datediff counts them (2024-01-31 to 2024-02-01 is one month); Spark's datediff
-- counts days only and months_between is fractional, so it counts them itself.
{% macro date_diff(part, start, end) -%}
    {{ return(adapter.dispatch('date_diff')(part, start, end)) }}
{%- endmacro %}

{% macro default__date_diff(part, start, end) -%}
    datediff('{{ part }}', {{ start }}, {{ end }})
{%- endmacro %}

{% macro spark__date_diff(part, start, end) -%}
    {%- if part == 'day' -%}
        datediff({{ end }}, {{ start }})
    {%- elif part == 'month' -%}
        ((year({{ end }}) - year({{ start }})) * 12 + month({{ end }}) - month({{ start }}))
    {%- elif part == 'year' -%}
        (year({{ end }}) - year({{ start }}))
    {%- else -%}
        {{ exceptions.raise_compiler_error("date_diff: no Spark form for '" ~ part ~ "'") }}
    {%- endif -%}
{%- endmacro %}
